/**
 * Handlers for benchmark worker processes (`gaffer worker --handlers bench/handlers.ts`),
 * next to the built-in no-op `echo`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext } from '../worker/task-context.js';
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

  // Hot models: `caption` needs model A, `upscale` model B; one model fits at a time, so loading one evicts the
  // other, and a load (cold start) takes `loadMs`. Results say whether this task paid for a load.
  const onModel = (model: string, other: string) => async (params: { ms: number; loadMs: number }, ctx: TaskContext) => {
    let loaded = false;
    if (!ctx.hotCache.has(model)) {
      ctx.hotCache.remove(other);
      await sleep(params.loadMs, undefined, { signal: ctx.signal });
      ctx.hotCache.add(model);
      loaded = true;
    }
    if (params.ms > 0) await sleep(params.ms, undefined, { signal: ctx.signal });
    return { loaded };
  };
  worker.task('caption', onModel('model-a', 'model-b'));
  worker.task('upscale', onModel('model-b', 'model-a'));
}
