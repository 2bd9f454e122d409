/**
 * The error catalogue shared by foreman and workers. Every error has a stable
 * `code`; branch on `code` or `instanceof`, never on message text.
 */
import type { WireError } from './protocol.js';
import { CLOSE_CODES, MAX_STACK_CHARS } from './protocol.js';

/**
 * Protocol error codes sent in `error` frames, with the close code used when the error ends the
 * session, and whether the same frame may succeed later (`retryable`: only a full foreman).
 */
export const PROTOCOL_ERRORS = {
  BAD_FRAME: { closeCode: null, message: 'frame is not a valid msgpack message', retryable: false },
  UNKNOWN_KIND: { closeCode: null, message: 'message kind is unknown or not allowed from this peer', retryable: false },
  INVALID_MESSAGE: { closeCode: null, message: 'message does not match its schema', retryable: false },
  FRAME_TOO_LARGE: { closeCode: 1009, message: 'frame exceeds the maximum payload size', retryable: false },
  PAYLOAD_TOO_LARGE: { closeCode: null, message: 'params or result exceed the maximum size', retryable: false },
  HELLO_REQUIRED: { closeCode: null, message: 'the first message must be hello', retryable: false },
  HELLO_TIMEOUT: { closeCode: CLOSE_CODES.helloTimeout, message: 'no hello within the deadline', retryable: false },
  UNSUPPORTED_VERSION: { closeCode: CLOSE_CODES.unsupportedVersion, message: 'protocol version not supported', retryable: false },
  UNAUTHORIZED: { closeCode: CLOSE_CODES.unauthorized, message: 'missing, wrong or revoked worker token', retryable: false },
  WORKER_ID_IN_USE: { closeCode: CLOSE_CODES.workerIdInUse, message: 'another live session holds this worker id', retryable: false },
  TOO_MANY_ERRORS: { closeCode: CLOSE_CODES.protocolAbuse, message: 'too many protocol errors', retryable: false },
  RATE_LIMITED: { closeCode: CLOSE_CODES.rateLimited, message: 'message rate limit exceeded', retryable: false },
  TOO_MANY_SESSIONS: { closeCode: CLOSE_CODES.tooManySessions, message: 'too many sessions', retryable: true },
} as const;

export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS;

/** Error codes a task attempt can end with, besides handler-defined ones. */
export const TASK_ERROR_CODES = {
  HANDLER_ERROR: 'the handler threw an error that is not a PermanentError (retried)',
  PERMANENT: 'the handler threw a PermanentError (not retried)',
  TIMEOUT: 'the attempt ran past the task timeoutMs (retried)',
  NO_HANDLER: 'the worker has no handler for this type (retried elsewhere)',
  WORKER_LOST: 'the worker died, was partitioned or disconnected past the grace period',
  TOO_MANY_LOSSES: 'the task was lost with its worker maxLosses times (a poison task)',
  CANCELLED: 'the task was cancelled',
  BLOB_DOWNLOAD_FAILED: 'the worker could not download a blob named in the params (retried, unless the foreman answered 4xx: missing or not assigned)',
  BLOB_UPLOAD_FAILED: 'the worker could not upload a file the handler returned from its payload directory (retried)',
  DEPENDENCY_FAILED: 'a task it depends on (dependsOn) failed or was cancelled, so it never ran (set by the foreman)',
  HANDLER_RATE_LIMITED: 'the handler threw RateLimitedError(retryAfterMs): requeued after retryAfterMs without using an attempt, and its type paused fleet-wide that long',
  NO_CONSENSUS: 'a quorum task\'s replicas never agreed, up to maxReplicas; error.answers lists every distinct answer (set by the foreman)',
} as const;

/** Error codes of the built-in `llm` handler (worker/handlers/llm.ts), besides INVALID_PARAMS. */
export const LLM_ERROR_CODES = {
  RATE_LIMITED: 'the endpoint answered 429 and its retry-after was too long or came too often to wait out in the attempt (retried)',
  LLM_UNAVAILABLE: 'the endpoint answered 408, 409 or 5xx (retried)',
  LLM_TIMEOUT: 'the endpoint did not answer within llmRequestTimeoutMs (retried)',
  LLM_CONNECTION: 'the endpoint could not be reached or dropped the connection (retried)',
  LLM_BAD_RESPONSE: 'the endpoint answered with something that is not a completion, or its stream broke off (retried)',
  LLM_REJECTED: 'the endpoint refused the request with another 4xx: bad model, bad fields, bad key (not retried)',
} as const;

