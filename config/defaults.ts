/**
 * Embedded default sources: the four billing systems the demo and the generator use.
 * PLACEHOLDER until the connectors work writes the built-in mappings in the configuration language.
 */
export const DEFAULT_SOURCES: unknown[] = [];
