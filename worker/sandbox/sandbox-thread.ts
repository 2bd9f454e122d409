/**
 * One sandbox thread (Node): receives run requests from sandbox-pool.ts and
 * answers each with its outcome. Runs one request at a time; the pool never
 * sends a second before the first is answered. Only this file and the pool
 * know about worker_threads: the runners are the part the browser shares.
 */
import { parentPort } from 'node:worker_threads';
import { newQuickJSWASMModule } from 'quickjs-emscripten';
import type { CodeOutcome } from './code-outcome.js';
import type { CodeLimits } from './limits.js';
import { QuickJsRunner } from './quickjs-runner.js';
import { WasmRunner } from './wasm-runner.js';

/** A run request, as the pool posts it. */
export type SandboxRequest =
  | { id: number; kind: 'js'; source: string; args: unknown[]; limits: CodeLimits }
  | { id: number; kind: 'wasm'; module: Uint8Array; exportName: string; args: number[]; limits: CodeLimits };

/** The thread's answer to one request; `ready` is posted once, when the thread can take work. */
export type SandboxReply = { id: number; outcome: CodeOutcome } | { ready: true };

const port = parentPort;
if (!port) throw new Error('sandbox-thread.ts runs only as a worker thread');

// Each thread has its own QuickJS instance; a fresh one replaces it after a run that hit a limit.
const js = new QuickJsRunner(() => newQuickJSWASMModule());
const wasm = new WasmRunner();

port.on('message', (req: SandboxRequest) => {
  void handle(req).then((outcome) => port.postMessage({ id: req.id, outcome } satisfies SandboxReply));
});

async function handle(req: SandboxRequest): Promise<CodeOutcome> {
  if (req.kind === 'js') return js.run(req.source, req.args, req.limits);
  return wasm.run(req.module, req.exportName, req.args, req.limits);
}

// Load QuickJS before saying ready, so the first task does not pay for it.
await js.run('() => 0', [], { memoryBytes: 8 * 1024 * 1024, cpuMs: 1000, timeoutMs: 1000, resultBytes: 16 });
port.postMessage({ ready: true } satisfies SandboxReply);
