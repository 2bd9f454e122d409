/**
 * How a command ends on a user error: one line on stderr naming the flag and what is wrong, and an exit code;
 * never a stack trace. Errors that are not the user's (bugs) keep their stack, which is what a bug report needs.
 */
import { envName, kebab } from '../shared/option-env.js';

/** Error codes that mean "the user's input or environment", not a bug in Gaffer. */
const USER_ERROR_CODES = new Set(['ENOENT', 'EACCES', 'EADDRINUSE', 'EADDRNOTAVAIL', 'ECONNREFUSED', 'ENOTFOUND', 'ERR_MODULE_NOT_FOUND', 'ERR_INVALID_URL', 'ERR_UNKNOWN_FILE_EXTENSION',
  // The database file is held by another foreman, cannot be written where it is, or was written by a newer Gaffer.
  'DB_IN_USE', 'DB_UNWRITABLE', 'SCHEMA_TOO_NEW', 'EROFS']);

/** The one line to print for `err`: option names from options.ts become the flag and variable that set them. */
export function userMessage(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; cause?: { code?: unknown; message?: unknown } };
  let message = typeof e?.message === 'string' ? e.message : String(err);
  // resolveOptions says "option statusPort must be …"; the user typed --status-port or GAFFER_STATUS_PORT.
  message = message.replace(/^options? (\w+)(?: and (\w+))?/, (_m, a: string, b?: string) =>
    b ? `--${kebab(a)} and --${kebab(b)}` : `--${kebab(a)} (${envName(a)})`,
  );
  // fetch() says only "fetch failed"; the reason is in its cause.
  if (message === 'fetch failed' && e.cause) message = `cannot reach the foreman: ${String(e.cause.message ?? e.cause.code)}`;
  return message;
}

/** An error in what the user asked for, worded for them (the CLI throws it; options.ts throws TypeErrors naming the option). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Whether `err` is the user's doing (bad option, missing file, port taken, foreman unreachable). */
export function isUserError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  if (err instanceof UsageError || (err instanceof TypeError && /^(options? \w+ |--|GAFFER_)/.test(err.message))) return true;
  // The foreman answered with an error (bad token, unknown id): its message says what is wrong.
  // The foreman refused this worker (token, version, id): the message says what to pass.
  if (err instanceof Error && (err.name === 'ApiError' || err.name === 'WorkerRefusedError')) return true;
  return USER_ERROR_CODES.has(String(e?.code)) || USER_ERROR_CODES.has(String(e?.cause?.code)) || e?.message === 'fetch failed';
}

/** Prints `gaffer <command>: <one line>` and exits with `code` (the stack too when it is a bug). */
export function fail(command: string, err: unknown, code = 1): never {
  process.stderr.write(`gaffer ${command}: ${userMessage(err)}\n`);
  if (!isUserError(err) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(code);
}
