/** The worker SDK: what a handler module or a custom worker program imports. */
export { Worker, type WorkerState, type WorkerConstructorOptions } from './worker.js';
export { WORKER_DEFAULTS, type WorkerOptions } from './options.js';
export { WorkerRefusedError } from './refusal.js';
export type { TaskContext, TaskHandler, TaskRegistration, CustomStatusResult } from './task-context.js';
export { customStatus } from './task-context.js';
export { BUILTIN_HANDLERS } from './handlers/builtin.js';
export { createLlmHandler, type LlmParams, type LlmResult } from './handlers/llm.js';
export { LLM_DEFAULTS, resolveLlmOptions, type LlmOptions } from './handlers/llm-options.js';
export { HotCache } from './hot-cache.js';
export { startStatusServer, type StatusServer } from './status-server.js';
export { TransientError, PermanentError, RateLimitedError, GafferError } from '../shared/errors.js';
export { enableCodeTasks, CODE_GROUP } from './sandbox/code-tasks.js';
export { CODE_DEFAULTS, resolveCodeOptions, type CodeOptions } from './sandbox/code-options.js';
