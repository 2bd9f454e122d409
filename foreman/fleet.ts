/**
 * The fleet: every worker the foreman knows, its session, what it runs, and
 * its liveness. A worker entry outlives its socket for the grace period, so
 * a worker that reconnects resumes its tasks under the same attempts.
 */
import { PROTOCOL_VERSION, CLOSE_CODES, type Checkpoint, type TaskRef, type WorkerMessage } from '../shared/protocol.js';
import { ProtocolError } from '../shared/errors.js';
import { newSecret } from '../shared/ids.js';
import type { ForemanOptions } from './options.js';
import type { Session, SessionHandler } from './session.js';
import type { TaskLedger } from './ledger.js';
import type { LiveTask } from './task-types.js';

/**
 * Worker state as the foreman judges it (from heartbeat freshness, not from what the worker claims):
 * - `active`: connected and heard from within `staleAfterMs`;
 * - `draining`: connected, asked for no new work;
 * - `stale`: connected but silent past `staleAfterMs`: gets no new work;
 * - `offline`: no socket; its tasks wait out the grace period, then go back to the queue.
 */
export type WorkerState = 'active' | 'draining' | 'stale' | 'offline';

export interface WorkerEntry {
  id: string;
  session: Session | null;
  sessionToken: string;
  state: WorkerState;
  draining: boolean;
  /** Task type → concurrency group. */
  skills: Map<string, string>;
  capacity: number;
  groupLimits: Record<string, number>;
  running: Map<string, LiveTask>;
  groupUsage: Map<string, number>;
  address: string | null;
  statusUrl: string | null;
  meta: Record<string, unknown>;
  connectedAt: number | null;
  disconnectedAt: number | null;
  /** Grace for this disconnection: `graceMs`, or `restartGraceMs` for workers known only from the store. */
  graceMs: number;
  lastSeenAt: number;
  lastHeartbeatAt: number | null;
  reconnects: number;
  missedHeartbeats: number;
  /** Task types whose models the worker has loaded, as its last hello or heartbeat said (foreman/hot-routing/). */
  hotSkills: readonly string[];
  /** A browser worker the foreman does not trust (`--trust-browser-workers` off): it runs quorum replicas only. */
  untrusted: boolean;
}

export interface FleetHooks {
  /** Some worker may have free slots now. */
  onCapacity(): void;
  onProtocolError(code: string, workerId: string | null, address: string, closeCode: number | null): void;
  /** A worker sent checkpoints for its attempts (foreman/checkpoints/ fences, stores and acknowledges them). */
  onCheckpoints(workerId: string, session: Session, checkpoints: Checkpoint[]): void;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

type Options = Pick<
  ForemanOptions,
  'heartbeatIntervalMs' | 'maxFrameBytes' | 'staleAfterMs' | 'leaseMs' | 'graceMs' | 'restartGraceMs' | 'offlineRetentionMs' | 'sweepIntervalMs'
>;

/** The fleet handles the sessions the SessionGuard admitted (it is their handler's inner half). */
export class Fleet implements Omit<SessionHandler, 'onTooLarge'> {
  readonly workers = new Map<string, WorkerEntry>();
  /** Whether any worker ever reported a hot type: until one does, dispatch skips hot-model routing entirely. */
  hotSkillsSeen = false;
  /** Returns false to refuse a worker's credentials; set by the auth layer. */
  authorize: (hello: Extract<WorkerMessage, { kind: 'hello' }>) => boolean = () => true;

  constructor(
    private readonly tasks: TaskLedger,
    private readonly options: Options,
    private readonly hooks: FleetHooks,
  ) {}

  /** Registers workers known only from the store (foreman restart): their running tasks wait `restartGraceMs`. */
  adoptOrphans(orphans: Map<string, LiveTask[]>, now: number): void {
    for (const [workerId, tasks] of orphans) {
      const entry = this.newEntry(workerId, now);
      entry.graceMs = this.options.restartGraceMs;
      entry.disconnectedAt = now;
      for (const t of tasks) this.addRunning(entry, t, null);
      this.workers.set(workerId, entry);
    }
  }

  /**
   * Set with a shared store (several foremen): fetches the worker's running tasks from the store and
   * takes them over before its hello is answered, since it may have run them under another foreman.
   * First it claims the worker id fleet-wide for a session under `sessionToken`; null means the id is
   * live on another foreman and `presentedSessionToken` is not that session's (WORKER_ID_IN_USE).
   */
  storedTasksOf: ((workerId: string, presentedSessionToken: string | null, sessionToken: string) => Promise<LiveTask[] | null>) | null = null;

