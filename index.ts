/** Gaffer's public API: the worker SDK, the foreman (to embed one), and the client library. */
export * from './worker/index.js';
export { Foreman, type ForemanStartOptions, type ForemanState } from './foreman/foreman.js';
export { DEFAULTS as FOREMAN_DEFAULTS, type ForemanOptions } from './foreman/options.js';
export * from './client/index.js';
export { PROTOCOL_VERSION } from './shared/protocol.js';
