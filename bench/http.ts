/**
 * A small keep-alive HTTP client on node:http for the benchmark. fetch (undici)
 * costs the client noticeably more per request, which would blur the foreman's
 * latency; a plain Agent with keep-alive keeps the client's share small.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';

export class BenchClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly host: string;
  private readonly port: number;

  constructor(readonly baseUrl: string) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port);
  }

  /** Sends a request with a JSON (or raw string) body; resolves with status and parsed body. Rejects on non-2xx. */
  request<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            const parsed = text === '' ? null : JSON.parse(text);
            if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`));
            else resolve(parsed as T);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * Opens a long-lived NDJSON stream (GET /jobs/:id/results) and calls `onLine`
   * with each parsed line the moment its chunk arrives. Resolves when the stream ends.
   */
  stream(path: string, onLine: (line: any) => void, signal?: AbortSignal): { opened: Promise<void>; ended: Promise<void> } {
    let open!: () => void;
    let fail!: (err: unknown) => void;
    const opened = new Promise<void>((res, rej) => ((open = res), (fail = rej)));
    const ended = new Promise<void>((resolve, reject) => {
      // A dedicated socket, so the stream never holds up a pooled keep-alive socket.
      const req = httpRequest({ host: this.host, port: this.port, method: 'GET', path, agent: false, signal }, (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          const err = new Error(`GET ${path}: HTTP ${res.statusCode}`);
          fail(err);
          return reject(err);
        }
        open();
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const text = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (text !== '') onLine(JSON.parse(text));
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', (err) => {
        fail(err);
        reject(err);
      });
      req.end();
    });
    ended.catch(() => {});
    return { opened, ended };
  }

  close(): void {
    this.agent.destroy();
  }
}