  onHello(session: Session, hello: Extract<WorkerMessage, { kind: 'hello' }>): void {
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      return session.fail(new ProtocolError('UNSUPPORTED_VERSION', `this foreman speaks version ${PROTOCOL_VERSION}`));
    }
    if (!this.authorize(hello)) return session.fail(new ProtocolError('UNAUTHORIZED'));
    if (!this.storedTasksOf) return this.register(session, hello);
    // Checked before the store is asked, so a second socket under a live worker's id takes nothing over.
    if (this.idInUse(session, hello)) return;
    // Made here so the store can record it with the claim: a resume on another foreman presents it.
    const sessionToken = newSecret();
    this.storedTasksOf(hello.workerId, hello.sessionToken ?? null, sessionToken).then(
      (tasks) => {
        if (session.state === 'closed') return;
        if (tasks === null) return session.fail(new ProtocolError('WORKER_ID_IN_USE', `worker id ${hello.workerId} is connected to another foreman`));
        this.holdStored(hello.workerId, tasks, Date.now());
        this.register(session, hello, sessionToken);
      },
      (err) => {
        this.hooks.log.warn({ err, workerId: hello.workerId }, 'could not read the worker\'s tasks from the store; asking it to come back later');
        session.close(CLOSE_CODES.foremanShutdown, 'STORE_UNAVAILABLE');
      },
    );
  }

  private idInUse(session: Session, hello: Extract<WorkerMessage, { kind: 'hello' }>): boolean {
    const entry = this.workers.get(hello.workerId);
    if (!entry?.session || hello.sessionToken === entry.sessionToken) return false;
    session.fail(new ProtocolError('WORKER_ID_IN_USE', `worker id ${hello.workerId} is connected from ${entry.session.address}`));
    return true;
  }

  /** Makes `tasks` (as the store has them) exactly what this foreman counts as running on `workerId`. */
  private holdStored(workerId: string, tasks: LiveTask[], now: number): void {
    let entry = this.workers.get(workerId);
    if (!entry) {
      entry = this.newEntry(workerId, now);
      entry.disconnectedAt = now;
      this.workers.set(workerId, entry);
    }
    const stored = new Set(tasks);
    for (const t of [...entry.running.values()]) if (!stored.has(t)) this.removeRunning(entry, t.id);
    for (const t of tasks) if (entry.running.get(t.id) !== t) this.addRunning(entry, t, null);
  }

  /** Another foreman took this worker over (it said hello there): forget it here, closing a half-dead socket. */
  movedAway(workerId: string): void {
    const entry = this.workers.get(workerId);
    if (!entry) return;
    entry.session?.close(CLOSE_CODES.sessionReplaced, 'SESSION_REPLACED');
    this.workers.delete(workerId);
  }

