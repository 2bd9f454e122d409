/**
 * Logs each refused worker hello (bad token, protocol version, id in use) with the peer's address, the id it
 * claimed and the code, so an operator can see who is knocking and why. Rate-limited per address and code:
 * a misconfigured worker retrying every second must not flood the log, so after one line a key stays quiet
 * for REFUSAL_LOG_QUIET_MS and its next line says how many refusals were not logged in between.
 */
import type { ForemanEvents } from './events.js';

/** Refusal codes worth an operator's attention (the ones that end a worker's session at hello). */
const REFUSALS = new Set(['UNAUTHORIZED', 'UNSUPPORTED_VERSION', 'WORKER_ID_IN_USE']);
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
  const listener = (e: { code: string; workerId: string | null; address: string }) => {
    if (!REFUSALS.has(e.code)) return;
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
    log.warn({ address: e.address, claimedWorkerId: e.workerId, code: e.code, notLoggedSince: entry?.suppressed ?? 0 }, 'refused a worker hello');
  };
  events.on('protocolError', listener);
  return () => events.off('protocolError', listener);
}
