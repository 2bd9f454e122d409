/**
 * The client channel (`CLIENT_WS_PATH`): one WebSocket per client on which it
 * submits tasks and has their settlements pushed, with no HTTP request per
 * task. Authenticated like the HTTP API (the API token, in the Authorization
 * header or, for browsers, `?token=`), checked like a worker's frames, and
 * bounded by the same limits (frame size, message rate, params size and depth).
 *
 * Tasks submitted on the channel are watched at once; `client.watch` adds
 * tasks submitted elsewhere. One listener on the foreman's settlements serves
 * every session: a settlement costs one map lookup.
 */
import type { FastifyInstance } from 'fastify';
import { encodeMessage } from '../../shared/codec.js';
import { CLIENT_WS_PATH, CLOSE_CODES, type ClientMessage, type SettledPush, type SubmitRequest } from '../../shared/protocol.js';
import type { ApiContext } from '../http/context.js';
import type { SettledTask } from '../ledger.js';
import type { TaskInput } from '../task-types.js';
import { isSettled } from '../task-types.js';
import { valueProblem } from '../value-limits.js';
import { ClientSession } from './client-session.js';

function pushOf(t: Pick<SettledTask, 'id' | 'state' | 'status' | 'result' | 'error' | 'attempt'>): SettledPush {
  const push: SettledPush = { taskId: t.id, state: t.state, status: t.status, attempt: t.attempt };
  if (t.state === 'succeeded') push.result = t.result;
  else if (t.error) push.error = { code: t.error.code, message: t.error.message, retryable: t.error.retryable };
  return push;
}

export class ClientChannel {
  private readonly sessions = new Set<ClientSession>();
  private readonly watchers = new Map<string, ClientSession | Set<ClientSession>>();
  private readonly onSettled = (t: SettledTask) => this.settled(t);
  private listening = false;

  constructor(
    private readonly ctx: ApiContext,
    private readonly onProtocolError: (code: string, address: string) => void,
  ) {}

  /** Registers the WebSocket route on `app` (after the auth hook, which admits only the API token). */
  route(app: FastifyInstance): void {
    const { options } = this.ctx;
    app.get(CLIENT_WS_PATH, { websocket: true, schema: { hide: true } }, (socket, req) => {
      const address = req.socket.remoteAddress ?? 'unknown';
      let fromAddress = 0;
      for (const s of this.sessions) if (s.address === address) fromAddress++;
      if (fromAddress >= options.maxClientSocketsPerAddress) {
        socket.send(encodeMessage({ kind: 'error', code: 'TOO_MANY_SESSIONS', message: `more than ${options.maxClientSocketsPerAddress} client sockets from ${address} (maxClientSocketsPerAddress)`, retryable: true }));
        socket.close(CLOSE_CODES.tooManySessions, 'TOO_MANY_SESSIONS');
        return;
      }
      const session = new ClientSession(socket, address, {
        onMessage: (s, m) => this.onMessage(s, m),
        onClose: (s) => this.drop(s),
        onProtocolError: this.onProtocolError,
      }, { maxProtocolErrors: options.maxProtocolErrors, maxMessagesPerSecond: options.maxMessagesPerSecond });
      this.sessions.add(session);
    });
  }

  /** Clients connected now. */
  get size(): number {
    return this.sessions.size;
  }

  /** Closes every client socket (the foreman is shutting down) and stops listening. Idempotent. */
  close(): void {
    this.listen(false);
    for (const s of [...this.sessions]) s.close(CLOSE_CODES.foremanShutdown, 'FOREMAN_SHUTDOWN');
    this.sessions.clear();
    this.watchers.clear();
  }

  private onMessage(session: ClientSession, message: ClientMessage): void {
    switch (message.kind) {
      case 'client.submit':
        void this.submit(session, message.tasks);
        break;
      case 'client.watch':
        for (const id of message.taskIds) void this.watchExisting(session, id);
        break;
      default: {
        const never: never = message;
        throw new Error(`unhandled client message ${(never as { kind: string }).kind}`);
      }
    }
  }

