/**
 * What one sandboxed run ends with. Plain data, so it crosses a thread
 * (postMessage) or a Web Worker boundary as it is.
 *
 * No Node imports: this file is bundled into the browser worker too.
 */
import { CODE_TASK_ERRORS, type CodeTaskErrorCode } from '../../shared/errors.js';

/** A run's result: the value as JSON text (exactly what the code returned, serialised inside the sandbox), or an error. */
export type CodeOutcome = { ok: true; json: string } | { ok: false; code: CodeTaskErrorCode; message: string };

/** A failed outcome with a stable code; `detail` (the code's own message, a limit) follows the catalogue's text. */
export function codeFailure(code: CodeTaskErrorCode, detail?: string): CodeOutcome {
  const base = CODE_TASK_ERRORS[code].message;
  return { ok: false, code, message: detail ? `${base}: ${detail}` : base };
}

const encoder = new TextEncoder();

/** Checks a serialised result against the size limit (UTF-8 bytes). */
export function checkResultSize(json: string, resultBytes: number): CodeOutcome {
  // UTF-8 is at most 3 bytes per UTF-16 unit: skip encoding when even that fits.
  if (json.length * 3 <= resultBytes) return { ok: true, json };
  const bytes = encoder.encode(json).length;
  return bytes <= resultBytes ? { ok: true, json } : codeFailure('CODE_RESULT_TOO_LARGE', `${bytes} bytes > ${resultBytes}`);
}
