/**
 * The client's push channel: one WebSocket to the foreman (CLIENT_WS_PATH), in
 * the workers' codec (msgpack frames checked against shared/protocol.ts), on
 * which tasks are submitted and their settlements pushed, with no HTTP request
 * per task. Submissions made in the same turn share one frame.
 *
 * Uses the global WebSocket where there is one (browsers, Node 22), else the
 * `ws` package (Node 20), which can also send the token as a header. The
 * socket does not keep a Node process alive while nothing is pending, so a
 * program that forgets `client.close()` still exits.
 *
 * If the socket closes, submissions not yet accepted reject (they may or may
 * not have been taken: give tasks a `key` to resubmit safely); waits carry on
 * over HTTP long polls.
 */
import { decodeMessage, encodeMessage } from '../shared/codec.js';
import { API_ERRORS, GafferError } from '../shared/errors.js';
import { CLIENT_WS_PATH, FOREMAN_CLIENT_KINDS, type ForemanClientMessage, type SettledPush, type SubmitRequest } from '../shared/protocol.js';
import { ApiError } from './errors.js';
import type { Http } from './http.js';
import type { SettleSource } from './task-handle.js';
import type { TaskView } from './types.js';

/** Settlements kept for tasks nobody awaits yet; past this the oldest go (a later wait asks the foreman again). */
const EARLY_MAX = 10_000;
/** Tasks per submit frame. */
const MAX_ITEMS_PER_FRAME = 1000;

/** What the channel needs of a WebSocket: the part the browser's and ws's share. */
interface Socket {
  binaryType: string;
  readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (ev: any) => void): void;
  /** ws only: the TCP socket, to unref while idle. */
  _socket?: { ref(): void; unref(): void };
}

type SocketFactory = (url: string, token: string | null) => Promise<Socket>;

