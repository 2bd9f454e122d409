/**
 * The error catalogue shared by foreman and workers. Every error has a stable
 * `code`; branch on `code` or `instanceof`, never on message text.
 */
import type { WireError } from './protocol.js';
import { CLOSE_CODES } from './protocol.js';

/** Protocol error codes sent in `error` frames, with the close code used when the error ends the session. */
export const PROTOCOL_ERRORS = {
  BAD_FRAME: { closeCode: null, message: 'frame is not a valid msgpack message' },
  UNKNOWN_KIND: { closeCode: null, message: 'message kind is unknown or not allowed from this peer' },
  INVALID_MESSAGE: { closeCode: null, message: 'message does not match its schema' },
  FRAME_TOO_LARGE: { closeCode: 1009, message: 'frame exceeds the maximum payload size' },
  PAYLOAD_TOO_LARGE: { closeCode: null, message: 'params or result exceed the maximum size' },
  HELLO_REQUIRED: { closeCode: null, message: 'the first message must be hello' },
  HELLO_TIMEOUT: { closeCode: CLOSE_CODES.helloTimeout, message: 'no hello within the deadline' },
  UNSUPPORTED_VERSION: { closeCode: CLOSE_CODES.unsupportedVersion, message: 'protocol version not supported' },
  UNAUTHORIZED: { closeCode: CLOSE_CODES.unauthorized, message: 'missing, wrong or revoked worker token' },
  WORKER_ID_IN_USE: { closeCode: CLOSE_CODES.workerIdInUse, message: 'another live session holds this worker id' },
  TOO_MANY_ERRORS: { closeCode: CLOSE_CODES.protocolAbuse, message: 'too many protocol errors' },
  RATE_LIMITED: { closeCode: CLOSE_CODES.rateLimited, message: 'message rate limit exceeded' },
  TOO_MANY_SESSIONS: { closeCode: CLOSE_CODES.tooManySessions, message: 'too many sessions' },
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
  constructor(code: ProtocolErrorCode, detail?: string, options?: { cause?: unknown }) {
    const entry = PROTOCOL_ERRORS[code];
    super(code, detail ? `${entry.message}: ${detail}` : entry.message, options);
    this.name = 'ProtocolError';
    this.closeCode = entry.closeCode;
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

/** Turns anything a handler threw into the wire form `{ code, message, retryable }`. */
export function toWireError(err: unknown): WireError {
  if (err instanceof PermanentError) return { code: err.code, message: err.message, retryable: false };
  if (err instanceof GafferError) return { code: err.code, message: err.message, retryable: true };
  if (err instanceof Error) return { code: 'HANDLER_ERROR', message: err.message || err.name, retryable: true };
  return { code: 'HANDLER_ERROR', message: String(err), retryable: true };
}
