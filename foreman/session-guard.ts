/**
 * The gate in front of the fleet for worker sockets: how many may be open
 * (in all and per address), who may say hello (tokens), and how big a result
 * may be. It sits between each Session and the Fleet as the session's
 * handler, so the fleet only ever sees admitted, authenticated peers.
 *
 * Sockets that have not said a valid hello are counted apart from registered
 * sessions, with their own small limits: strangers holding silent sockets can
 * fill only the waiting room, never the seats of registered workers.
 */
import { ProtocolError } from '../shared/errors.js';
import type { TaskResult, WorkerMessage } from '../shared/protocol.js';
import { isBrowserHello, type WorkerAuth } from './auth/worker-auth.js';
import type { BatchItem, BatchKind } from '../shared/outbox.js';
import type { Fleet } from './fleet.js';
import type { ForemanOptions } from './options.js';
import type { Session, SessionHandler } from './session.js';
import { BLOB_HINT } from '../shared/blob-ref.js';
import { valueProblem } from './value-limits.js';

type Limits = Pick<
  ForemanOptions,
  'maxSessions' | 'maxSessionsPerAddress' | 'trustBrowserWorkers' | 'maxPreHelloSockets' | 'maxPreHelloSocketsPerAddress' | 'maxResultBytes' | 'maxValueDepth' | 'maxFrameBytes'
>;

/** Largest `hello.meta`, encoded, in bytes: it is kept for every worker and served in /workers, and is meant for a few labels. */
export const MAX_META_BYTES = 64 * 1024;

export interface SessionGuardHooks {
  /** A socket was refused (or displaced from the waiting room) for want of room; `reason` is TOO_MANY_SESSIONS. */
  onRefused(reason: 'TOO_MANY_SESSIONS', address: string): void;
  /** A result carried the attempt's ctx.log() lines; they are handed over here and not passed on to the fleet. */
  onAttemptLogs?(taskId: string, attempt: number, workerId: string | null, lines: string[]): void;
}

/** Registered sessions counted in all and per address. */
class SessionCount {
  total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Why one more from `address` does not fit, or null when it does. */
  full(address: string): string | null {
    if (this.total >= this.max) return `${this.total} sessions are open`;
    const n = this.byAddress.get(address) ?? 0;
    return n >= this.maxPerAddress ? `${n} sessions are open from ${address}` : null;
  }

  add(address: string): void {
    this.total++;
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
  }

  remove(address: string): void {
    this.total--;
    const n = (this.byAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.byAddress.delete(address);
    else this.byAddress.set(address, n);
  }
}

/**
 * Sockets that have not said a valid hello, oldest first, in all and per address. When it is full,
 * the newcomer is let in and the oldest one (of its address, else of all) is closed: a worker says
 * hello within a round trip, so only a socket that has sat silent is ever closed, and silent
 * sockets cannot keep a real worker out, even one from their own address.
 */
class WaitingRoom {
  private readonly all = new Set<Session>();
  private readonly byAddress = new Map<string, Set<Session>>();

  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** Lets `session` in; returns the session it displaced and why, or null. */
  enter(session: Session): { displaced: Session; detail: string } | null {
    let here = this.byAddress.get(session.address);
    let displaced: { displaced: Session; detail: string } | null = null;
    if (here && here.size >= this.maxPerAddress) {
      displaced = { displaced: here.values().next().value as Session, detail: `the oldest of ${here.size} sockets without hello from ${session.address} gives way to a newer one` };
    } else if (this.all.size >= this.max) {
      displaced = { displaced: this.all.values().next().value as Session, detail: `the oldest of ${this.all.size} sockets without hello gives way to a newer one` };
    }
    if (displaced) this.leave(displaced.displaced);
    if (!here) this.byAddress.set(session.address, (here = new Set()));
    here.add(session);
    this.all.add(session);
    return displaced;
  }

  /** Returns whether `session` was waiting. */
  leave(session: Session): boolean {
    if (!this.all.delete(session)) return false;
    const here = this.byAddress.get(session.address);
    here?.delete(session);
    if (here?.size === 0) this.byAddress.delete(session.address);
    return true;
  }
}

export class SessionGuard implements SessionHandler {
  /** Sockets that have not said a valid hello yet. */
  private readonly waiting: WaitingRoom;
  /** Sessions that said a valid hello. */
  private readonly registered: SessionCount;
  private readonly registeredSessions = new WeakSet<Session>();

  constructor(
    private readonly fleet: Fleet,
    private readonly auth: WorkerAuth,
    private readonly limits: Limits,
    private readonly hooks: SessionGuardHooks,
  ) {
    this.waiting = new WaitingRoom(limits.maxPreHelloSockets, limits.maxPreHelloSocketsPerAddress);
    this.registered = new SessionCount(limits.maxSessions, limits.maxSessionsPerAddress);
  }

