/** The sample-data generator: public API. See docs/generator.md. */
export { generate, RENDERERS, type GenerateOptions, type GenerateSummary } from './generate.js';
export type { GenEvent, Renderer } from './model.js';
export { GEN_SOURCES } from './world.js';
export { deliverLate, type Delivered } from './late.js';
