/** The client library: `import { Client } from 'gaffer'` (or 'gaffer/client' for a browser bundle without the rest). */
export { Client, type JobTask, type ListOptions, type SubmitJobOptions } from './client.js';
export type { GetBlobOptions, PutBlobResult } from './blobs.js';
export { ApiError, TaskCancelledError, TaskFailedError, TaskSettledError } from './errors.js';
export { JobHandle } from './job-handle.js';
export { ChannelClosedError } from './push-channel.js';
export type { MapOptions } from './map.js';
export { DEFAULTS as CLIENT_DEFAULTS, type ClientOptions } from './options.js';
export { TaskHandle } from './task-handle.js';
export type * from './types.js';