  /** Worker sockets open now, registered or not. */
  get open(): number {
    return this.waiting.size + this.registered.total;
  }

  /** Counts a new socket in among those waiting for hello, closing the oldest silent one if the room is full. */
  admit(session: Session): void {
    const displaced = this.waiting.enter(session);
    if (displaced) this.refuse(displaced.displaced, displaced.detail);
  }

  onHello(session: Session, hello: Extract<WorkerMessage, { kind: 'hello' }>): void {
    const grant = this.auth.check(hello);
    // Refused before anything else is looked at, so an unauthenticated peer learns nothing about the fleet.
    if (!grant) return session.fail(new ProtocolError('UNAUTHORIZED'));
    const metaProblem = valueProblem('hello.meta', hello.meta, { maxBytes: MAX_META_BYTES, maxDepth: this.limits.maxValueDepth, bytesOption: 'MAX_META_BYTES' });
    if (metaProblem) return session.fail(new ProtocolError('INVALID_MESSAGE', metaProblem.message));
    const full = this.registered.full(session.address);
    if (full) return this.refuse(session, full);
    this.waiting.leave(session);
    this.registered.add(session.address);
    this.registeredSessions.add(session);
    this.auth.admit(session, grant);
    session.untrusted = (grant.kind === 'browser' || isBrowserHello(hello)) && !this.limits.trustBrowserWorkers;
    this.fleet.onHello(session, hello);
  }

  onMessage(session: Session, message: Exclude<WorkerMessage, { kind: 'hello' }>): void {
    if (message.kind === 'task.result') {
      message = { ...message, results: message.results.map((r) => this.limitResult(session, this.takeLogs(session, r))) };
    } else if (message.kind === 'task.progress' && message.updates.some((u) => !(u.fraction >= 0 && u.fraction <= 1))) {
      // A fraction outside [0, 1] is clamped (PROTOCOL.md): progress is a hint, not worth an error.
      message = { ...message, updates: message.updates.map((u) => ({ ...u, fraction: Math.min(1, Math.max(0, u.fraction)) })) };
    }
    this.fleet.onMessage(session, message);
  }

  /** Hands an attempt's log lines to their store and returns the result without them. */
  private takeLogs(session: Session, r: TaskResult): TaskResult {
    if (r.logs === undefined) return r;
    const { logs, ...rest } = r;
    this.hooks.onAttemptLogs?.(r.taskId, r.attempt, session.workerId, logs);
    return rest;
  }

  onClose(session: Session, code: number): void {
    if (!this.waiting.leave(session) && this.registeredSessions.delete(session)) this.registered.remove(session.address);
    this.fleet.onClose(session, code);
  }

  private refuse(session: Session, detail: string): void {
    session.fail(new ProtocolError('TOO_MANY_SESSIONS', detail));
    this.hooks.onRefused('TOO_MANY_SESSIONS', session.address);
  }

  onProtocolError(session: Session, code: string, closeCode: number | null): void {
    this.fleet.onProtocolError(session, code, closeCode);
  }

  onTooLarge<K extends BatchKind>(session: Session, kind: K, item: BatchItem<K>, bytes: number): void {
    // Only an assignment can outgrow a frame (params up to maxParamsBytes); acks are tiny.
    if (kind !== 'task.assign') return;
    const a = item as BatchItem<'task.assign'>;
    const message = `the assignment of task ${a.taskId} is ${bytes} bytes encoded, over the largest frame of ${this.limits.maxFrameBytes} bytes (maxFrameBytes)`;
    this.fleet.failUnsendable(session, { taskId: a.taskId, attempt: a.attempt }, message);
  }

  /**
   * An oversized (or too deeply nested) result fails its task (not retried: the same handler would
   * produce it again) instead of being stored. The worker is told with an
   * error frame, and its result is still acknowledged, so it stops holding it.
   */
  private limitResult(session: Session, r: TaskResult): TaskResult {
    const problem = valueProblem(`result of task ${r.taskId}`, r.value, { maxBytes: this.limits.maxResultBytes, maxDepth: this.limits.maxValueDepth, bytesOption: 'maxResultBytes', sizeHint: BLOB_HINT });
    if (problem === null) return r;
    const { message } = problem;
    session.sendError('PAYLOAD_TOO_LARGE', message);
    this.fleet.onProtocolError(session, 'PAYLOAD_TOO_LARGE', null);
    return { taskId: r.taskId, attempt: r.attempt, outcome: 'failed', durationMs: r.durationMs, error: { code: 'PAYLOAD_TOO_LARGE', message, retryable: false } };
  }
}
