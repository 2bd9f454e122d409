/**
 * The gate in front of the fleet for worker sockets: how many may be open
 * (in all and per address), who may say hello (tokens), and how big a result
 * may be. It sits between each Session and the Fleet as the session's
 * handler, so the fleet only ever sees admitted, authenticated peers.
 */
import type { WebSocket } from 'ws';
import { encodeMessage } from '../shared/codec.js';
import { PROTOCOL_ERRORS, ProtocolError } from '../shared/errors.js';
import { CLOSE_CODES, type TaskResult, type WorkerMessage } from '../shared/protocol.js';
import type { WorkerAuth } from './auth/worker-auth.js';
import type { BatchItem, BatchKind } from '../shared/outbox.js';
import type { Fleet } from './fleet.js';
import type { ForemanOptions } from './options.js';
import type { Session, SessionHandler } from './session.js';
import { BLOB_HINT } from '../shared/blob-ref.js';
import { valueProblem } from './value-limits.js';

type Limits = Pick<ForemanOptions, 'maxSessions' | 'maxSessionsPerAddress' | 'maxResultBytes' | 'maxValueDepth' | 'maxFrameBytes'>;

/** Largest `hello.meta`, encoded, in bytes: it is kept for every worker and served in /workers, and is meant for a few labels. */
export const MAX_META_BYTES = 64 * 1024;

export interface SessionGuardHooks {
  /** A socket was refused before it became a session; `reason` is TOO_MANY_SESSIONS. */
  onRefused(reason: 'TOO_MANY_SESSIONS', address: string): void;
}

export class SessionGuard implements SessionHandler {
  /** Worker sockets open now (sessions, whether or not they said hello). */
  open = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly fleet: Fleet,
    private readonly auth: WorkerAuth,
    private readonly limits: Limits,
    private readonly hooks: SessionGuardHooks,
  ) {}

  /**
   * Counts a new socket in, or refuses it with TOO_MANY_SESSIONS (4013) when a
   * cap is reached. Returns whether the caller may build a Session on it.
   */
  admit(socket: WebSocket, address: string): boolean {
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.open >= this.limits.maxSessions || fromAddress >= this.limits.maxSessionsPerAddress) {
      const detail = this.open >= this.limits.maxSessions ? `${this.open} sessions are open` : `${fromAddress} sessions are open from ${address}`;
      socket.send(encodeMessage({ kind: 'error', code: 'TOO_MANY_SESSIONS', message: `${PROTOCOL_ERRORS.TOO_MANY_SESSIONS.message}: ${detail}`, retryable: true }));
      socket.close(CLOSE_CODES.tooManySessions, 'TOO_MANY_SESSIONS');
      // A refused peer that ignores the close handshake must not keep its socket either.
      setTimeout(() => socket.terminate(), 2000).unref();
      this.hooks.onRefused('TOO_MANY_SESSIONS', address);
      return false;
    }
    this.open++;
    this.perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      this.open--;
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, n);
    });
    return true;
  }

  onHello(session: Session, hello: Extract<WorkerMessage, { kind: 'hello' }>): void {
    const grant = this.auth.check(hello);
    // Refused before anything else is looked at, so an unauthenticated peer learns nothing about the fleet.
    if (!grant) return session.fail(new ProtocolError('UNAUTHORIZED'));
    const metaProblem = valueProblem('hello.meta', hello.meta, { maxBytes: MAX_META_BYTES, maxDepth: this.limits.maxValueDepth, bytesOption: 'MAX_META_BYTES' });
    if (metaProblem) return session.fail(new ProtocolError('INVALID_MESSAGE', metaProblem.message));
    this.auth.admit(session, grant);
    this.fleet.onHello(session, hello);
  }

  onMessage(session: Session, message: Exclude<WorkerMessage, { kind: 'hello' }>): void {
    if (message.kind === 'task.result') {
      message = { ...message, results: message.results.map((r) => this.limitResult(session, r)) };
    }
    this.fleet.onMessage(session, message);
  }

  onClose(session: Session, code: number): void {
    this.fleet.onClose(session, code);
  }

  onProtocolError(session: Session, code: string): void {
    this.fleet.onProtocolError(session, code);
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
    this.fleet.onProtocolError(session, 'PAYLOAD_TOO_LARGE');
    return { taskId: r.taskId, attempt: r.attempt, outcome: 'failed', durationMs: r.durationMs, error: { code: 'PAYLOAD_TOO_LARGE', message, retryable: false } };
  }
}
