/**
 * The benchmark's minimal HTTP/1.1 client (bench/raw-http.ts): it times the latency
 * probes, so a misparsed response would corrupt every figure. Checked against a real
 * node:http server on port 0.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RawHttpConnection } from '../../bench/raw-http.js';

let server: Server | null = null;
let conn: RawHttpConnection | null = null;

afterEach(async () => {
  conn?.close();
  conn = null;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('RawHttpConnection', () => {
  it('sends the body and reads status and body, including multi-byte characters', async () => {
    const url = await serve((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const text = JSON.stringify({ method: req.method, path: req.url, type: req.headers['content-type'], body });
        res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    conn = await RawHttpConnection.open(url);
    const res = await conn.request('POST', '/jobs/j1/tasks', JSON.stringify([{ type: 'échø' }]));
    expect(res.status).toBe(202);
    expect(JSON.parse(res.body)).toEqual({ method: 'POST', path: '/jobs/j1/tasks', type: 'application/json', body: '[{"type":"échø"}]' });
  });

  it('answers pipelined requests in order, whatever the status', async () => {
    const url = await serve((req, res) => {
      const status = req.url === '/missing' ? 404 : 200;
      const text = `${req.url}`;
      res.writeHead(status, { 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
    conn = await RawHttpConnection.open(url);
    const replies = await Promise.all(['/a', '/missing', '/c'].map((p) => (conn as RawHttpConnection).request('GET', p)));
    expect(replies).toEqual([
      { status: 200, body: '/a' },
      { status: 404, body: '/missing' },
      { status: 200, body: '/c' },
    ]);
  });

  it('rejects pending requests when the server closes the connection', async () => {
    const url = await serve((req) => req.socket.destroy());
    conn = await RawHttpConnection.open(url);
    await expect(conn.request('GET', '/health')).rejects.toThrow();
  });
});
