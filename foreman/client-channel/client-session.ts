/**
 * One client's WebSocket on the client channel: frames in (submit, watch),
 * frames out (accepted, settled, error). The same codec and checks as a
 * worker's session: binary msgpack only, each frame decoded against its
 * spec, a message-rate bucket, and too many protocol errors close it.
 * What goes out during one event-loop turn leaves as one frame per kind.
 */
import type { WebSocket } from 'ws';
import { decodeMessage, encodeMessage } from '../../shared/codec.js';
import { ProtocolError } from '../../shared/errors.js';
import { CLIENT_KINDS, CLOSE_CODES, type ClientMessage, type ForemanClientMessage, type Payloads, type SettledPush } from '../../shared/protocol.js';

type Accepted = Payloads['client.accepted']['tasks'][number];

/** Items per outgoing frame: a turn's settlements under load are split so no frame grows without bound. */
const MAX_ITEMS_PER_FRAME = 1000;

export interface ClientSessionLimits {
  maxProtocolErrors: number;
  maxMessagesPerSecond: number;
}

export interface ClientSessionHandler {
  onMessage(session: ClientSession, message: ClientMessage): void;
  onClose(session: ClientSession): void;
  onProtocolError(code: string, address: string): void;
}

export class ClientSession {
  /** Tasks whose settlement this client is waiting for. */
  readonly watching = new Set<string>();
  private accepted: Accepted[] = [];
  private settled: SettledPush[] = [];
  private unknown: string[] = [];
  private flushing = false;
  private protocolErrors = 0;
  private tokens: number;
  private tokensAt = Date.now();
  closed = false;

  constructor(
    private readonly socket: WebSocket,
    readonly address: string,
    private readonly handler: ClientSessionHandler,
    private readonly limits: ClientSessionLimits,
  ) {
    this.tokens = limits.maxMessagesPerSecond;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    // 'error' is always followed by 'close', which reports the end once.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.handler.onClose(this);
    });
  }

  /** Queues the answer to one submitted task. */
  accept(item: Accepted): void {
    this.accepted.push(item);
    this.schedule();
  }

  /** Queues a settlement to push. */
  push(item: SettledPush): void {
    this.settled.push(item);
    this.schedule();
  }

  /** Queues the answer to a watch of an id that names no task. */
  unknownTask(id: string): void {
    this.unknown.push(id);
    this.schedule();
  }

  /** Closes the socket with a close code and a short reason. Idempotent. */
  close(code: number, reason: string): void {
    this.flush();
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.close(code, reason.slice(0, 120));
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    const accepted = this.accepted;
    const settled = this.settled;
    const unknown = this.unknown;
    this.accepted = [];
    this.settled = [];
    this.unknown = [];
    for (let i = 0; i < accepted.length; i += MAX_ITEMS_PER_FRAME) this.send({ kind: 'client.accepted', tasks: accepted.slice(i, i + MAX_ITEMS_PER_FRAME) });
    for (let i = 0; i < settled.length; i += MAX_ITEMS_PER_FRAME) this.send({ kind: 'client.settled', tasks: settled.slice(i, i + MAX_ITEMS_PER_FRAME) });
    for (let i = 0; i < unknown.length; i += MAX_ITEMS_PER_FRAME) this.send({ kind: 'client.unknown', taskIds: unknown.slice(i, i + MAX_ITEMS_PER_FRAME) });
  }

  private send(message: ForemanClientMessage): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(encodeMessage(message));
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (!this.takeToken()) {
      this.send({ kind: 'error', code: 'RATE_LIMITED', message: `more than ${this.limits.maxMessagesPerSecond} messages per second`, retryable: false });
      this.close(CLOSE_CODES.rateLimited, 'RATE_LIMITED');
      return;
    }
    let message: ClientMessage;
    try {
      if (!isBinary) throw new ProtocolError('BAD_FRAME', 'text frames are not accepted; send binary msgpack');
      message = decodeMessage(data, CLIENT_KINDS);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.handler.onProtocolError(err.code, this.address);
      this.send({ kind: 'error', code: err.code, message: err.message, retryable: false });
      if (++this.protocolErrors >= this.limits.maxProtocolErrors) {
        this.send({ kind: 'error', code: 'TOO_MANY_ERRORS', message: `closing after ${this.protocolErrors} protocol errors`, retryable: false });
        this.close(CLOSE_CODES.protocolAbuse, 'TOO_MANY_ERRORS');
      }
      return;
    }
    this.handler.onMessage(this, message);
  }

  private takeToken(): boolean {
    const now = Date.now();
    const max = this.limits.maxMessagesPerSecond;
    this.tokens = Math.min(max, this.tokens + ((now - this.tokensAt) * max) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
