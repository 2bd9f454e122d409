/**
 * Strangers cannot lock anyone out over HTTP: a request must arrive whole within
 * --request-timeout-ms (408), a refused request is answered and cut without waiting for its
 * body, and open HTTP connections are capped in all and per address (503 TOO_MANY_CONNECTIONS),
 * while worker sockets leave the HTTP count once upgraded. The open-file limit is logged at start.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { LOCKED, TOKENS } from '../helpers/auth.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { waitFor } from '../helpers/wait-for.js';

interface RawConn {
  socket: Socket;
  data: () => string;
  closed: Promise<void>;
}

/** A raw TCP connection to the foreman from `localAddress`, recording what comes back. */
async function open(port: number, localAddress = '127.0.0.1'): Promise<RawConn> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString()));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, data: () => text, closed };
}

const sockets: Socket[] = [];
const held = async (port: number, localAddress: string) => {
  const c = await open(port, localAddress);
  sockets.push(c.socket);
  return c;
};

/** GET /health from `localAddress` through node:http. */
function health(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', localAddress, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP connections', () => {
  it('cuts a request whose body trickles past --request-timeout-ms with 408', async () => {
    const foreman = await startForeman(['--request-timeout-ms', '1000']);
    const c = await open(foreman.port);
    c.socket.write(`POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"type":`);
    const trickle = setInterval(() => c.socket.writable && c.socket.write(' '), 100);
    try {
      await waitFor(() => c.data().includes('\r\n\r\n{'), '408 answer', 15_000);
      await c.closed;
    } finally {
      clearInterval(trickle);
    }
    expect(c.data()).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(c.data().slice(c.data().indexOf('{')))).toMatchObject({ statusCode: 408, code: 'REQUEST_TIMEOUT' });
  });

  it('answers a refused request with 401 and closes without waiting for its body', async () => {
    const foreman = await startForeman(LOCKED);
    const c = await open(foreman.port);
    c.socket.write(`POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{`);
    await c.closed;
    expect(c.data()).toMatch(/^HTTP\/1\.1 401/);
    expect(c.data()).toContain('"code":"UNAUTHORIZED"');
  });

  it('caps HTTP connections per address and in all, without counting upgraded worker sockets', async () => {
    const foreman = await startForeman([...LOCKED, '--max-http-connections', '12', '--max-http-connections-per-address', '5']);
    try {
      // Five idle connections from one address fill its share; a sixth is refused before any request is read.
      for (let i = 0; i < 5; i++) await held(foreman.port, '127.0.0.2');
      const sixth = await open(foreman.port, '127.0.0.2');
      await sixth.closed;
      expect(sixth.data()).toMatch(/^HTTP\/1\.1 503/);
      expect(JSON.parse(sixth.data().slice(sixth.data().indexOf('{')))).toMatchObject({ statusCode: 503, code: 'TOO_MANY_CONNECTIONS' });
      // Another address is served, and a worker from it connects and keeps its socket.
      expect(await health(foreman.port, '127.0.0.1')).toBe(200);
      const worker = await spawnWorker(foreman.wsUrl, { env: { GAFFER_WORKER_TOKEN: TOKENS.worker }, args: ['--worker-token', TOKENS.worker] });
      // Worker sockets are not HTTP connections once upgraded: more of them than the per-address cap all get in.
      // One after another: each leaves the HTTP count once upgraded (six at once would be six HTTP connections).
      const peers: RawPeer[] = [];
      for (let i = 0; i < 6; i++) peers.push(await RawPeer.connect(foreman.wsUrl));
      peers.forEach((p, i) => p.hello(`peer-${i}`, { authToken: TOKENS.worker }));
      await Promise.all(peers.map((p) => p.next((m) => m.kind === 'welcome')));
      // The total cap: seven more idle connections from a third address reach 12 in all.
      for (let i = 0; i < 5; i++) await held(foreman.port, '127.0.0.3');
      for (let i = 0; i < 2; i++) await held(foreman.port, '127.0.0.4');
      await waitFor(async () => (await open(foreman.port, '127.0.0.5').then((c) => c.closed.then(() => c.data()))).includes('TOO_MANY_CONNECTIONS'), 'total cap');
      expect(worker.proc.exitCode).toBeNull();
    } finally {
      for (const s of sockets.splice(0)) s.destroy();
    }
  });

  it('logs the open-file limit at start, with a warning when the connection limits need more', async () => {
    const ok = await startForeman([]);
    const line = await ok.waitForLine((l) => typeof l.openFileLimit === 'number', 'open-file limit line');
    expect(line.needed).toBeGreaterThan(0);
    const tight = await startForeman(['--max-sessions', '5000000', '--max-sessions-per-address', '1000']);
    const warning = await tight.waitForLine((l) => l.msg?.startsWith('the open-file limit is below') === true, 'open-file warning');
    expect(warning).toMatchObject({ level: 40, needed: 5000000 + 1000 + 2000 + 64 });
  });
});
