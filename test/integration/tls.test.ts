import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { httpsJson, LOCKED, selfSignedCert, TOKENS } from '../helpers/auth.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

/** Resolves with how a plain-text WebSocket dial to `url` ended: it must not open. */
function dialOutcome(url: string): Promise<'open' | 'failed'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.on('error', () => resolve('failed'));
  });
}

describe('TLS', () => {
  it('serves https and wss with --tls-cert/--tls-key; a worker joins over wss:// trusting --ca-file', async () => {
    const { cert, key } = selfSignedCert();
    const ca = readFileSync(cert);
    const foreman = await startForeman([...LOCKED, '--tls-cert', cert, '--tls-key', key]);
    const listening = await foreman.waitForLine((l) => l.msg === 'foreman listening', 'listening');
    expect(listening.url).toBe(`https://127.0.0.1:${foreman.port}`);
    expect(listening.joinCommand).toContain(`wss://127.0.0.1:${foreman.port}`);
    const base = `https://127.0.0.1:${foreman.port}`;

    expect((await httpsJson(`${base}/health`, ca)).status).toBe(200);
    expect((await httpsJson(`${base}/stats`, ca)).status).toBe(401);
    // Plain HTTP and ws:// on the TLS port get nowhere.
    await expect(fetch(`http://127.0.0.1:${foreman.port}/health`)).rejects.toThrow();
    expect(await dialOutcome(`ws://127.0.0.1:${foreman.port}/ws/worker`)).toBe('failed');

    const w = await spawnWorker(`wss://127.0.0.1:${foreman.port}`, { args: ['--worker-token', TOKENS.worker, '--ca-file', cert] });
    const submitted = await httpsJson(`${base}/tasks`, ca, { method: 'POST', token: TOKENS.api, body: { type: 'reverse', params: { text: 'tls' } } });
    expect(submitted.status).toBe(202);
    const done = await waitFor(async () => {
      const t = await httpsJson(`${base}/tasks/${submitted.body.id}`, ca, { token: TOKENS.read });
      return t.body.state === 'succeeded' && t.body;
    }, 'task over TLS');
    expect(done).toMatchObject({ result: 'slt', workerId: w.id });
  });

  it('a worker without the CA refuses the self-signed certificate and never registers', async () => {
    const { cert, key } = selfSignedCert();
    const foreman = await startForeman(['--tls-cert', cert, '--tls-key', key]);
    const w = await spawnWorker(`wss://127.0.0.1:${foreman.port}`, { waitRegistered: false });
    const failure = await w.waitForLine((l) => l.msg === 'cannot reach the foreman; retrying', 'dial failure');
    expect(String(failure.error)).toMatch(/self[- ]signed|certificate/i);
    expect(w.lines.some((l) => l.msg === 'registered with foreman')).toBe(false);
  });
});

describe('TLS and the HTTP connection caps', () => {
  it('lets wss worker sockets leave the HTTP count once upgraded, as plain ones do', async () => {
    const { cert, key } = selfSignedCert();
    const ca = readFileSync(cert);
    const foreman = await startForeman(['--tls-cert', cert, '--tls-key', key, '--max-http-connections-per-address', '2']);
    // Five wss sockets, one after another, from one address whose HTTP share is two.
    const open: WebSocket[] = [];
    for (let i = 0; i < 5; i++) {
      const ws = new WebSocket(`wss://127.0.0.1:${foreman.port}/ws/worker`, { ca });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      open.push(ws);
    }
    expect((await httpsJson(`https://127.0.0.1:${foreman.port}/health`, ca)).status).toBe(200);
    for (const ws of open) ws.terminate();
  });
});
