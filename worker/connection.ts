/**
 * The worker's line to the foreman: dials out (so it works behind NAT),
 * encodes and validates frames, and redials with jittered backoff whenever
 * the socket drops, until stopped.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { decodeMessage, encodeMessage } from '../shared/codec.js';
import { ProtocolError } from '../shared/errors.js';
import { FOREMAN_KINDS, type ForemanMessage, type WorkerMessage } from '../shared/protocol.js';
import { reconnectDelayMs } from './backoff.js';
import type { ForemanPicker } from './foreman-list.js';

/**
 * Connection lifecycle:
 * - `connecting`: first dial in progress;
 * - `open`: socket open;
 * - `reconnecting`: socket lost, waiting to redial;
 * - `closed`: stopped for good.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionEvents {
  open: [];
  message: [ForemanMessage];
  /** The session ended; the next dial follows in `retryInMs`, the `tries`-th in a row since a session last held (see `established`). */
  close: [code: number, reason: string, retryInMs: number, tries: number];
  /** A dial failed before the socket opened; `tries` counts failures since the last session. */
  dialFailed: [message: string, tries: number];
  protocolError: [ProtocolError];
}

export class Connection extends EventEmitter<ConnectionEvents> {
  state: ConnectionState = 'connecting';
  private socket: WebSocket | null = null;
  private tries = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly ca: Buffer | undefined;
  /** Extra delay asked for by the foreman (shutdown) before the next dial, in ms. */
  private holdOffMs = 0;
  /** When the current session was welcomed, or null when it was not (yet). */
  private establishedAt: number | null = null;

  /**
   * @param foremen which foreman to dial: after a failed dial or a lost session, the next one.
   */
  constructor(
    private readonly foremen: ForemanPicker,
    private readonly options: { reconnectMinMs: number; reconnectMaxMs: number; caFile: string | null; maxPayload: number },
  ) {
    super();
    this.ca = options.caFile ? readFileSync(options.caFile) : undefined;
  }

  /** Starts dialing. */
  start(): void {
    if (this.state === 'closed') return;
    this.dial();
  }

  /** Sends one message; returns false when there is no open socket. */
  send(message: WorkerMessage): boolean {
    return this.sendFrame(encodeMessage(message));
  }

  /** Sends one encoded frame (the outbox encodes its batches itself); returns false when there is no open socket. */
  sendFrame(frame: Buffer): boolean {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(frame);
    return true;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Drops the current socket and dials again after `delayMs` (restart). */
  reconnect(code: number, reason: string, delayMs = 0): void {
    this.holdOffMs = delayMs;
    this.socket?.close(code, reason);
  }

  /** Closes for good. Idempotent. */
  stop(code = 1000, reason = 'worker closing'): Promise<void> {
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.close(code, reason);
      setTimeout(() => socket.terminate(), 1000).unref();
    });
  }

  /** The foreman dialled now (or last). */
  get url(): string {
    return this.foremen.current;
  }

  private dial(): void {
    const socket = new WebSocket(this.foremen.current, { maxPayload: this.options.maxPayload, ca: this.ca, handshakeTimeout: 10_000, perMessageDeflate: false });
    this.socket = socket;
    socket.binaryType = 'nodebuffer';
    socket.on('open', () => {
      this.state = 'open';
      this.emit('open');
    });
    socket.on('message', (data, isBinary) => {
      try {
        if (!isBinary) throw new ProtocolError('BAD_FRAME', 'text frame from foreman');
        this.emit('message', decodeMessage(data as Buffer, FOREMAN_KINDS));
      } catch (err) {
        if (err instanceof ProtocolError) this.emit('protocolError', err);
        else throw err;
      }
    });
    // 'error' is always followed by 'close', which reports it once and handles the redial.
    let lastError = '';
    socket.on('error', (err) => (lastError = err.message));
    socket.on('close', (code, reason) => {
      const wasOpen = this.state === 'open';
      if (this.socket === socket) this.socket = null;
      if (this.state === 'closed') return;
      this.state = 'reconnecting';
      // Only a session that held for reconnectMaxMs starts the backoff over: one closed right after
      // its welcome (a frame the foreman refuses, say) must not turn into a redial every 200 ms.
      if (this.establishedAt !== null && Date.now() - this.establishedAt >= this.options.reconnectMaxMs) this.tries = 0;
      this.establishedAt = null;
      const tries = this.tries + 1;
      // With several foremen, the next dial goes to the next one (failover; round-robin rotation).
      if (this.foremen.foremen.length > 1) this.foremen.advance();
      const delay = this.nextDelayMs();
      if (wasOpen) this.emit('close', code, reason.toString(), delay, tries);
      else this.emit('dialFailed', lastError || `closed ${code} ${reason.toString()}`, tries);
      this.scheduleDial(delay);
    });
  }

  /**
   * Call when the foreman welcomes this worker. If the session then holds for `reconnectMaxMs`,
   * the next outage starts from the short delay again.
   */
  established(): void {
    this.establishedAt = Date.now();
  }

  private nextDelayMs(): number {
    const delay = Math.max(this.holdOffMs, reconnectDelayMs(this.tries++, this.options.reconnectMinMs, this.options.reconnectMaxMs));
    this.holdOffMs = 0;
    return delay;
  }

  private scheduleDial(delay: number): void {
    // Stopped while the close was being reported (a refused worker): no timer to keep the process alive.
    if (this.state === 'closed') return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'closed') this.dial();
    }, delay);
  }
}
