/**
 * A minimal HTTP/1.1 client on one kept-alive TCP socket, for the latency
 * probes: it writes each request in one `write` and parses only what the
 * foreman sends back (a status line, headers, a `content-length` body).
 * node:http's client costs ~50 µs more per round trip on this machine, which
 * a sequential probe would count as the foreman's latency. Requests are
 * answered in order (HTTP/1.1), so several may be in flight.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  body: string;
}

export class RawHttpConnection {
  private readonly socket: Socket;
  private readonly waiting: Array<{ resolve: (r: RawResponse) => void; reject: (e: Error) => void }> = [];
  private buffered = '';
  private failure: Error | null = null;
  readonly ready: Promise<void>;

  /** Connects to `baseUrl` (http://host:port) and resolves once the socket is open. */
  static async open(baseUrl: string): Promise<RawHttpConnection> {
    const u = new URL(baseUrl);
    const conn = new RawHttpConnection(u.hostname, Number(u.port));
    await conn.ready;
    return conn;
  }

  private constructor(private readonly host: string, private readonly port: number) {
    this.socket = connect(port, host);
    this.socket.setNoDelay(true);
    this.socket.setEncoding('latin1');
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: string) => this.onData(chunk));
    const fail = (err: Error) => {
      this.failure = err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Sends one request; resolves with the status and body text (any status). */
  request(method: string, path: string, body?: string): Promise<RawResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n`;
    const text = body === undefined
      ? `${head}\r\n`
      : `${head}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(text, 'utf8');
    });
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (;;) {
      const headEnd = this.buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = this.buffered.slice(0, headEnd);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      const end = headEnd + 4 + length;
      // latin1 keeps one character per byte, so the length in bytes is the length in characters.
      if (this.buffered.length < end) return;
      const body = Buffer.from(this.buffered.slice(headEnd + 4, end), 'latin1').toString('utf8');
      this.buffered = this.buffered.slice(end);
      const status = Number(head.slice(9, 12));
      this.waiting.shift()?.resolve({ status, body });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
