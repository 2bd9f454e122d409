/**
 * A worker program written with the SDK alone: `npx tsx examples/sdk-worker.ts`.
 * The same thing `gaffer worker --handlers` does, without the CLI.
 */
import { Worker } from '../worker/index.js';
import register from './my-tasks.js';

const worker = new Worker({ foreman: process.env.GAFFER_FOREMAN ?? 'ws://127.0.0.1:9000', id: 'sdk-example', concurrency: 4, limits: { gpu: 1 } });
register(worker);
await worker.start();
await worker.whenReady();
worker.log.info('ready; Ctrl-C drains and exits');
process.once('SIGINT', async () => {
  await worker.drain();
  await worker.close();
});
