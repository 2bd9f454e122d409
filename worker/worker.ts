/**
 * The worker SDK: register handlers with `task()`, then `start()`. The
 * worker dials the foreman, says hello with its skills and capacity, and runs
 * what the foreman pushes, holding results until the foreman acknowledges them.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { Outbox } from '../shared/outbox.js';
import { CLOSE_CODES, PROTOCOL_VERSION, type Assignment, type ForemanMessage, type TaskRef, type TaskResult } from '../shared/protocol.js';
import { BLOB_HINT } from '../shared/blob-ref.js';
import { CheckpointSender } from './checkpoint-sender.js';
import { Connection } from './connection.js';
import { ForemanPicker, parseForemanList } from './foreman-list.js';
import { Heartbeats } from './heartbeats.js';
import { HotCache } from './hot-cache.js';
import { BlobClient, httpBaseOf } from './payloads/blob-client.js';
import { Payloads } from './payloads/payloads.js';
import { resolveWorkerOptions, type WorkerOptions } from './options.js';
import { AttemptLog } from './attempt-log.js';
import { refusalFor, WorkerRefusedError } from './refusal.js';
import { workerOptionsFromEnv, type WorkerConstructorOptions, type WorkerEvents, type WorkerState } from './worker-setup.js';
import type { TaskHandler, TaskRegistration } from './task-context.js';
import { TaskRun, type RunHooks, type RunOutcome } from './task-runner.js';
import { WorkerStats } from './worker-stats.js';

export type { WorkerConstructorOptions, WorkerEvents, WorkerState };

const refKey = (r: TaskRef): string => `${r.taskId}:${r.attempt}`;

export class Worker extends EventEmitter<WorkerEvents> {
  readonly options: Readonly<WorkerOptions>;
  readonly log: Logger;
  readonly stats = new WorkerStats();
  readonly runs = new Map<string, TaskRun>();
  state: WorkerState = 'connecting';
  /** URL of this worker's status server, once it listens; sent in hello. */
  statusUrl: string | null = null;
  private readonly handlers = new Map<string, { handler: TaskHandler; group: string }>();
  private readonly unacked = new Map<string, TaskResult>();
  private readonly connection: Connection;
  private readonly outbox: Outbox;
  private sessionToken: string | undefined;
  private registered = false;
  private draining = false;
  /** Set by the foreman's welcome: the foreman owns the liveness timing. */
  private heartbeatIntervalMs = 0;
  private readonly idleWaiters = new Set<() => void>();
  /** The models this worker has loaded; hot task types go to the foreman in heartbeats. */
  readonly hotCache: HotCache;
  private readonly heartbeats = new Heartbeats(
    () => this.beat(),
    () => {
      if (this.registered && this.connection.isOpen) this.sendHeartbeat();
    },
  );
  /** Blob references in params in, payload files in results out (worker/payloads/). */
  readonly payloads: Payloads;
  private readonly checkpoints = new CheckpointSender((c) => {
    if (this.registered && this.connection.isOpen) this.connection.send({ kind: 'task.checkpoint', checkpoints: [c] });
  });
  private closing: Promise<void> | null = null;
  /** Consecutive closes with 4009 (id in use); reset by a welcome. */
  private idInUseTries = 0;
  /** Why the foreman refused this worker for good, once it has; `whenReady()` rejects with it. */
  refusal: WorkerRefusedError | null = null;

  constructor(options: WorkerConstructorOptions = {}) {
    super();
    const { logger, env = process.env, ...rest } = options;
    // Options passed win over the environment; resolveWorkerOptions drops the undefined ones.
    this.options = resolveWorkerOptions({ ...workerOptionsFromEnv(env), ...rest });
    this.log = logger ?? pino({ level: this.options.logLevel });
    this.connection = new Connection(new ForemanPicker(parseForemanList(this.options.foreman), this.options.foremanMode), {
      reconnectMinMs: this.options.reconnectMinMs,
      reconnectMaxMs: this.options.reconnectMaxMs,
      caFile: this.options.caFile,
      maxPayload: 256 * 1024 * 1024,
    });
    // Frames stay under the foreman's limit, learned from its welcome; before it nothing batched is sent.
    this.outbox = new Outbox((frame) => void this.connection.sendFrame(frame), {
      onTooLarge: (kind, item, bytes) => {
        if (kind === 'task.result') this.resultTooLarge(item as TaskResult, bytes);
      },
    });
    this.hotCache = new HotCache(this.options.skillDependencies, () => this.hotCacheChanged());
    this.payloads = new Payloads(new BlobClient(() => httpBaseOf(this.connection.url), this.options.id, this.options.workerToken, this.options.payloadDir));
    this.connection.on('open', () => this.sendHello());
    this.connection.on('message', (m) => this.onMessage(m));
    this.connection.on('close', (code, reason, retryInMs, tries) => this.onDisconnect(code, reason, retryInMs, tries));
    this.connection.on('protocolError', (err) => this.log.warn({ code: err.code }, err.message));
    this.connection.on('dialFailed', (message, tries) => {
      // The first failure and then every tenth, so a long outage does not flood the log.
      if (tries === 1 || tries % 10 === 0) this.log.warn({ foreman: this.connection.url, tries, error: message }, 'cannot reach the foreman; retrying');
    });
  }

  /**
   * Registers a handler for tasks of `type`.
   * @param registration.group concurrency group for `limits` (default: the type itself).
   */
  task<P = any, R = unknown>(type: string, handler: TaskHandler<P, R>, registration: TaskRegistration = {}): this {
    if (this.state !== 'connecting' || this.registered) throw new Error('register handlers before start()');
    this.handlers.set(type, { handler: this.payloads.wrap(handler as TaskHandler), group: registration.group ?? type });
    return this;
  }

  /** Task types this worker handles. */
  get skills(): string[] {
    return [...this.handlers.keys()];
  }

  /** Starts dialing the foreman. Resolves at once; `whenReady()` waits for registration. */
  async start(): Promise<void> {
    if (this.handlers.size === 0) throw new Error('no task handlers registered');
    this.connection.start();
  }

  /**
   * Resolves once the foreman has welcomed this worker (now, if it already has).
   * @throws WorkerRefusedError (with `code` UNAUTHORIZED, UNSUPPORTED_VERSION or WORKER_ID_IN_USE) when the
   *   foreman refuses the worker for good; Error when the worker is closed first.
   */
  whenReady(signal?: AbortSignal): Promise<void> {
    if (this.state === 'ready' || this.state === 'draining') return Promise.resolve();
    if (this.refusal) return Promise.reject(this.refusal);
    return new Promise((resolve, reject) => {
      const onState = (s: WorkerState) => {
        if (s === 'ready' || s === 'draining') done(resolve);
        else if (s === 'closed') done(() => reject(this.refusal ?? new Error('worker closed before it was ready')));
      };
      const onAbort = () => done(() => reject(signal?.reason));
      const done = (fn: () => void) => {
        this.off('state', onState);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      this.on('state', onState);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Stops taking work, lets running tasks finish for up to `timeoutMs`, then
   * hands the rest back to the foreman (which requeues them at once).
   */
  async drain(timeoutMs = this.options.drainTimeoutMs): Promise<void> {
    if (this.state === 'closed') return;
    this.draining = true;
    this.setState('draining');
    this.connection.send({ kind: 'worker.state', state: 'draining' });
    await this.waitIdle(timeoutMs);
    // Undrained meanwhile: what runs now is this worker's to finish.
    if (!this.draining) return;
    this.releaseAll('drain deadline');
    // Give the foreman a moment to acknowledge the last results so they are not held across a restart.
    this.outbox.flush();
    await this.waitIdle(Math.min(2000, timeoutMs));
  }

  /** Takes work again after a drain (the `undrain` command); no-op unless draining and connected. */
  undrain(): void {
    if (!this.draining || this.closing || this.state !== 'draining') return;
    this.draining = false;
    this.setState('ready');
    this.connection.send({ kind: 'worker.state', state: 'ready' });
  }

  /**
   * Restarts the session with the foreman: `graceful` drains first; `hard`
   * aborts running tasks and hands them back at once. Then reconnects and registers again.
   */
  async restart(mode: 'graceful' | 'hard' = 'graceful'): Promise<void> {
    if (this.state === 'closed') return;
    this.log.info({ mode }, 'restarting session');
    if (mode === 'graceful') await this.drain();
    else {
      this.draining = true;
      // Tell the foreman first, or it may hand a released task straight back to this closing session.
      this.connection.send({ kind: 'worker.state', state: 'draining' });
      this.releaseAll('hard restart');
      this.outbox.flush();
    }
    this.draining = false;
    this.heartbeats.stop();
    this.connection.reconnect(CLOSE_CODES.restartRequested, 'RESTART');
  }

  /** Stops for good: hands back running tasks, closes the socket. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.draining = true;
      // Tell the foreman first, or it hands the released tasks straight back to this closing session,
      // which drops them: they would stay running for the grace period and then count as lost.
      this.connection.send({ kind: 'worker.state', state: 'draining' });
      this.releaseAll('worker closing');
      this.outbox.flush();
      this.heartbeats.close();
      this.setState('closed');
      await this.connection.stop();
    })();
    return this.closing;
  }

  /** What the status server shows. */
  snapshot() {
    return {
      workerId: this.options.id,
      state: this.state,
      foreman: this.options.foreman,
      skills: [...this.handlers].map(([type, h]) => ({ type, group: h.group })),
      config: {
        concurrency: this.options.concurrency,
        limits: this.options.limits,
        heartbeatIntervalMs: this.heartbeatIntervalMs,
        drainTimeoutMs: this.options.drainTimeoutMs,
        resultBufferSize: this.options.resultBufferSize,
        reconnectMinMs: this.options.reconnectMinMs,
        reconnectMaxMs: this.options.reconnectMaxMs,
      },
      heldResults: this.unacked.size,
      hotCache: this.hotCache.list(),
      hotSkills: this.hotCache.hotSkills(),
      tasks: [...this.runs.values()].map((r) => ({
        id: r.assignment.taskId,
        type: r.assignment.type,
        attempt: r.assignment.attempt,
        startedAt: r.startedAt,
        progress: r.progress,
        cancelling: r.cancelRequestedAt !== null,
      })),
    };
  }

  private setState(state: WorkerState): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state);
  }

  private sendHello(): void {
    // Tasks still running and results not yet acknowledged are both "ours": the foreman keeps them.
    const running = [...this.runs.values()].map((r) => r.ref);
    for (const r of this.unacked.values()) running.push({ taskId: r.taskId, attempt: r.attempt });
    this.connection.send({
      kind: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      workerId: this.options.id,
      ...(this.sessionToken ? { sessionToken: this.sessionToken } : {}),
      ...(this.options.workerToken ? { authToken: this.options.workerToken } : {}),
      skills: [...this.handlers].map(([type, h]) => (h.group === type ? { type } : { type, group: h.group })),
      capacity: this.options.concurrency,
      groupLimits: this.options.limits,
      running,
      ...(this.statusUrl ? { statusUrl: this.statusUrl } : {}),
      meta: { hostname: hostname(), pid: process.pid, node: process.version },
      ...(this.hotCache.tracked ? { hotSkills: this.hotCache.hotSkills() } : {}),
    });
  }

  private onMessage(m: ForemanMessage): void {
    switch (m.kind) {
      case 'welcome': {
        this.registered = true;
        this.sessionToken = m.sessionToken;
        this.heartbeatIntervalMs = m.heartbeatIntervalMs;
        this.connection.established();
        this.outbox.setMaxFrameBytes(m.maxFrameBytes);
        this.idInUseTries = 0;
        for (const ref of m.revoked) {
          // By attempt, like task.cancel: a revoked older attempt (a held result) must not abort the newer one running.
          const run = this.runs.get(ref.taskId);
          if (run && run.assignment.attempt === ref.attempt) run.abort('REVOKED');
          this.unacked.delete(refKey(ref));
        }
        for (const r of this.unacked.values()) this.outbox.add('task.result', r);
        this.checkpoints.resend();
        this.heartbeats.start(this.heartbeatIntervalMs);
        if (this.draining) this.connection.send({ kind: 'worker.state', state: 'draining' });
        this.setState(this.draining ? 'draining' : 'ready');
        this.log.info({ foreman: this.connection.url, adopted: m.adopted.length, revoked: m.revoked.length }, 'registered with foreman');
        break;
      }
      case 'task.assign':
        for (const a of m.tasks) this.begin(a);
        this.emit('update');
        break;
      case 'task.cancel':
        for (const ref of m.tasks) {
          const run = this.runs.get(ref.taskId);
          if (run && run.assignment.attempt === ref.attempt) run.abort(m.reason === 'revoked' ? 'REVOKED' : 'CANCELLED');
          if (m.reason === 'revoked') this.unacked.delete(refKey(ref));
        }
        break;
      case 'task.ack':
        for (const a of m.results) {
          this.unacked.delete(refKey(a));
          if (!a.accepted) this.log.warn({ taskId: a.taskId, attempt: a.attempt, reason: a.reason }, 'foreman rejected a result');
        }
        this.checkIdle();
        break;
      case 'checkpoint.ack':
        for (const a of m.checkpoints) this.checkpoints.onAck(a);
        break;
      case 'worker.command':
        if (m.command === 'drain') void this.drain();
        else if (m.command === 'undrain') this.undrain();
        else void this.restart(m.mode ?? 'graceful');
        break;
      case 'error':
        this.log.warn({ code: m.code }, `foreman error: ${m.message}`);
        break;
      default: {
        const never: never = m;
        this.log.warn({ message: never }, 'unhandled message');
      }
    }
  }

  private begin(a: Assignment): void {
    if (this.draining || this.state === 'closed') {
      this.connection.send({ kind: 'task.release', tasks: [{ taskId: a.taskId, attempt: a.attempt }], reason: 'draining' });
      return;
    }
    const previous = this.runs.get(a.taskId);
    if (previous && previous.assignment.attempt >= a.attempt) return;
    // An older attempt of this task may still run here (revoked, but its handler ignores the abort):
    // the new attempt replaces it, and the old one's outcome is dropped when it finally returns.
    previous?.abort('REVOKED');
    const entry = this.handlers.get(a.type);
    if (!entry) {
      this.deliver({ taskId: a.taskId, attempt: a.attempt, outcome: 'failed', error: { code: 'NO_HANDLER', message: `no handler for ${a.type}`, retryable: true }, durationMs: 0 });
      return;
    }
    // Registered before the handler starts: a handler that returns at once ends inside start().
    const run = new TaskRun(a, entry.handler, this.runHooks);
    this.runs.set(a.taskId, run);
    run.start();
  }

  /** One hooks object for every run, so starting a task allocates no closures of its own. */
  private readonly runHooks: RunHooks = {
    onProgress: (r) => {
      if (this.runs.get(r.assignment.taskId) !== r || !r.progress) return;
      this.outbox.add('task.progress', { ...r.ref, ...r.progress });
      this.emit('update');
    },
    log: (r, message, fields) => {
      this.log.info({ ...fields, taskId: r.assignment.taskId, attempt: r.assignment.attempt }, message);
      (r.attemptLog ??= new AttemptLog(this.options.taskLogMaxLines, this.options.taskLogMaxBytes)).add(message, fields);
    },
    checkpoint: (r, state) => this.checkpoints.save(r.ref, state),
    upload: (r, path) => this.payloads.upload(path, r.signal),
    payloadDir: () => this.options.payloadDir,
    hotCache: () => this.hotCache,
    onDone: (run, outcome) => this.finished(run, outcome),
  };

  private finished(run: TaskRun, outcome: RunOutcome): void {
    const a = run.assignment;
    // A run handed back (released) or replaced no longer speaks for the task.
    if (this.runs.get(a.taskId) !== run) return;
    this.runs.delete(a.taskId);
    this.checkpoints.forget(run.ref);
    const durationMs = Date.now() - run.startedAt;
    // The attempt's ctx.log() lines travel with its result (none: no field, so a no-op task's result stays small).
    const logs = run.attemptLog?.take();
    const withLogs = logs ? { logs } : {};
    if (outcome.kind === 'succeeded') {
      this.stats.record(a.type, 'succeeded', durationMs);
      this.deliver(
        outcome.status
          ? { taskId: a.taskId, attempt: a.attempt, durationMs, outcome: 'succeeded', value: outcome.value, status: outcome.status, ...withLogs }
          : { taskId: a.taskId, attempt: a.attempt, durationMs, outcome: 'succeeded', value: outcome.value, ...withLogs },
      );
    } else if (outcome.kind === 'failed') {
      this.stats.record(a.type, 'failed', durationMs);
      this.stats.recordError(a.taskId, a.type, outcome.error.code, outcome.error.message);
      const { code, errorClass, retryable, message } = outcome.error;
      this.log.warn({ taskId: a.taskId, attempt: a.attempt, type: a.type, code, errorClass, retryable }, `task attempt failed: ${message}`);
      this.deliver({ taskId: a.taskId, attempt: a.attempt, durationMs, outcome: 'failed', error: outcome.error, ...withLogs });
    } else if (outcome.cause === 'CANCELLED') {
      this.stats.record(a.type, 'cancelled', durationMs);
      this.deliver({ taskId: a.taskId, attempt: a.attempt, durationMs, outcome: 'cancelled', ...withLogs });
    } else if (outcome.cause === 'SHUTDOWN') {
      this.connection.send({ kind: 'task.release', tasks: [run.ref], reason: 'shutdown' });
    }
    this.emit('update');
    this.checkIdle();
  }

  /** Holds a result until acknowledged, and sends it now if a session is up. */
  private deliver(result: TaskResult): void {
    if (this.unacked.size >= this.options.resultBufferSize) {
      const oldest = this.unacked.keys().next().value as string;
      this.unacked.delete(oldest);
      this.log.warn({ dropped: oldest }, 'result buffer full; dropped the oldest held result (its task will run again)');
    }
    this.unacked.set(refKey(result), result);
    if (this.registered && this.connection.isOpen) this.outbox.add('task.result', result);
  }

  /**
   * A result too large for any frame the foreman accepts would close the session (1009) on every
   * resend: it is replaced by a failure the foreman can take, which fails the task (not retried).
   */
  private resultTooLarge(result: TaskResult, bytes: number): void {
    const key = refKey(result);
    if (!this.unacked.has(key)) return;
    const message = `the result of task ${result.taskId} is ${bytes} bytes encoded, over the foreman's largest frame (maxFrameBytes)${BLOB_HINT}`;
    const failed: TaskResult = { taskId: result.taskId, attempt: result.attempt, outcome: 'failed', durationMs: result.durationMs, error: { code: 'PAYLOAD_TOO_LARGE', message, retryable: false } };
    this.unacked.set(key, failed);
    this.log.warn({ taskId: result.taskId, attempt: result.attempt, bytes }, message);
    this.outbox.add('task.result', failed);
  }

  /** Aborts every running task and hands it back to the foreman now, without waiting for handlers. */
  private releaseAll(reason: string): void {
    if (this.runs.size === 0) return;
    const refs: TaskRef[] = [];
    for (const run of this.runs.values()) {
      refs.push(run.ref);
      run.abort('SHUTDOWN');
    }
    this.runs.clear();
    this.connection.send({ kind: 'task.release', tasks: refs, reason });
    this.log.info({ count: refs.length, reason }, 'handed running tasks back to the foreman');
    this.emit('update');
  }

  private onDisconnect(code: number, reason: string, retryInMs: number, tries: number): void {
    this.registered = false;
    this.heartbeats.stop();
    this.outbox.clear();
    this.stats.reconnects++;
    if (this.state !== 'closed') this.setState('reconnecting');
    this.idInUseTries = code === CLOSE_CODES.workerIdInUse ? this.idInUseTries + 1 : 0;
    const refusal = refusalFor(code, this.options.id, this.idInUseTries, this.options.idInUseMaxTries);
    if (refusal) {
      // Retrying cannot fix this: stop, and let whoever started the worker say what to change.
      this.refusal = refusal;
      this.log.error({ code: refusal.code, closeCode: code }, refusal.message);
      this.emit('refused', refusal);
      void this.close();
    } else if (code === CLOSE_CODES.workerIdInUse) {
      this.log.warn({ code, tries: this.idInUseTries, maxTries: this.options.idInUseMaxTries }, `another live worker holds the id ${this.options.id}; retrying`);
    } else {
      this.log.warn({ code, reason, running: this.runs.size, held: this.unacked.size, retryInMs, tries }, 'lost the foreman; reconnecting');
    }
  }

  /** One beat of the heartbeat rhythm: the heartbeat, and a word about handlers that ignore their abort. */
  private beat(): void {
    this.sendHeartbeat();
    const now = Date.now();
    for (const run of this.runs.values()) {
      if (run.cancelRequestedAt !== null && now - run.cancelRequestedAt > this.options.cancelGraceMs) {
        this.log.warn({ taskId: run.assignment.taskId, sinceMs: now - run.cancelRequestedAt }, 'handler ignores its abort signal; its slot stays busy');
      }
    }
  }

  private sendHeartbeat(): void {
    const running = [...this.runs.values()].map((r) => r.ref);
    this.connection.send(
      this.hotCache.tracked
        ? { kind: 'heartbeat', running, draining: this.draining, hotSkills: this.hotCache.hotSkills() }
        : { kind: 'heartbeat', running, draining: this.draining },
    );
  }

  /** Tells the foreman about a load or unload soon, without waiting for the next heartbeat. */
  private hotCacheChanged(): void {
    this.emit('update');
    if (this.hotCache.tracked) this.heartbeats.soon();
  }

  private checkIdle(): void {
    if (this.runs.size > 0 || this.unacked.size > 0) return;
    for (const w of this.idleWaiters) w();
    this.idleWaiters.clear();
  }

  /** Resolves when nothing runs and nothing is held, or after `timeoutMs`. */
  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.runs.size === 0 && this.unacked.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.add(done);
    });
  }
}
