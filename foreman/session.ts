/**
 * One worker's WebSocket: decoding and validating its frames, answering
 * protocol errors, batching what we send, and its socket-level liveness.
 */
import type { WebSocket } from 'ws';
import { decodeMessage, encodeMessage } from '../shared/codec.js';
import { PartialBatchError, ProtocolError, type ProtocolErrorCode } from '../shared/errors.js';
import { newTimeOrderedId } from '../shared/ids.js';
import { Outbox, type BatchItem, type BatchKind, type Corkable } from '../shared/outbox.js';
import { CLOSE_CODES, WORKER_KINDS, type ForemanMessage, type WorkerMessage } from '../shared/protocol.js';

/**
 * Session lifecycle:
 * - `awaiting-hello`: connected, nothing accepted but `hello`;
 * - `ready`: registered, takes work;
 * - `closed`: socket gone (or closing).
 */
export type SessionState = 'awaiting-hello' | 'ready' | 'closed';

export interface SessionHandler {
  onHello(session: Session, hello: Extract<WorkerMessage, { kind: 'hello' }>): void;
  onMessage(session: Session, message: Exclude<WorkerMessage, { kind: 'hello' }>): void;
  onClose(session: Session, code: number): void;
  /** A protocol error was answered; `closeCode` is set when it ends the session (a refusal). */
  onProtocolError(session: Session, code: string, closeCode: number | null): void;
  /** An item too large for any frame to this worker (`maxFrameBytes`) was not sent. */
  onTooLarge<K extends BatchKind>(session: Session, kind: K, item: BatchItem<K>, bytes: number): void;
}

export interface SessionLimits {
  /** Protocol errors tolerated before the socket is closed with 4000. */
  maxProtocolErrors: number;
  /** Time allowed between connect and `hello`, in ms. */
  helloTimeoutMs: number;
  /** Most messages per second; bursts up to this many are allowed. */
  maxMessagesPerSecond: number;
  /** Largest frame sent to the worker, in bytes (the same limit the foreman accepts). */
  maxFrameBytes: number;
}

export class Session {
  readonly id = newTimeOrderedId('s_');
  readonly connectedAt = Date.now();
  state: SessionState = 'awaiting-hello';
  workerId: string | null = null;
  /** Set at hello for a browser worker the foreman does not trust: it is given quorum replicas only. */
  untrusted = false;
  /** The id this peer's hello claimed, accepted or not (for logging refusals). */
  claimedWorkerId: string | null = null;
  /** When the last frame or pong arrived, in ms since the epoch. */
  private lastActiveAt = Date.now();
  private protocolErrors = 0;
  /** The close code of the refusal that is ending this session, once there is one. */
  private refusedWith: number | null = null;
  private readonly helloTimer: NodeJS.Timeout;
  private tokens: number;
  private tokensAt = Date.now();
  readonly outbox: Outbox;

  /**
   * @param stream the TCP (or TLS) stream under `socket`, corked while the outbox sends several frames.
   */
  constructor(
    private readonly socket: WebSocket,
    readonly address: string,
    private readonly handler: SessionHandler,
    private readonly limits: SessionLimits,
    stream: Corkable | null = null,
  ) {
    this.tokens = limits.maxMessagesPerSecond;
    this.outbox = new Outbox((frame) => this.sendFrame(frame), {
      maxFrameBytes: limits.maxFrameBytes,
      stream,
      onTooLarge: (kind, item, bytes) => this.handler.onTooLarge(this, kind, item, bytes),
    });
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    socket.on('pong', () => (this.lastActiveAt = Date.now()));
    // 'error' is always followed by 'close'; the close reports the failure once.
    socket.on('error', (err) => this.onSocketError(err as Error & { code?: string }));
    socket.on('close', (code) => {
      clearTimeout(this.helloTimer);
      const wasOpen = this.state !== 'closed';
      this.state = 'closed';
      this.outbox.clear();
      // ws tears the socket down after refusing a frame, so its close event says 1006; report what we sent.
      if (wasOpen || this.workerId) this.handler.onClose(this, this.refusedWith ?? code);
    });
    this.helloTimer = setTimeout(() => {
      if (this.state === 'awaiting-hello') this.fail(new ProtocolError('HELLO_TIMEOUT'));
    }, limits.helloTimeoutMs);
    this.helloTimer.unref();
  }

