/** The registry core: pure rules, no I/O, time and randomness injected. */
export * from './checksum.js';
export * from './clock.js';
export * from './errors.js';
export * from './lease.js';
export * from './model.js';
export * from './options.js';
export * from './registry.js';
export * from './service-view.js';
export * from './status-rules.js';
export type { InstanceInput, RegisterInput } from './validate.js';
