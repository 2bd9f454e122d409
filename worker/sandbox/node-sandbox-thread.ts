/**
 * Sandbox threads in Node: each is a worker thread running sandbox-thread.ts,
 * with a V8 heap limit as a backstop under QuickJS's own memory limit.
 */
import { Worker as Thread } from 'node:worker_threads';
import type { SandboxReply, SandboxRequest, SpawnSandboxThread } from './sandbox-pool.js';

const BOOT = new URL('./sandbox-thread-boot.mjs', import.meta.url);

/** A spawner of Node worker threads whose V8 heap is `heapMb` (QuickJS's memory is WebAssembly memory, outside it). */
export function nodeSandboxThreads(heapMb: number): SpawnSandboxThread {
  return (events) => {
    const thread = new Thread(BOOT, { resourceLimits: { maxOldGenerationSizeMb: heapMb } });
    thread.on('message', (reply: SandboxReply) => events.reply(reply));
    // 'error' then 'exit' for a thread that died on its own; only 'exit' for one the pool terminated.
    let died: (Error & { code?: string }) | null = null;
    let terminated = false;
    thread.on('error', (err) => (died = err));
    thread.on('exit', (code) => {
      if (terminated) return;
      const error = died as (Error & { code?: string }) | null;
      events.died(error?.message ?? `exit code ${code}`, error?.code === 'ERR_WORKER_OUT_OF_MEMORY');
    });
    return {
      post: (request: SandboxRequest) => thread.postMessage(request),
      terminate: () => {
        terminated = true;
        return thread.terminate();
      },
    };
  };
}
