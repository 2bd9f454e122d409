/**
 * Malformed HTTP input against every route the foreman documents: broken and
 * hostile bodies, wrong content types, bad path parameters and query strings,
 * malformed credentials. Every answer must be a 4xx JSON error (or a success),
 * never a 500, and the foreman must keep serving.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { API_ERRORS } from '../../shared/errors.js';
import { LOCKED, TOKENS } from '../helpers/auth.js';
import { startForeman, type ForemanProcess } from '../helpers/processes.js';

interface Reply {
  status: number;
  body: string;
  contentType: string;
}

/** A raw request, so bodies on GET, broken bytes and odd headers go out exactly as written. */
function send(port: number, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node's client would otherwise send a GET body unframed, which is a different test (see below).
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = request({ host: '127.0.0.1', port, method, path, headers: { connection: 'close', ...length, ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, contentType: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The documented routes as [method, path template]. */
async function routes(foreman: ForemanProcess): Promise<Array<[string, string]>> {
  const spec = await fetch(`${foreman.url}/docs/json`, { headers: { authorization: `Bearer ${TOKENS.api}` } }).then((r) => r.json());
  return Object.entries(spec.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), path] as [string, string]));
}

const deepJson = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const BODIES: Array<[string, Buffer | string]> = [
  ['truncated', '{"type":'],
  ['null', 'null'],
  ['empty array', '[]'],
  ['string', '"echo"'],
  ['number', '123'],
  ['wrong types', '{"type":["echo"],"priority":"high","params":1}'],
  ['proto pollution', '{"type":"echo","__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}'],
  ['deep nesting', `{"type":"echo","params":${deepJson(50_000)}}`],
  ['deep body', deepJson(50_000)],
  ['invalid utf-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
  ['random bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256))],
  ['huge string', JSON.stringify({ type: 'x'.repeat(50_000) })],
  ['ndjson junk', '{"type":"echo"}\n{nope\n\n\u0000'],
];
/** Over the test foreman's 64 KiB JSON body limit (bulk job routes allow more, and answer 400 for the wrong shape instead). */
const OVERSIZED = JSON.stringify({ type: 'echo', params: 'p'.repeat(100 * 1024) });
const CONTENT_TYPES = ['application/json', 'application/x-ndjson', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', ''];
const IDS = ['x'.repeat(500), '%00', '..%2f..%2fetc', '%', '%E0%A4%A', 't_%F0%9F%92%A9', '%20', '%2F%2F'];
const QUERIES = ['?limit=abc', '?limit=99999', '?limit=0', '?state=bogus', '?after=-1', '?mode=weird', '?limit=1&limit=2', '?__proto__=x', `?jobId=${'j'.repeat(5000)}`, '?%zz=1'];

function expectClientError(r: Reply, what: string): void {
  expect(r.status, `${what}: ${r.body.slice(0, 300)}`).toBeLessThan(500);
  if (r.status < 400) return;
  expect(r.contentType, what).toContain('application/json');
  const body = JSON.parse(r.body);
  expect(body, what).toMatchObject({ statusCode: r.status, code: expect.any(String), message: expect.any(String) });
  // Only catalogued codes, each with its own status: no Fastify code (FST_ERR_*) leaks.
  expect(API_ERRORS[body.code as keyof typeof API_ERRORS]?.status, `${what}: ${body.code}`).toBe(r.status);
}

describe('HTTP fuzzing', () => {
  it('answers malformed bodies, ids and queries on every route with 4xx JSON, never 500', async () => {
    const foreman = await startForeman(['--dev', '--max-requests-per-second', '100000', '--max-body-bytes', '65536']);
    const all = await routes(foreman);
    expect(all.length).toBeGreaterThan(15);
    let sent = 0;
    for (const [method, template] of all) {
      const path = template.replace(/\{\w+\}/g, 'nope');
      if (method === 'POST') {
        // Kept alive: the foreman then reads and discards the rest of the body after answering 413. Had we asked it
        // to close, it would close with our body unread, and the reset that follows can destroy its answer in flight.
        const r = await send(foreman.port, method, path, OVERSIZED, { connection: 'keep-alive', 'content-type': 'application/json' });
        if (!template.startsWith('/jobs')) expect(r.status, `${path} oversized`).toBe(413);
        expectClientError(r, `${path} oversized`);
      }
      for (const [name, body] of BODIES) {
        for (const contentType of CONTENT_TYPES) {
          const r = await send(foreman.port, method, path, body, contentType ? { 'content-type': contentType } : {});
          expectClientError(r, `${method} ${path} ${name} as ${contentType || 'no type'}`);
          sent++;
        }
      }
      if (template.includes('{')) {
        for (const id of IDS) {
          const r = await send(foreman.port, method, template.replace(/\{\w+\}/g, id));
          expectClientError(r, `${method} ${template} id ${id.slice(0, 20)}`);
          sent++;
        }
      }
      for (const q of QUERIES) {
        const r = await send(foreman.port, method, `${path}${q}`);
        expectClientError(r, `${method} ${path}${q.slice(0, 30)}`);
        sent++;
      }
    }
    expect(sent).toBeGreaterThan(1000);
    const health = await send(foreman.port, 'GET', '/health');
    expect(JSON.parse(health.body).ok).toBe(true);
    // Nothing hostile was accepted as a task (only the bodies no schema would pass were sent).
    expect(JSON.parse((await send(foreman.port, 'GET', '/stats')).body).tasks.queued).toBe(0);
  });

  it('answers bytes that are not HTTP with a 400 JSON error naming the problem', async () => {
    const foreman = await startForeman();
    for (const garbage of ['GARBAGE / HTTP/1.1\r\n\r\n', 'GET / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', '\u0000\u0001\u0002\r\n\r\n']) {
      const socket = connect(foreman.port, '127.0.0.1');
      socket.on('error', () => {});
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(garbage);
      await new Promise((resolve) => socket.once('close', resolve));
      expect(text, JSON.stringify(garbage)).toMatch(/^HTTP\/1\.1 400/);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ statusCode: 400, code: 'MALFORMED_HTTP' });
    }
    expect((await send(foreman.port, 'GET', '/health')).status).toBe(200);
  });

  it('answers malformed credentials with 401 JSON', async () => {
    const foreman = await startForeman(LOCKED);
    const headers = ['Bearer', 'Bearer ', `Bearer ${TOKENS.api} extra`, `Basic ${Buffer.from('a:b').toString('base64')}`, `bearer${TOKENS.api}`, `Bearer ${'t'.repeat(8000)}`, `Bearer ${TOKENS.api.slice(0, -1)}`];
    for (const [method, template] of await routes(foreman)) {
      if (template === '/health' || template === '/' || template.startsWith('/dashboard')) continue;
      const path = template.replace(/\{\w+\}/g, 'nope');
      for (const authorization of headers) {
        const r = await send(foreman.port, method, path, undefined, { authorization });
        expect(r.status, `${method} ${path} with ${authorization.slice(0, 30)}`).toBe(401);
        expectClientError(r, `${method} ${path}`);
      }
    }
  });
});
