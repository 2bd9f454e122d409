/**
 * Sandbox threads in a browser: one Web Worker per slot, started from the
 * bundled `sandbox.js`. A Web Worker that runs past its limit is terminated by
 * the pool and replaced, exactly as a Node worker thread is.
 */
import type { SandboxReply, SpawnSandboxThread } from '../sandbox/sandbox-pool.js';

/** A spawner of Web Workers running the sandbox bundle at `scriptUrl`. */
export function webSandboxThreads(scriptUrl: string): SpawnSandboxThread {
  return (events) => {
    const thread = new Worker(scriptUrl, { type: 'module' });
    let terminated = false;
    thread.onmessage = (event: MessageEvent<SandboxReply>) => events.reply(event.data);
    // A Web Worker that throws out of its top level (or runs out of memory) reports here and is done for.
    thread.onerror = (event: ErrorEvent) => {
      if (terminated) return;
      terminated = true;
      thread.terminate();
      events.died(event.message || 'the sandbox worker failed', /memory/i.test(event.message ?? ''));
    };
    return {
      post: (request) => thread.postMessage(request),
      terminate: () => {
        terminated = true;
        thread.terminate();
      },
    };
  };
}