  /** Sends one message now (batchable kinds should go through `outbox`). */
  send(message: ForemanMessage): void {
    this.sendFrame(encodeMessage(message));
  }

  private sendFrame(frame: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(frame);
  }

  /** Sends an error frame with a stable code. */
  sendError(code: ProtocolErrorCode | string, message: string, retryable = false): void {
    this.send({ kind: 'error', code, message, retryable });
  }

  /**
   * Reports a protocol error to the peer; ends the session when the error demands it, when errors
   * pile up, or at once when the peer has not said a valid hello yet: a socket whose first frame is
   * not a valid hello is not a worker (as MQTT closes a connection whose first packet is not CONNECT).
   */
  fail(err: ProtocolError): void {
    const closeCode = err.closeCode ?? (this.state === 'awaiting-hello' ? CLOSE_CODES.invalidHello : null);
    this.handler.onProtocolError(this, err.code, closeCode);
    this.sendError(err.code, err.message, err.retryable);
    if (closeCode !== null) {
      this.refusedWith ??= closeCode;
      this.close(closeCode, err.code);
      return;
    }
    if (++this.protocolErrors >= this.limits.maxProtocolErrors) {
      this.fail(new ProtocolError('TOO_MANY_ERRORS', `closing after ${this.protocolErrors} protocol errors`));
    }
  }

  /**
   * ws refuses a frame itself (over maxFrameBytes: 1009; not a valid WebSocket frame: 1002; a text
   * frame that is not UTF-8: 1007) and closes the socket: a protocol refusal like our own, reported
   * once. Other socket errors (a reset) end in an ordinary close.
   */
  private onSocketError(err: Error & { code?: string }): void {
    if (!err.code?.startsWith('WS_ERR_') || this.refusedWith !== null) return;
    const [code, closeCode] =
      err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? (['FRAME_TOO_LARGE', 1009] as const)
      : err.code === 'WS_ERR_INVALID_UTF8' ? (['BAD_FRAME', 1007] as const)
      : (['BAD_FRAME', 1002] as const);
    this.refusedWith = closeCode;
    this.handler.onProtocolError(this, code, closeCode);
  }

  /** Closes the socket gracefully, with a close code and short reason. Idempotent. */
  close(code: number, reason: string): void {
    this.outbox.flush();
    if (this.socket.readyState === this.socket.CLOSED || this.socket.readyState === this.socket.CLOSING) return;
    this.socket.close(code, reason.slice(0, 120));
    // A peer that never answers the close handshake (frozen, partitioned) must not hold the socket.
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }

  /**
   * Socket-level liveness: terminates the socket (returning false) when nothing, not even a
   * pong, has arrived for `silenceMs`; this catches half-open TCP connections and frozen peers,
   * which never send a close. Pings only a peer quiet for `quietMs`: one whose heartbeats arrive
   * is plainly alive, and pinging it anyway cost a frame each way per session and interval.
   */
  ping(now: number, silenceMs: number, quietMs: number): boolean {
    const quiet = now - this.lastActiveAt;
    if (quiet > silenceMs) {
      this.socket.terminate();
      return false;
    }
    if (quiet >= quietMs && this.socket.readyState === this.socket.OPEN) this.socket.ping();
    return true;
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    this.lastActiveAt = Date.now();
    if (this.refusedWith !== null) return;
    if (!this.takeToken()) return this.fail(new ProtocolError('RATE_LIMITED', `more than ${this.limits.maxMessagesPerSecond} messages per second`));
    let message: WorkerMessage;
    try {
      if (!isBinary) throw new ProtocolError('BAD_FRAME', 'text frames are not accepted; send binary msgpack');
      message = decodeMessage(data, WORKER_KINDS);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.fail(err);
      // Only some items of a batch were bad: the others are handled as if they had come alone.
      if (!(err instanceof PartialBatchError) || this.state !== 'ready' || this.refusedWith !== null) return;
      message = err.salvaged as WorkerMessage;
    }
    if (this.state === 'closed') return;
    if (message.kind === 'hello') {
      if (this.state !== 'awaiting-hello') return this.fail(new ProtocolError('INVALID_MESSAGE', 'hello was already received'));
      clearTimeout(this.helloTimer);
      this.claimedWorkerId = message.workerId;
      this.handler.onHello(this, message);
      return;
    }
    if (this.state !== 'ready') return this.fail(new ProtocolError('HELLO_REQUIRED'));
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
