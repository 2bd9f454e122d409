/**
 * One sandbox thread (Node): receives run requests from sandbox-pool.ts and
 * answers each with its outcome. Runs one request at a time; the pool never
 * sends a second before the first is answered. Only this file and
 * node-sandbox-thread.ts know about worker_threads: the runners are the part the browser shares.
 */
import { parentPort } from 'node:worker_threads';
import { newQuickJSWASMModule } from 'quickjs-emscripten';
import type { SandboxReply, SandboxRequest } from './sandbox-pool.js';
import { SandboxRunners } from './sandbox-runners.js';

const port = parentPort;
if (!port) throw new Error('sandbox-thread.ts runs only as a worker thread');

const runners = new SandboxRunners(() => newQuickJSWASMModule());
port.on('message', (req: SandboxRequest) => {
  void runners.run(req).then((outcome) => port.postMessage({ id: req.id, outcome } satisfies SandboxReply));
});
await runners.warm();
port.postMessage({ ready: true } satisfies SandboxReply);
