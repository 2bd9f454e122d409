/**
 * Logs protocol refusals, one warn line each with the peer's address, the worker id (or the id its
 * hello claimed) and the code: every protocol error that ends a session (a refused hello: bad token,
 * protocol version, id in use, no room; a first frame that is not a valid hello; a frame over
 * maxFrameBytes; too many errors; a message flood; no hello in time). Rate-limited per address and
 * code: a misconfigured worker retrying every second, or a scanner, must not flood the log, so after
 * one line a key stays quiet for REFUSAL_LOG_QUIET_MS and its next line says how many refusals were
 * not logged in between.
 */
import type { ForemanEvents } from './events.js';

/** Refusals of a hello, the ones an operator fixes by configuring the worker. */
const HELLO_REFUSALS = new Set(['UNAUTHORIZED', 'UNSUPPORTED_VERSION', 'WORKER_ID_IN_USE']);
/** Quiet period per address and code, in ms. Long enough to cut a retry loop to a few lines a minute. */
const REFUSAL_LOG_QUIET_MS = 10_000;
/** Keys remembered at most; past it the oldest are forgotten (a scan from many addresses stays bounded). */
const MAX_KEYS = 1000;

interface Logger {
  warn(obj: object, msg: string): void;
}

/** Subscribes to protocol errors and logs refusals; returns the unsubscribe function. */
export function logRefusals(events: ForemanEvents, log: Logger, now: () => number = Date.now): () => void {
  const seen = new Map<string, { loggedAt: number; suppressed: number }>();
  const listener = (e: { code: string; workerId: string | null; address: string; closeCode: number | null }) => {
    if (e.closeCode === null) return;
    const key = `${e.address}|${e.code}`;
    const t = now();
    const entry = seen.get(key);
    if (entry && t - entry.loggedAt < REFUSAL_LOG_QUIET_MS) {
      entry.suppressed++;
      return;
    }
    seen.delete(key);
    if (seen.size >= MAX_KEYS) seen.delete(seen.keys().next().value as string);
    seen.set(key, { loggedAt: t, suppressed: 0 });
    const fields = { address: e.address, claimedWorkerId: e.workerId, code: e.code, closeCode: e.closeCode, notLoggedSince: entry?.suppressed ?? 0 };
    log.warn(fields, HELLO_REFUSALS.has(e.code) ? 'refused a worker hello' : 'closed a worker socket: protocol refusal');
  };
  events.on('protocolError', listener);
  return () => events.off('protocolError', listener);
}
