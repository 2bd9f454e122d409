/** Gaffer's public API: the worker SDK, the foreman (to embed one), and the HTTP client. */
export * from './worker/index.js';
export { Foreman, type ForemanStartOptions, type ForemanState } from './foreman/foreman.js';
export { DEFAULTS as FOREMAN_DEFAULTS, type ForemanOptions } from './foreman/options.js';
export { ApiClient, ApiError } from './client/api-client.js';
export { PROTOCOL_VERSION } from './shared/protocol.js';