  /** Submits the frame's tasks together (one commit); a refused task is answered alone and the rest still go. */
  private async submit(session: ClientSession, requests: SubmitRequest[]): Promise<void> {
    const { maxParamsBytes, maxValueDepth } = this.ctx.options;
    const valid: Array<{ ref: number; input: TaskInput }> = [];
    requests.forEach((r, i) => {
      const field = `tasks/${i}/params`;
      const problem = valueProblem(field, r.params, { maxBytes: maxParamsBytes, maxDepth: maxValueDepth, bytesOption: 'maxParamsBytes' });
      if (problem) {
        session.accept({ ref: r.ref, error: { code: problem.kind === 'depth' ? 'PARAMS_TOO_DEEP' : 'PAYLOAD_TOO_LARGE', message: problem.message, field } });
        return;
      }
      const { ref, ...input } = r;
      valid.push({ ref, input });
    });
    if (valid.length === 0) return;
    let ids: string[];
    try {
      ids = await this.ctx.tasks.submit(valid.map((v) => v.input), null);
    } catch (err) {
      // One task's key conflicts (or the like): submit each alone, so only that one is refused.
      if (valid.length > 1) {
        for (const v of valid) void this.submit(session, [{ ref: v.ref, ...v.input }]);
        return;
      }
      const e = err as { code?: string; message?: string; field?: string };
      session.accept({ ref: valid[0].ref, error: { code: e.code ?? 'INTERNAL', message: e.message ?? 'submit failed', ...(e.field ? { field: e.field } : {}) } });
      return;
    }
    for (let i = 0; i < valid.length; i++) {
      session.accept({ ref: valid[i].ref, taskId: ids[i] });
      // A new task cannot have settled yet; a key may name an older task that has.
      if (valid[i].input.key === undefined) this.watch(session, ids[i]);
      else void this.watchExisting(session, ids[i]);
    }
  }

  private watch(session: ClientSession, id: string): void {
    if (session.closed) return;
    session.watching.add(id);
    const current = this.watchers.get(id);
    this.listen(true);
    if (current === undefined) this.watchers.set(id, session);
    else if (current instanceof Set) current.add(session);
    else if (current !== session) this.watchers.set(id, new Set([current, session]));
  }

  /** Watches a task that may have settled already: subscribed first, then read, so nothing falls in between. */
  private async watchExisting(session: ClientSession, id: string): Promise<void> {
    this.watch(session, id);
    const row = this.ctx.tasks.live.has(id) ? null : await this.ctx.store.getTask(id);
    if (row === null && !this.ctx.tasks.live.has(id) && session.watching.delete(id)) {
      this.unwatch(session, id);
      session.unknownTask(id);
      return;
    }
    if (row && isSettled(row.state) && !this.ctx.tasks.live.has(id) && session.watching.delete(id)) {
      this.unwatch(session, id);
      session.push(pushOf({ ...row, state: row.state as SettledTask['state'], status: row.status ?? (row.state === 'succeeded' ? 'succeeded' : null) }));
    }
  }

  /**
   * Listens to settlements only while some task is watched: on PostgreSQL a 'settled' listener makes
   * the foreman fetch the rows other foremen settle (pg-store.ts), which nobody needs otherwise.
   */
  private listen(on: boolean): void {
    if (on === this.listening) return;
    this.listening = on;
    if (on) this.ctx.events.on('settled', this.onSettled);
    else this.ctx.events.off('settled', this.onSettled);
  }

  private settled(t: SettledTask): void {
    const w = this.watchers.get(t.id);
    if (w === undefined) return;
    this.watchers.delete(t.id);
    if (this.watchers.size === 0) this.listen(false);
    const push = pushOf(t);
    for (const s of w instanceof Set ? w : [w]) {
      s.watching.delete(t.id);
      s.push(push);
    }
  }

  private unwatch(session: ClientSession, id: string): void {
    const w = this.watchers.get(id);
    if (w === session) this.watchers.delete(id);
    else if (w instanceof Set) {
      w.delete(session);
      if (w.size === 0) this.watchers.delete(id);
    }
    if (this.watchers.size === 0) this.listen(false);
  }

  private drop(session: ClientSession): void {
    this.sessions.delete(session);
    for (const id of session.watching) this.unwatch(session, id);
    session.watching.clear();
  }
}