/** Opens a socket with the global WebSocket (token in the query string) or with `ws` (token in a header). */
const openSocket: SocketFactory = async (url, token) => {
  const Global = (globalThis as { WebSocket?: new (url: string) => Socket }).WebSocket;
  if (Global) return new Global(token ? `${url}?token=${encodeURIComponent(token)}` : url);
  // A variable specifier: bundlers for the browser must not try to include `ws`.
  const name = 'ws';
  const ws = (await import(name)) as { default: new (url: string, opts: object) => Socket };
  return new ws.default(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
};

/** The channel closed or could not open. */
export class ChannelClosedError extends GafferError {
  /** @param sent whether the requests it fails may have reached the foreman (false: the socket never opened). */
  constructor(
    message: string,
    readonly sent = true,
  ) {
    super('PUSH_CHANNEL_CLOSED', message);
    this.name = 'ChannelClosedError';
  }
}

interface Waiter {
  resolve(push: SettledPush): void;
  reject(err: unknown): void;
}

export class PushChannel implements SettleSource {
  private socket: Socket | null = null;
  private opening: Promise<Socket> | null = null;
  private nextRef = 1;
  private queued: SubmitRequest[] = [];
  private readonly submits = new Map<number, { resolve(id: string): void; reject(err: unknown): void }>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly early = new Map<string, SettledPush>();
  /** Tasks the foreman watches for this socket already (submitted on it, or asked for), until they settle. */
  private readonly watched = new Set<string>();
  private closed = false;

  constructor(
    private readonly http: Http,
    private readonly fallback: SettleSource,
    private readonly open: SocketFactory = openSocket,
  ) {}

  /** Submits one task; resolves with its id once the foreman has made it durable. */
  submit(task: Omit<SubmitRequest, 'ref'>): Promise<string> {
    if (this.closed) return Promise.reject(new ChannelClosedError('the client is closed'));
    const ref = this.nextRef++;
    const accepted = new Promise<string>((resolve, reject) => this.submits.set(ref, { resolve, reject }));
    if (this.queued.length === 0) queueMicrotask(() => void this.flush());
    this.queued.push({ ref, ...task } as SubmitRequest);
    return accepted;
  }

  /** Resolves with the task once it settles, from a pushed settlement (a failed one is read back for its attempts). */
  async settled(id: string, signal?: AbortSignal): Promise<TaskView> {
    let push: SettledPush;
    try {
      push = await this.pushFor(id, signal);
    } catch (err) {
      if (err instanceof ChannelClosedError && !this.closed) return this.fallback.settled(id, signal);
      throw err;
    }
    if (push.state !== 'succeeded') return this.http.json<TaskView>('GET', `/tasks/${encodeURIComponent(id)}`, { signal });
    return { id, state: 'succeeded', status: push.status, result: push.result ?? null, attempt: push.attempt, error: null } as TaskView;
  }

  /** Closes the socket; pending submissions and waits reject. Idempotent. */
  close(): void {
    this.closed = true;
    this.socket?.close(1000, 'client closed');
    this.fail(new ChannelClosedError('the client is closed'));
  }

  private pushFor(id: string, signal?: AbortSignal): Promise<SettledPush> {
    const early = this.early.get(id);
    if (early) {
      this.early.delete(id);
      return Promise.resolve(early);
    }
    return new Promise<SettledPush>((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      const waiter: Waiter = {
        resolve: (p) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(p);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const l = this.waiters.get(id);
        l?.splice(l.indexOf(waiter), 1);
        if (l?.length === 0) this.waiters.delete(id);
        this.updateRef();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      list.push(waiter);
      const first = list.length === 1;
      this.waiters.set(id, list);
      // Submitted on this channel: watched already. Otherwise (or after a reconnect) ask the foreman to watch it.
      if (first && !this.watched.has(id)) void this.watch([id]).catch((err) => this.rejectWaiters([id], err));
      // A wait keeps the process alive until its result comes (the accept that preceded it may have let go).
      this.updateRef();
    });
  }

  private async watch(ids: string[]): Promise<void> {
    const socket = await this.connect();
    for (const id of ids) this.watched.add(id);
    socket.send(encodeMessage({ kind: 'client.watch', taskIds: ids }));
    this.updateRef();
  }

  private async flush(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    let socket: Socket;
    try {
      socket = await this.connect();
    } catch (err) {
      // Nothing was sent: the caller may submit these another way.
      const unsent = new ChannelClosedError((err as Error).message, false);
      for (const r of batch) this.submits.get(r.ref)?.reject(unsent);
      for (const r of batch) this.submits.delete(r.ref);
      return;
    }
    for (let i = 0; i < batch.length; i += MAX_ITEMS_PER_FRAME) socket.send(encodeMessage({ kind: 'client.submit', tasks: batch.slice(i, i + MAX_ITEMS_PER_FRAME) }));
    this.updateRef();
  }

  private connect(): Promise<Socket> {
    if (this.socket && this.socket.readyState === 1) return Promise.resolve(this.socket);
    this.opening ??= (async () => {
      const url = `${this.http.baseUrl.replace(/^http/, 'ws')}${CLIENT_WS_PATH}`;
      const socket = await this.open(url, this.http.token);
      socket.binaryType = 'arraybuffer';
      await new Promise<void>((resolve, reject) => {
        socket.addEventListener('open', () => resolve());
        socket.addEventListener('error', () => reject(new ChannelClosedError(`could not open ${url}`)));
        socket.addEventListener('close', (ev: { code?: number; reason?: string }) => reject(new ChannelClosedError(`closed while opening: ${ev.code ?? ''} ${ev.reason ?? ''}`)));
      });
      socket.addEventListener('message', (ev: { data: ArrayBuffer }) => this.onFrame(new Uint8Array(ev.data)));
      socket.addEventListener('close', (ev: { code?: number; reason?: string }) => this.onClose(socket, ev));
      this.socket = socket;
      return socket;
    })().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private onFrame(bytes: Uint8Array): void {
    let message: ForemanClientMessage;
    try {
      message = decodeMessage(bytes, FOREMAN_CLIENT_KINDS);
    } catch {
      return; // A frame we cannot read: the foreman speaks another version; the waits fall back when it closes.
    }
    switch (message.kind) {
      case 'client.accepted':
        for (const a of message.tasks) {
          const s = this.submits.get(a.ref);
          if (!s) continue;
          this.submits.delete(a.ref);
          if (a.taskId !== undefined) {
            this.watched.add(a.taskId);
            s.resolve(a.taskId);
          }
          else s.reject(new ApiError(API_ERRORS[a.error?.code as keyof typeof API_ERRORS]?.status ?? 400, a.error));
        }
        break;
      case 'client.settled':
        for (const t of message.tasks) {
          this.watched.delete(t.taskId);
          const list = this.waiters.get(t.taskId);
          if (list) {
            this.waiters.delete(t.taskId);
            for (const w of list) w.resolve(t);
          } else {
            this.early.set(t.taskId, t);
            if (this.early.size > EARLY_MAX) this.early.delete(this.early.keys().next().value as string);
          }
        }
        break;
      case 'client.unknown':
        for (const id of message.taskIds) {
          this.watched.delete(id);
          this.rejectWaiters([id], new ApiError(404, { statusCode: 404, code: 'TASK_NOT_FOUND', message: `no task ${id}`, field: 'id' }));
        }
        break;
      case 'error':
        break; // The foreman closes the socket after errors that end the session; onClose handles it.
      default: {
        const never: never = message;
        return never;
      }
    }
    this.updateRef();
  }

  private onClose(socket: Socket, ev: { code?: number; reason?: string }): void {
    if (this.socket === socket) this.socket = null;
    this.watched.clear();
    const err = new ChannelClosedError(`the push channel closed (${ev.code ?? ''} ${ev.reason ?? ''})`.trim());
    for (const [ref, s] of this.submits) {
      this.submits.delete(ref);
      s.reject(err);
    }
    // Waits are not lost: each asks again (on a new socket, or over HTTP).
    const ids = [...this.waiters.keys()];
    if (ids.length > 0 && !this.closed) void this.watch(ids).catch((e) => this.rejectWaiters(ids, e));
  }

  private rejectWaiters(ids: string[], err: unknown): void {
    for (const id of ids) {
      const list = this.waiters.get(id);
      this.waiters.delete(id);
      for (const w of list ?? []) w.reject(err);
    }
  }

  private fail(err: unknown): void {
    for (const s of this.submits.values()) s.reject(err);
    this.submits.clear();
    this.rejectWaiters([...this.waiters.keys()], err);
  }

  /** Keeps a Node process alive only while something is pending on the socket. */
  private updateRef(): void {
    const tcp = this.socket?._socket;
    if (!tcp) return;
    if (this.submits.size > 0 || this.waiters.size > 0 || this.queued.length > 0) tcp.ref();
    else tcp.unref();
  }
}