  private register(session: Session, hello: Extract<WorkerMessage, { kind: 'hello' }>, sessionToken = newSecret()): void {
    const now = Date.now();
    let entry = this.workers.get(hello.workerId);
    if (entry?.session) {
      if (hello.sessionToken !== entry.sessionToken) {
        return session.fail(new ProtocolError('WORKER_ID_IN_USE', `worker id ${hello.workerId} is connected from ${entry.session.address}`));
      }
      // The same worker on a new socket (its old one is half-dead): the new socket wins.
      const old = entry.session;
      entry.session = null;
      old.close(CLOSE_CODES.sessionReplaced, 'SESSION_REPLACED');
    }
    if (!entry) {
      entry = this.newEntry(hello.workerId, now);
      this.workers.set(entry.id, entry);
    } else {
      entry.reconnects++;
    }
    session.workerId = entry.id;
    session.state = 'ready';
    entry.session = session;
    entry.sessionToken = sessionToken;
    entry.address = session.address;
    entry.statusUrl = hello.statusUrl ?? null;
    entry.meta = hello.meta ?? {};
    entry.untrusted = session.untrusted;
    entry.skills = new Map(hello.skills.map((s) => [s.type, s.group ?? s.type]));
    entry.capacity = hello.capacity;
    entry.groupLimits = hello.groupLimits;
    entry.hotSkills = hello.hotSkills ?? [];
    if (entry.hotSkills.length > 0) this.hotSkillsSeen = true;
    entry.connectedAt = now;
    entry.disconnectedAt = null;
    entry.lastSeenAt = now;
    entry.lastHeartbeatAt = now;
    entry.draining = false;
    entry.state = 'active';

    // Reconcile: keep what the worker still runs under a current attempt; revoke the rest; lose what it forgot.
    const adopted: TaskRef[] = [];
    const revoked: TaskRef[] = [];
    const kept = new Set<string>();
    for (const ref of hello.running) {
      if (this.tasks.owns(entry.id, ref)) {
        adopted.push(ref);
        kept.add(ref.taskId);
      } else if (!this.tasks.resultPending(entry.id, ref)) {
        // A result of this attempt taken but not yet durable is neither: the worker resends it and hears when it is.
        revoked.push(ref);
      }
    }
    const forgotten = [...entry.running.values()].filter((t) => !kept.has(t.id));
    for (const t of forgotten) this.removeRunning(entry, t.id);
    this.tasks.lose(forgotten, now);
    // Skills may have changed since these tasks were counted: recount the groups from scratch.
    const running = [...entry.running.values()];
    entry.running.clear();
    entry.groupUsage.clear();
    for (const t of running) this.addRunning(entry, t, null);
    for (const ref of adopted) {
      if (!entry.running.has(ref.taskId)) this.addRunning(entry, this.tasks.live.get(ref.taskId) as LiveTask, null);
    }
    session.send({
      kind: 'welcome',
      sessionId: session.id,
      sessionToken: entry.sessionToken,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      maxFrameBytes: this.options.maxFrameBytes,
      adopted,
      revoked,
    });
    const cancelling = [...entry.running.values()].filter((t) => t.state === 'cancelling');
    if (cancelling.length > 0) this.sendCancel(entry.id, cancelling.map((t) => ({ taskId: t.id, attempt: t.attempt })), 'cancelled');
    this.hooks.log.info(
      { workerId: entry.id, address: session.address, capacity: entry.capacity, skills: [...entry.skills.keys()], adopted: adopted.length, revoked: revoked.length },
      'worker registered',
    );
    this.hooks.onCapacity();
  }

  onMessage(session: Session, message: Exclude<WorkerMessage, { kind: 'hello' }>): void {
    const entry = this.workers.get(session.workerId as string);
    if (!entry || entry.session !== session) return;
    const now = Date.now();
    entry.lastSeenAt = now;
    switch (message.kind) {
      case 'heartbeat': {
        entry.lastHeartbeatAt = now;
        if (message.draining !== undefined && message.draining !== entry.draining) this.setDraining(entry, message.draining, now);
        if (message.hotSkills !== undefined) this.setHotSkills(entry, message.hotSkills);
        const foreign = message.running.filter((ref) => !this.tasks.owns(entry.id, ref));
        if (foreign.length > 0) session.send({ kind: 'task.cancel', tasks: foreign, reason: 'revoked' });
        break;
      }
      case 'task.result': {
        for (const r of message.results) {
          const reason = this.tasks.acceptResult(
            entry.id,
            r,
            now,
            () => session.outbox.add('task.ack', { taskId: r.taskId, attempt: r.attempt, accepted: true }),
            (refused) => session.outbox.add('task.ack', { taskId: r.taskId, attempt: r.attempt, accepted: false, reason: refused }),
          );
          // Only the accepted result ends the attempt that holds the slot: a late, duplicated or
          // forged one for another attempt of the same task must leave the live attempt counted.
          if (reason === null) this.removeRunning(entry, r.taskId);
          else session.outbox.add('task.ack', { taskId: r.taskId, attempt: r.attempt, accepted: false, reason });
        }
        this.hooks.onCapacity();
        break;
      }
      case 'task.progress': {
        for (const u of message.updates) this.tasks.progress(entry.id, u, u.fraction, u.message);
        break;
      }
      case 'task.release': {
        for (const t of this.tasks.release(entry.id, message.tasks, now)) this.removeRunning(entry, t.id);
        this.hooks.log.info({ workerId: entry.id, count: message.tasks.length, reason: message.reason }, 'worker released tasks');
        this.hooks.onCapacity();
        break;
      }
      case 'worker.state': {
        this.setDraining(entry, message.state === 'draining', now);
        break;
      }
      case 'task.checkpoint': {
        this.hooks.onCheckpoints(entry.id, session, message.checkpoints);
        break;
      }
      default: {
        const never: never = message;
        throw new Error(`unhandled message ${(never as { kind: string }).kind}`);
      }
    }
  }