/**
 * HTTP API error codes, each with the status it answers with. Every error reply is
 * `{ statusCode, code, message, field? }`; `field` names the part at fault
 * (`body/tasks/3/type`, `body/line 7/type`, `querystring/limit`, `params/id`, `url`, `headers/content-type`).
 * The README's error table lists them all (test/unit/api-errors-doc.test.ts checks).
 */
export const API_ERRORS = {
  INVALID_REQUEST: { status: 400, message: 'a field of the body, query string or path is missing, mistyped, unknown or out of range' },
  INVALID_JSON: { status: 400, message: 'the body is empty or not valid JSON although its content type says JSON' },
  INVALID_NDJSON: { status: 400, message: 'a line of an NDJSON body is not valid JSON' },
  PARAMS_TOO_DEEP: { status: 400, message: 'task params nest deeper than maxValueDepth' },
  BAD_URL: { status: 400, message: 'the URL is not valid (bad percent-encoding)' },
  MALFORMED_HTTP: { status: 400, message: 'the request is not valid HTTP/1.1' },
  UNAUTHORIZED: { status: 401, message: 'missing or wrong bearer token' },
  FORBIDDEN: { status: 403, message: 'the read token on a route that changes something, or on token management' },
  BLOB_NOT_ASSIGNED: { status: 403, message: 'a worker asked for a blob that no task assigned to it references' },
  TASK_NOT_FOUND: { status: 404, message: 'no task with this id' },
  JOB_NOT_FOUND: { status: 404, message: 'no job with this id' },
  WORKER_NOT_CONNECTED: { status: 404, message: 'the worker is not connected' },
  ROUTE_NOT_FOUND: { status: 404, message: 'no route for this method and path' },
  BLOB_NOT_FOUND: { status: 404, message: 'no blob with this reference (never uploaded, or deleted by blob retention)' },
  SCHEDULE_NOT_FOUND: { status: 404, message: 'no schedule with this name' },
  TOKEN_NOT_FOUND: { status: 404, message: 'the worker id has no active individual token' },
  REQUEST_TIMEOUT: { status: 408, message: 'the request (headers and body) was not received within requestTimeoutMs' },
  JOB_CLOSED: { status: 409, message: 'the job is closed and takes no more tasks' },
  KEY_CONFLICT: { status: 409, message: 'the key already names a task of another type or params' },
  TOKEN_EXISTS: { status: 409, message: 'the worker id already has a token; pass force to replace it' },
  TASK_NOT_RETRYABLE: { status: 409, message: 'only failed or cancelled tasks can be retried' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'task params exceed maxParamsBytes' },
  BODY_TOO_LARGE: { status: 413, message: 'the request body exceeds the route\'s body limit (maxBodyBytes; 256 MiB for job bodies)' },
  LINE_TOO_LONG: { status: 413, message: 'a line of an NDJSON body exceeds maxNdjsonLineBytes' },
  BLOB_TOO_LARGE: { status: 413, message: 'an uploaded blob exceeds maxBlobBytes' },
  URL_TOO_LONG: { status: 414, message: 'a path parameter is longer than 1,000 characters' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'the content type is not application/json or application/x-ndjson' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'the Range header is not one byte range inside the blob' },
  RATE_LIMITED: { status: 429, message: 'more than maxRequestsPerSecond requests from one address' },
  HEADERS_TOO_LARGE: { status: 431, message: 'the request headers exceed the maximum size' },
  INTERNAL: { status: 500, message: 'a bug or an unexpected failure (logged)' },
  SHUTTING_DOWN: { status: 503, message: 'the foreman is shutting down' },
  TOO_MANY_CONNECTIONS: { status: 503, message: 'maxHttpConnections in all or maxHttpConnectionsPerAddress from this address are open; sent before the request is read' },
  STORE_UNAVAILABLE: { status: 503, message: 'the store cannot write now (disk full, I/O error, read-only); retry after Retry-After' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/**
 * Codes a code task (`js`, `wasm`) fails with, and whether the foreman retries it. Only a wall-clock
 * timeout and a crashed sandbox are retried: the others would fail the same way on any worker.
 */
export const CODE_TASK_ERRORS = {
  CODE_INVALID: { retryable: false, message: 'the source or module does not compile, is not a function, or the params are malformed' },
  CODE_THREW: { retryable: false, message: 'the code threw, or its returned promise rejected or never settled' },
  CODE_MEMORY_LIMIT: { retryable: false, message: 'the code exceeded the memory limit' },
  CODE_STACK_LIMIT: { retryable: false, message: 'the code exceeded the stack (too deep a recursion)' },
  CODE_CPU_LIMIT: { retryable: false, message: 'the code ran longer than the CPU time limit' },
  CODE_TIMEOUT: { retryable: true, message: 'the run exceeded its wall-clock limit; the sandbox thread was terminated' },
  CODE_RESULT_TOO_LARGE: { retryable: false, message: 'the result, as JSON, exceeds the result size limit' },
  CODE_SANDBOX_CRASHED: { retryable: true, message: 'the sandbox thread died for another reason; it was replaced' },
} as const;

export type CodeTaskErrorCode = keyof typeof CODE_TASK_ERRORS;

/** Base of every Gaffer error: a stable code plus an optional cause. */
export class GafferError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GafferError';
    this.code = code;
  }
}

