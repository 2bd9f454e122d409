/**
 * A worker in a browser tab: speaks the same protocol as every worker (the
 * shared codec, bundled), registers only the sandboxed `js` and `wasm` task
 * types, and runs each task in a Web Worker through the same sandbox code the
 * Node worker uses, so deterministic code gives bit-identical answers (which
 * quorum relies on).
 *
 * No DOM here: join-page.ts draws this object's state. Lifecycle:
 * - `connecting`: dialing, or waiting to redial after a lost socket;
 * - `ready`: registered, taking tasks;
 * - `paused`: registered, takes no new tasks, finishes the running ones;
 * - `refused`: the foreman refused this page for good (token, version): see `refusal`;
 * - `stopped`: closed by the volunteer; running tasks were handed back.
 */
import { decodeMessage, encodeMessage } from '../../shared/codec.js';
import { toWireError } from '../../shared/errors.js';
import { CLOSE_CODES, FOREMAN_KINDS, PROTOCOL_VERSION, type Assignment, type ForemanMessage, type TaskRef, type TaskResult, type WorkerMessage } from '../../shared/protocol.js';
import { reconnectDelayMs } from '../backoff.js';
import { runCodeTask, type CodeRunner } from '../sandbox/code-request.js';
import type { CodeLimits } from '../sandbox/limits.js';

export type BrowserWorkerState = 'connecting' | 'ready' | 'paused' | 'refused' | 'stopped';

export interface BrowserWorkerOptions {
  /** The foreman's worker endpoint, ws:// or wss://. */
  url: string;
  /** The join token from the link; null on an open (loopback) foreman. */
  token: string | null;
  workerId: string;
  /** Tasks run at once, one Web Worker each. */
  slots: number;
  runner: CodeRunner;
  ceiling: CodeLimits;
  /** Shown on the foreman's dashboard (`browser: true`, the user agent). */
  meta: Record<string, unknown>;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

/** A task running in this tab. */
export interface RunningTask {
  ref: TaskRef;
  type: string;
  startedAt: number;
  controller: AbortController;
}

/** Close codes after which redialing cannot help: the link or the page is wrong. */
const FATAL_CLOSE_CODES = new Map([
  [4001, 'the foreman refused the join token: ask its operator for a fresh link'],
  [4003, 'this page speaks another protocol version than the foreman: reload it'],
]);

const refKey = (r: TaskRef): string => `${r.taskId}#${r.attempt}`;

export class BrowserWorker extends EventTarget {
  state: BrowserWorkerState = 'connecting';
  /** Why the foreman refused this page, once it has. */
  refusal: string | null = null;
  done = 0;
  failed = 0;
  readonly running = new Map<string, RunningTask>();
  private readonly unacked = new Map<string, TaskResult>();
  private socket: WebSocket | null = null;
  private sessionToken: string | null = null;
  private paused = false;
  private tries = 0;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private redial: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly options: BrowserWorkerOptions) {
    super();
  }

  start(): void {
    this.dial();
  }

  /** Takes no new tasks; running ones finish and their results are delivered. */
  pause(): void {
    this.paused = true;
    this.send({ kind: 'worker.state', state: 'draining' });
    this.setState('paused');
  }

  resume(): void {
    this.paused = false;
    this.send({ kind: 'worker.state', state: 'ready' });
    this.setState(this.socket?.readyState === WebSocket.OPEN ? 'ready' : 'connecting');
  }

  /** Hands running tasks back to the foreman (requeued at once) and closes the session for good. */
  stop(): void {
    if (this.state === 'stopped') return;
    const refs = [...this.running.values()].map((r) => r.ref);
    if (refs.length > 0) this.send({ kind: 'task.release', tasks: refs, reason: 'stopped' });
    for (const run of this.running.values()) run.controller.abort(new Error('stopped'));
    this.running.clear();
    this.finish('stopped');
  }

  private finish(state: 'stopped' | 'refused'): void {
    if (this.redial) clearTimeout(this.redial);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.socket?.close(1000, state);
    this.socket = null;
    this.setState(state);
  }

  private setState(state: BrowserWorkerState): void {
    if (this.state === 'stopped' || this.state === 'refused') return;
    this.state = state;
    this.changed();
  }

  private changed(): void {
    this.dispatchEvent(new Event('update'));
  }

