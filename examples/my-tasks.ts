/**
 * An example handler module for `gaffer worker --handlers examples/my-tasks.ts`.
 * Its default export receives the worker and registers handlers on it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { customStatus, PermanentError, type Worker } from '../worker/index.js';

export default function register(worker: Worker): void {
  // Tasks in the `gpu` group share `--limit gpu=N` on this worker.
  worker.task(
    'resize',
    async (params: { width: number; height: number }, ctx) => {
      if (!(params.width > 0 && params.height > 0)) throw new PermanentError('width and height must be positive');
      for (let step = 1; step <= 4; step++) {
        await sleep(50, undefined, { signal: ctx.signal }); // stands in for real work; stops on cancel
        ctx.progress(step / 4, `pass ${step} of 4`);
      }
      return { width: params.width / 2, height: params.height / 2 };
    },
    { group: 'gpu' },
  );

  // A custom status: stored and shown as `needs_review` instead of plain success. It must be asked for with
  // customStatus(); a plain object with `status` and `data` keys is just a result.
  worker.task('score', (params: { text: string }) => {
    const score = params.text.length % 10;
    return score < 3 ? customStatus('needs_review', { score }) : { score };
  });
}
