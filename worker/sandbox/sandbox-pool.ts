/**
 * A pool of sandbox threads: Node worker threads (node-sandbox-thread.ts) or a
 * browser's Web Workers (worker/browser/web-sandbox-thread.ts). Code runs off the
 * main event loop so a CPU-bound task never blocks it: heartbeats, results and
 * cancels keep flowing while it computes. Each thread runs one request at a
 * time; the rest wait here in order.
 *
 * The pool is the last line of every limit: a run past its wall-clock limit
 * (or, for WebAssembly, which cannot be interrupted, past its CPU budget), a
 * cancelled run, and a thread that dies (V8's heap limit, a crash) all end
 * with that thread terminated and a fresh one started in its place.
 */
import { codeFailure, type CodeOutcome } from './code-outcome.js';
import type { CodeRequest, CodeRunner } from './code-request.js';

/** A run request as posted to a thread: numbered by the pool. */
export type SandboxRequest = CodeRequest & { id: number };

/** A thread's answer to one request; `ready` is posted once, when the thread can take work. */
export type SandboxReply = { id: number; outcome: CodeOutcome } | { ready: true };

/** How the pool hears from one thread. */
export interface SandboxThreadEvents {
  reply(reply: SandboxReply): void;
  /** The thread died on its own (not terminated by the pool): `outOfMemory` when its heap ran out. */
  died(message: string, outOfMemory: boolean): void;
}

/** One thread as the pool drives it, whatever the host. */
export interface SandboxThread {
  post(request: SandboxRequest): void;
  terminate(): void | Promise<unknown>;
}

/** Starts one thread (Node worker thread, Web Worker) that reports through `events`. */
export type SpawnSandboxThread = (events: SandboxThreadEvents) => SandboxThread;

export interface SandboxPoolOptions {
  /** Threads, i.e. code tasks running at once. */
  threads: number;
  spawn: SpawnSandboxThread;
  logger?: { warn(obj: object, msg: string): void };
}

interface Pending {
  request: CodeRequest;
  signal?: AbortSignal;
  resolve(outcome: CodeOutcome): void;
  reject(reason: unknown): void;
}

interface Slot {
  thread: SandboxThread;
  ready: boolean;
  whenReady: Promise<void>;
  current: (Pending & { id: number; timer: ReturnType<typeof setTimeout>; onAbort: () => void }) | null;
}

export class SandboxPool implements CodeRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Threads replaced after a limit, a cancel or a crash (for the status page and tests). */
  replacedThreads = 0;

  constructor(private readonly options: SandboxPoolOptions) {
    for (let i = 0; i < options.threads; i++) this.slots.push(this.spawn());
  }

  /** Runs one request on the next free thread. Rejects with `signal.reason` when aborted (the thread is replaced). */
  run(request: CodeRequest, signal?: AbortSignal): Promise<CodeOutcome> {
    if (this.closed) return Promise.reject(new Error('sandbox pool is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      this.queue.push({ request, signal, resolve, reject });
      this.pump();
    });
  }

  /** Resolves once every thread has loaded its sandbox (a warm start for the first tasks). */
  async whenReady(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.whenReady));
  }

  /** Terminates every thread; queued and running requests are rejected. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('sandbox pool closed');
    for (const p of this.queue.splice(0)) p.reject(error);
    await Promise.all(
      this.slots.map((slot) => {
        this.detach(slot)?.reject(error);
        return slot.thread.terminate();
      }),
    );
  }

  private spawn(): Slot {
    let onReady = () => {};
    const slot: Slot = { thread: null as unknown as SandboxThread, ready: false, whenReady: new Promise((resolve) => (onReady = resolve)), current: null };
    slot.thread = this.options.spawn({
      reply: (reply) => {
        if ('ready' in reply) {
          slot.ready = true;
          onReady();
          this.pump();
          return;
        }
        const current = slot.current;
        if (current && current.id === reply.id) this.finish(slot, () => current.resolve(reply.outcome));
      },
      died: (message, outOfMemory) => {
        if (this.closed || !this.slots.includes(slot)) return;
        this.options.logger?.warn({ error: message }, 'sandbox thread died; starting another');
        const outcome = outOfMemory ? codeFailure('CODE_MEMORY_LIMIT', message) : codeFailure('CODE_SANDBOX_CRASHED', message);
        const current = this.detach(slot);
        this.replace(slot);
        current?.resolve(outcome);
      },
    });
    return slot;
  }

  /** Sends queued requests to free, ready threads. */
  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.current) continue;
      const pending = this.queue.shift() as Pending;
      if (pending.signal?.aborted) {
        pending.reject(pending.signal.reason);
        continue;
      }
      this.start(slot, pending);
    }
  }

  private start(slot: Slot, pending: Pending): void {
    const id = this.nextId++;
    const { limits } = pending.request;
    // QuickJS stops itself at its CPU budget; the watchdog is for what cannot stop itself.
    const wasmCpu = pending.request.kind === 'wasm' && limits.cpuMs < limits.timeoutMs;
    const watchdogMs = wasmCpu ? limits.cpuMs : limits.timeoutMs;
    const timer = setTimeout(() => {
      if (slot.current?.id !== id) return;
      const current = this.kill(slot);
      current?.resolve(wasmCpu ? codeFailure('CODE_CPU_LIMIT', `still running after ${limits.cpuMs} ms`) : codeFailure('CODE_TIMEOUT', `still running after ${limits.timeoutMs} ms`));
    }, watchdogMs);
    const onAbort = () => {
      if (slot.current?.id !== id) return;
      this.kill(slot)?.reject(pending.signal?.reason);
    };
    pending.signal?.addEventListener('abort', onAbort, { once: true });
    slot.current = { ...pending, id, timer, onAbort };
    slot.thread.post({ ...pending.request, id } as SandboxRequest);
  }

  /** Takes a slot's current run off it (its timer and abort listener too) and returns it. */
  private detach(slot: Slot): Slot['current'] {
    const current = slot.current;
    if (current) {
      clearTimeout(current.timer);
      current.signal?.removeEventListener('abort', current.onAbort);
    }
    slot.current = null;
    return current;
  }

  /** Clears a slot's current run and calls `settle`; then the slot takes the next request. */
  private finish(slot: Slot, settle: () => void): void {
    if (!this.detach(slot)) return;
    settle();
    this.pump();
  }

  /** Terminates a slot's thread and puts a fresh one in its place; returns the run it had, for the caller to settle. */
  private kill(slot: Slot): Slot['current'] {
    const current = this.detach(slot);
    void slot.thread.terminate();
    this.replace(slot);
    return current;
  }

  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    this.replacedThreads++;
    this.slots[i] = this.spawn();
  }
}
