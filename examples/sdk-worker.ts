/**
 * A worker program written with the SDK alone: `npx tsx examples/sdk-worker.ts`.
 * The same thing `gaffer worker --handlers` does, without the CLI. Options not passed come from the same
 * GAFFER_* variables the CLI reads: GAFFER_FOREMAN (the address), GAFFER_WORKER_TOKEN (the token the foreman
 * printed), and so on.
 */
import { Worker, WorkerRefusedError } from '../worker/index.js';
import register from './my-tasks.js';

const worker = new Worker({ id: 'sdk-example', concurrency: 4, limits: { gpu: 1 } });
register(worker);
await worker.start();
try {
  await worker.whenReady();
} catch (err) {
  // A wrong token, another protocol version, or an id in use: retrying will not help.
  if (err instanceof WorkerRefusedError) {
    console.error(`${err.code}: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
worker.log.info('ready; Ctrl-C drains and exits');
process.once('SIGINT', async () => {
  await worker.drain();
  await worker.close();
});
