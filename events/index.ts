export * from './errors.js';
export * from './money.js';
export * from './identity.js';
export * from './time.js';
export * from './model.js';