  private send(message: WorkerMessage): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(encodeMessage(message) as Uint8Array<ArrayBuffer>);
    return true;
  }

  private dial(): void {
    const socket = new WebSocket(this.options.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => this.sendHello();
    socket.onmessage = (event) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      try {
        this.onMessage(decodeMessage(new Uint8Array(event.data), FOREMAN_KINDS));
      } catch (err) {
        console.warn('gaffer: frame refused', err);
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.heartbeat) clearInterval(this.heartbeat);
      const fatal = FATAL_CLOSE_CODES.get(event.code);
      if (fatal) {
        this.refusal = fatal;
        this.finish('refused');
        return;
      }
      if (this.state === 'stopped' || this.state === 'refused') return;
      this.setState('connecting');
      const delay = reconnectDelayMs(this.tries++, this.options.reconnectMinMs ?? 500, this.options.reconnectMaxMs ?? 15_000);
      this.redial = setTimeout(() => this.dial(), delay);
    };
  }

  private sendHello(): void {
    // Tasks still running and results not yet acknowledged are both ours: the foreman keeps them.
    const running = [...this.running.values()].map((r) => r.ref);
    for (const r of this.unacked.values()) running.push({ taskId: r.taskId, attempt: r.attempt });
    this.send({
      kind: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      workerId: this.options.workerId,
      ...(this.sessionToken ? { sessionToken: this.sessionToken } : {}),
      ...(this.options.token ? { authToken: this.options.token } : {}),
      skills: [
        { type: 'js', group: 'code' },
        { type: 'wasm', group: 'code' },
      ],
      capacity: this.options.slots,
      groupLimits: {},
      running,
      meta: this.options.meta,
    });
  }

  private onMessage(m: ForemanMessage): void {
    switch (m.kind) {
      case 'welcome':
        this.sessionToken = m.sessionToken;
        this.tries = 0;
        for (const ref of m.revoked) {
          const run = this.running.get(ref.taskId);
          if (run && run.ref.attempt === ref.attempt) this.abandon(run);
          this.unacked.delete(refKey(ref));
        }
        for (const r of this.unacked.values()) this.send({ kind: 'task.result', results: [r] });
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => this.sendHeartbeat(), m.heartbeatIntervalMs);
        if (this.paused) this.send({ kind: 'worker.state', state: 'draining' });
        this.setState(this.paused ? 'paused' : 'ready');
        break;
      case 'task.assign':
        for (const a of m.tasks) this.begin(a);
        this.changed();
        break;
      case 'task.cancel':
        for (const ref of m.tasks) {
          const run = this.running.get(ref.taskId);
          if (run && run.ref.attempt === ref.attempt) {
            if (m.reason === 'revoked') this.abandon(run);
            else run.controller.abort(new Error('cancelled'));
          }
          if (m.reason === 'revoked') this.unacked.delete(refKey(ref));
        }
        break;
      case 'task.ack':
        for (const a of m.results) this.unacked.delete(refKey(a));
        break;
      case 'worker.command':
        if (m.command === 'drain') this.pause();
        else this.socket?.close(CLOSE_CODES.restartRequested, 'RESTART');
        break;
      case 'checkpoint.ack':
        break;
      case 'error':
        console.warn(`gaffer: foreman error ${m.code}: ${m.message}`);
        break;
      default: {
        const never: never = m;
        console.warn('gaffer: unhandled message', never);
      }
    }
  }

  private sendHeartbeat(): void {
    const running = [...this.running.values()].map((r) => r.ref);
    this.send({ kind: 'heartbeat', running, draining: this.paused });
  }

  /** Drops a run whose attempt is no longer ours: its outcome is never sent. */
  private abandon(run: RunningTask): void {
    this.running.delete(run.ref.taskId);
    run.controller.abort(new Error('revoked'));
    this.changed();
  }

  private begin(a: Assignment): void {
    const ref = { taskId: a.taskId, attempt: a.attempt };
    if (this.paused || this.running.size >= this.options.slots || (a.type !== 'js' && a.type !== 'wasm')) {
      this.send({ kind: 'task.release', tasks: [ref], reason: 'draining' });
      return;
    }
    const run: RunningTask = { ref, type: a.type, startedAt: Date.now(), controller: new AbortController() };
    this.running.set(a.taskId, run);
    const started = performance.now();
    runCodeTask(this.options.runner, a.type, a.params, this.options.ceiling, run.controller.signal).then(
      (value) => this.deliver(run, { taskId: a.taskId, attempt: a.attempt, outcome: 'succeeded', value, durationMs: performance.now() - started }),
      (err: unknown) => {
        const cancelled = run.controller.signal.aborted;
        const result: TaskResult = cancelled
          ? { taskId: a.taskId, attempt: a.attempt, outcome: 'cancelled', durationMs: performance.now() - started }
          : { taskId: a.taskId, attempt: a.attempt, outcome: 'failed', error: toWireError(err), durationMs: performance.now() - started };
        this.deliver(run, result);
      },
    );
  }

  private deliver(run: RunningTask, result: TaskResult): void {
    // A run handed back, revoked or replaced meanwhile is no longer ours to report.
    if (this.running.get(run.ref.taskId) !== run) return;
    this.running.delete(run.ref.taskId);
    if (result.outcome === 'succeeded') this.done++;
    else if (result.outcome === 'failed') this.failed++;
    this.unacked.set(refKey(result), result);
    this.send({ kind: 'task.result', results: [result] });
    this.changed();
  }
}
