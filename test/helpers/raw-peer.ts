/** A hand-driven WebSocket peer speaking (or abusing) the worker protocol, for protocol tests. */
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { decodeValue, encodeMessage } from '../../shared/codec.js';
import { PROTOCOL_VERSION, WORKER_WS_PATH, type Message } from '../../shared/protocol.js';

const open = new Set<RawPeer>();

// Every peer a test opened is closed after it, even when the test fails.
afterEach(() => {
  for (const p of open) p.close();
  open.clear();
});

export class RawPeer {
  readonly received: any[] = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.received.push(decodeValue(data as Buffer));
      for (const w of this.waiters) w();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.closeCode = code;
        for (const w of this.waiters) w();
        resolve(code);
      }),
    );
    socket.on('error', () => {});
  }

  /** @param localAddress another loopback address (127.0.0.2, …) to appear to the foreman as another machine. */
  static async connect(foremanWsUrl: string, opts: { localAddress?: string } = {}): Promise<RawPeer> {
    const socket = new WebSocket(`${foremanWsUrl}${WORKER_WS_PATH}`, opts);
    const peer = new RawPeer(socket);
    open.add(peer);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return peer;
  }

  send(message: Message): void {
    this.socket.send(encodeMessage(message));
  }

  sendRaw(bytes: Buffer | string): void {
    this.socket.send(bytes);
  }

  hello(workerId: string, extra: Partial<Extract<Message, { kind: 'hello' }>> = {}): void {
    this.send({ kind: 'hello', protocolVersion: PROTOCOL_VERSION, workerId, skills: [{ type: 'echo' }], capacity: 1, groupLimits: {}, running: [], ...extra });
  }

  /** Resolves with the first received message (past or future) matching `pred`. */
  next(pred: (m: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching message; got ${JSON.stringify(this.received).slice(0, 500)}`));
      }, timeoutMs);
      const check = () => {
        const m = this.received.find(pred);
        if (m) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(m);
        }
      };
      this.waiters.add(check);
    });
  }

  close(): void {
    this.socket.terminate();
  }
}