  onClose(session: Session, code: number): void {
    const entry = session.workerId ? this.workers.get(session.workerId) : undefined;
    if (!entry || entry.session !== session) return;
    entry.session = null;
    entry.state = 'offline';
    entry.disconnectedAt = Date.now();
    entry.graceMs = this.options.graceMs;
    this.hooks.log.info({ workerId: entry.id, code, running: entry.running.size }, 'worker disconnected');
  }

  onProtocolError(session: Session, code: string, closeCode: number | null): void {
    this.hooks.onProtocolError(code, session.workerId ?? session.claimedWorkerId, session.address, closeCode);
  }

  /**
   * An assignment too large for any frame never reached the worker: its attempt fails with
   * PAYLOAD_TOO_LARGE (not retried: it would be just as large next time) instead of being
   * lost and reassigned until TOO_MANY_LOSSES. It goes through the result path, so the slot is freed.
   */
  failUnsendable(session: Session, ref: TaskRef, message: string): void {
    const entry = session.workerId ? this.workers.get(session.workerId) : undefined;
    if (!entry || entry.session !== session) return;
    const failed = { ...ref, outcome: 'failed' as const, durationMs: 0, error: { code: 'PAYLOAD_TOO_LARGE', message, retryable: false } };
    if (this.tasks.acceptResult(entry.id, failed, Date.now(), () => {}) === null) this.removeRunning(entry, ref.taskId);
    this.hooks.log.warn({ workerId: entry.id, taskId: ref.taskId, attempt: ref.attempt }, message);
    this.hooks.onCapacity();
  }

  /** Closes a worker's live session (token revoked, operator request). Returns false when it is not connected. */
  disconnect(workerId: string, code: number, reason: string): boolean {
    const session = this.workers.get(workerId)?.session;
    if (!session) return false;
    session.close(code, reason);
    return true;
  }

  /** Pushes a cancel for these attempts to the worker, if it is connected (a resuming worker gets it on hello). */
  sendCancel(workerId: string, refs: TaskRef[], reason: 'cancelled' | 'revoked'): void {
    this.workers.get(workerId)?.session?.send({ kind: 'task.cancel', tasks: refs, reason });
  }

  /** Asks a connected worker to restart its session, drain, or undrain. Returns false when it is not connected. */
  command(workerId: string, command: 'restart' | 'drain' | 'undrain', mode?: 'graceful' | 'hard'): boolean {
    const session = this.workers.get(workerId)?.session;
    if (!session) return false;
    session.send(mode ? { kind: 'worker.command', command, mode } : { kind: 'worker.command', command });
    return true;
  }

  /**
   * The liveness sweep: pings sockets, marks silent workers stale, takes the
   * tasks of workers past their lease or grace, and forgets long-gone workers.
   */
  sweep(now: number, pingSockets: boolean): void {
    for (const entry of this.workers.values()) {
      if (entry.session) {
        const silentMs = now - entry.lastSeenAt;
        if (silentMs > this.options.leaseMs) {
          this.hooks.log.warn({ workerId: entry.id, silentMs, running: entry.running.size }, 'worker lease expired; requeueing its tasks');
          this.loseAll(entry, now);
          entry.session.close(CLOSE_CODES.leaseExpired, 'LEASE_EXPIRED');
          continue;
        }
        // Quiet for a heartbeat and one sweep more: its heartbeat is late, so ask the socket.
        const quietMs = this.options.heartbeatIntervalMs + this.options.sweepIntervalMs;
        if (pingSockets && !entry.session.ping(now, this.options.staleAfterMs, quietMs)) continue;
        const before = entry.state;
        this.refreshState(entry, now);
        if (before !== 'stale' && entry.state === 'stale') entry.missedHeartbeats++;
        if (before === 'stale' && entry.state !== 'stale') this.hooks.onCapacity();
      } else if (entry.disconnectedAt !== null) {
        const goneMs = now - entry.disconnectedAt;
        if (entry.running.size > 0 && goneMs > entry.graceMs) {
          this.hooks.log.warn({ workerId: entry.id, running: entry.running.size }, 'worker did not return within grace; requeueing its tasks');
          this.loseAll(entry, now);
        }
        if (entry.running.size === 0 && goneMs > this.options.offlineRetentionMs) this.workers.delete(entry.id);
      }
    }
  }

