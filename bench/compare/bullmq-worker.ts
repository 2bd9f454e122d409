/**
 * BullMQ's consumer for the `compare` scenario: one process, one Worker with
 * `--concurrency` slots, whose processor echoes the job's data (a no-op, as
 * Gaffer's `echo`). Tells its parent `{ type: 'ready' }` over IPC once it is
 * connected, and closes on `{ type: 'stop' }`.
 *
 *   node --import tsx bench/compare/bullmq-worker.ts --port P --queue NAME --concurrency 200
 */
import { parseArgs } from 'node:util';
import { Worker } from 'bullmq';

const { values } = parseArgs({
  options: { port: { type: 'string' }, queue: { type: 'string' }, concurrency: { type: 'string', default: '200' } },
});
const worker = new Worker(values.queue as string, async (job) => job.data, {
  connection: { host: '127.0.0.1', port: Number(values.port), maxRetriesPerRequest: null },
  concurrency: Number(values.concurrency),
});
worker.on('error', (err) => process.stderr.write(`${err.message}\n`));
await worker.waitUntilReady();
process.send?.({ type: 'ready' });
process.on('message', (m: { type: string }) => {
  if (m.type === 'stop') void worker.close().finally(() => process.exit(0));
});
