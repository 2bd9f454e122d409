/**
 * Handlers for benchmark worker processes (`gaffer worker --handlers bench/handlers.ts`),
 * next to the built-in no-op `echo`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from '../worker/worker.js';

/** Wall-clock time in ms with sub-millisecond resolution, comparable across processes on one machine. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

export default function register(worker: Worker): void {
  // Returns the moment the handler started, so the client can split submit → start from start → result.
  worker.task('stamp', () => ({ startedAt: wallClockMs() }));

  // Holds its slot for `ms` (honouring cancellation): keeps tasks "running" for the recovery scenario.
  worker.task('nap', async (params: { ms: number }, ctx) => {
    await sleep(params.ms, undefined, { signal: ctx.signal });
    return null;
  });
}