  /**
   * Runs the lease and grace checks now, as if every silent worker's time were up: the tasks
   * of stale workers and of disconnected workers still inside their grace are requeued.
   * Returns how many tasks were requeued.
   */
  requeueStale(now: number): number {
    let n = 0;
    for (const entry of this.workers.values()) {
      const expired = entry.session ? now - entry.lastSeenAt > this.options.staleAfterMs : entry.disconnectedAt !== null;
      if (!expired || entry.running.size === 0) continue;
      n += entry.running.size;
      this.loseAll(entry, now);
      entry.session?.close(CLOSE_CODES.leaseExpired, 'LEASE_EXPIRED');
    }
    return n;
  }

  /** Workers that can take work now: connected, active, with a free slot. */
  dispatchable(): WorkerEntry[] {
    const out: WorkerEntry[] = [];
    for (const e of this.workers.values()) {
      if (e.session && e.state === 'active' && !e.draining && e.running.size < e.capacity) out.push(e);
    }
    return out;
  }

  /** Whether some connected worker handles `type`. */
  hasSkill(type: string): boolean {
    for (const e of this.workers.values()) if (e.session && e.skills.has(type)) return true;
    return false;
  }

  /** Whether `entry` may start one more task of `group`. */
  groupHasRoom(entry: WorkerEntry, group: string): boolean {
    const limit = entry.groupLimits[group];
    return limit === undefined || (entry.groupUsage.get(group) ?? 0) < limit;
  }

  addRunning(entry: WorkerEntry, task: LiveTask, group: string | null): void {
    entry.running.set(task.id, task);
    const g = group ?? entry.skills.get(task.type) ?? task.type;
    entry.groupUsage.set(g, (entry.groupUsage.get(g) ?? 0) + 1);
  }

  removeRunning(entry: WorkerEntry, taskId: string): void {
    const task = entry.running.get(taskId);
    if (!task) return;
    entry.running.delete(taskId);
    const g = entry.skills.get(task.type) ?? task.type;
    const n = (entry.groupUsage.get(g) ?? 1) - 1;
    if (n <= 0) entry.groupUsage.delete(g);
    else entry.groupUsage.set(g, n);
  }

  /** Closes every session with `code` (foreman shutdown). */
  closeAll(code: number, reason: string): void {
    for (const e of this.workers.values()) e.session?.close(code, reason);
  }

  private loseAll(entry: WorkerEntry, now: number): void {
    const tasks = [...entry.running.values()];
    entry.running.clear();
    entry.groupUsage.clear();
    this.tasks.lose(tasks, now);
  }

  /** `worker.state` and `heartbeat.draining` both land here, so leaving drain either way dispatches at once. */
  private setDraining(entry: WorkerEntry, draining: boolean, now: number): void {
    entry.draining = draining;
    this.refreshState(entry, now);
    if (!draining) this.hooks.onCapacity();
  }

  private refreshState(entry: WorkerEntry, now: number): void {
    if (!entry.session) entry.state = 'offline';
    else if (now - entry.lastSeenAt > this.options.staleAfterMs) entry.state = 'stale';
    else entry.state = entry.draining ? 'draining' : 'active';
  }

  /** A worker loaded or unloaded a model: a task that waits for a hot worker may now have one. */
  private setHotSkills(entry: WorkerEntry, hotSkills: readonly string[]): void {
    const before = entry.hotSkills;
    if (before.length === hotSkills.length && hotSkills.every((t) => before.includes(t))) return;
    entry.hotSkills = hotSkills;
    if (hotSkills.length > 0) this.hotSkillsSeen = true;
    this.hooks.onCapacity();
  }

  private newEntry(id: string, now: number): WorkerEntry {
    return {
      id, session: null, sessionToken: newSecret(), state: 'offline', draining: false, skills: new Map(), capacity: 0,
      groupLimits: {}, running: new Map(), groupUsage: new Map(), address: null, statusUrl: null, meta: {}, hotSkills: [], untrusted: false,
      connectedAt: null, disconnectedAt: null, graceMs: this.options.graceMs, lastSeenAt: now, lastHeartbeatAt: null,
      reconnects: 0, missedHeartbeats: 0,
    };
  }
}