/** A frame or message broke the protocol; `closeCode` is set when the session must end. */
export class ProtocolError extends GafferError {
  readonly closeCode: number | null;
  readonly retryable: boolean;
  constructor(code: ProtocolErrorCode, detail?: string, options?: { cause?: unknown }) {
    const entry = PROTOCOL_ERRORS[code];
    super(code, detail ? `${entry.message}: ${detail}` : entry.message, options);
    this.name = 'ProtocolError';
    this.closeCode = entry.closeCode;
    this.retryable = entry.retryable;
  }
}

/**
 * INVALID_MESSAGE for some items of a batch only: the message holding the valid items is in
 * `salvaged`, to be handled as if it had arrived alone; the error names the items left out.
 */
export class PartialBatchError extends ProtocolError {
  constructor(
    detail: string,
    readonly salvaged: unknown,
    readonly rejected: number,
  ) {
    super('INVALID_MESSAGE', detail);
    this.name = 'PartialBatchError';
  }
}

/** Thrown by a handler for a failure worth retrying (the default for any other error too). */
export class TransientError extends GafferError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'HANDLER_ERROR', message, options);
    this.name = 'TransientError';
  }
}

/** Thrown by a handler for a failure that retrying cannot fix; the task fails at once. */
export class PermanentError extends GafferError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'PERMANENT', message, options);
    this.name = 'PermanentError';
  }
}

/**
 * Thrown by a handler that hit an external rate limit (an API's 429): the task goes back to the queue
 * without using an attempt, and no task of its type starts anywhere in the fleet for `retryAfterMs`.
 */
export class RateLimitedError extends GafferError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, message = `rate limited; retry after ${retryAfterMs} ms`) {
    super('HANDLER_RATE_LIMITED', message);
    this.name = 'RateLimitedError';
    // Whole ms, at least 1 and at most a day: a wire uint, and a pause that cannot stop a type for ever.
    this.retryAfterMs = Math.min(86_400_000, Math.max(1, Math.ceil(Number.isFinite(retryAfterMs) ? retryAfterMs : 1000)));
  }
}

/**
 * Whether `err` is one of Gaffer's errors by name and code rather than by class: a handler file that loads its own
 * copy of Gaffer (a CommonJS `require('gaffer')` beside the worker's ES module build) throws that copy's classes,
 * which `instanceof` does not recognise.
 */
function isGafferError(err: unknown, name?: string): err is GafferError {
  if (!(err instanceof Error) || typeof (err as { code?: unknown }).code !== 'string') return false;
  return name ? err.name === name : err.name === 'GafferError' || err.name === 'TransientError' || err.name === 'PermanentError';
}

/** Turns anything a handler threw into the wire form `{ code, message, retryable }`. */
export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { code: 'HANDLER_ERROR', message: String(err), retryable: true };
  // The class and the top of the stack say where the handler failed, on a machine the user may not reach.
  const detail = { errorClass: err.name || err.constructor?.name || 'Error', ...(typeof err.stack === 'string' ? { stack: err.stack.slice(0, MAX_STACK_CHARS) } : {}) };
  if (err instanceof RateLimitedError || isGafferError(err, 'RateLimitedError')) {
    return { code: 'HANDLER_RATE_LIMITED', message: err.message, retryable: true, retryAfterMs: (err as RateLimitedError).retryAfterMs, ...detail };
  }
  if (err instanceof PermanentError || isGafferError(err, 'PermanentError')) return { code: err.code, message: err.message, retryable: false, ...detail };
  if (err instanceof GafferError || isGafferError(err)) return { code: err.code, message: err.message, retryable: true, ...detail };
  return { code: 'HANDLER_ERROR', message: err.message || err.name, retryable: true, ...detail };
}
