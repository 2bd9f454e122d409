/** Transient errors of the `llm` handler, with codes from the catalogue (LLM_ERROR_CODES in shared/errors.ts). */
import { LLM_ERROR_CODES, TransientError } from '../../shared/errors.js';

export type LlmErrorCode = keyof typeof LLM_ERROR_CODES;

/** A retryable failure with one of the catalogue's codes. */
export function transient(code: Exclude<LlmErrorCode, 'LLM_REJECTED'>, message: string, cause?: unknown): TransientError {
  return new TransientError(message, cause === undefined ? { code } : { code, cause });
}
