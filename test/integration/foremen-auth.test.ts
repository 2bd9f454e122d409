/**
 * Worker credentials across foremen over one PostgreSQL database: an individual token issued on one
 * foreman admits its worker on another, and revoking it on either closes the session wherever it is
 * held (NOTIFY, not polling); a worker id is one live session fleet-wide, yet a worker that presents
 * its session token resumes on another foreman.
 */
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { client, LOCKED, TOKENS } from '../helpers/auth.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { startForeman, type ForemanProcess } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { storeArgs } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

async function twoForemen(): Promise<[ForemanProcess, ForemanProcess]> {
  const store = await storeArgs('postgres');
  const a = await startForeman([...store, ...LOCKED], { startTimeoutMs: 60_000 });
  const b = await startForeman([...store, ...LOCKED], { startTimeoutMs: 60_000 });
  return [a, b];
}

async function hello(wsUrl: string, workerId: string, authToken: string, sessionToken?: string): Promise<RawPeer> {
  const p = await RawPeer.connect(wsUrl);
  p.hello(workerId, { skills: [{ type: 'raw-peer-only' }], authToken, ...(sessionToken ? { sessionToken } : {}) });
  return p;
}
const welcomed = (p: RawPeer) => p.next((m) => m.kind === 'welcome');
async function refused(p: RawPeer): Promise<void> {
  expect((await p.next((m) => m.kind === 'error')).code).toBe('UNAUTHORIZED');
  expect(await p.closed).toBe(CLOSE_CODES.unauthorized);
}

describe.runIf(postgresAvailable())('worker credentials across foremen', () => {
  it('admits a token issued on A at B, and a revocation on A closes the session B holds', async () => {
    const [a, b] = await twoForemen();
    const apiA = client(a.url);
    const apiB = client(b.url);
    const { token: alice } = await apiA.request('POST', '/tokens', { workerId: 'alice' });
    // B hears of the token by NOTIFY; until then alice is an unknown id and her token no fleet token.
    let session: RawPeer | null = null;
    for (let tries = 0; session === null && tries < 50; tries++) {
      const p = await hello(b.wsUrl, 'alice', alice);
      const first = await p.next((m) => m.kind === 'welcome' || m.kind === 'error');
      if (first.kind === 'welcome') session = p;
    }
    expect(session).not.toBeNull();
    // The fleet token cannot take over an id bound on another foreman either.
    await refused(await hello(b.wsUrl, 'alice', TOKENS.worker));
    expect((await apiB.request('GET', '/tokens')).tokens).toEqual([expect.objectContaining({ workerId: 'alice', revoked: false })]);
    await expect(apiB.request('POST', '/tokens', { workerId: 'alice' })).rejects.toMatchObject({ status: 409, body: { code: 'TOKEN_EXISTS' } });

    const revoked = await apiA.request('DELETE', '/tokens/alice');
    // Closed by B, which holds the session, when it hears of the revocation; A holds none.
    expect(revoked).toMatchObject({ revoked: true, disconnected: 0 });
    await refused(session as RawPeer);
    await refused(await hello(b.wsUrl, 'alice', alice));
    await refused(await hello(a.wsUrl, 'alice', alice));
    await expect(apiB.request('DELETE', '/tokens/alice')).rejects.toMatchObject({ status: 404, body: { code: 'TOKEN_NOT_FOUND' } });
  });

  it('refuses a second process under a live worker id on another foreman (4009), and lets the worker itself resume there', async () => {
    const [a, b] = await twoForemen();
    const first = await hello(a.wsUrl, 'dup', TOKENS.worker);
    const { sessionToken } = await welcomed(first);
    for (const f of [b, a]) {
      const second = await hello(f.wsUrl, 'dup', TOKENS.worker);
      expect((await second.next((m) => m.kind === 'error')).code).toBe('WORKER_ID_IN_USE');
      expect(await second.closed).toBe(CLOSE_CODES.workerIdInUse);
    }
    // A wrong session token is no better than none.
    const guess = await hello(b.wsUrl, 'dup', TOKENS.worker, 'x'.repeat(32));
    expect(await guess.closed).toBe(CLOSE_CODES.workerIdInUse);
    // The worker itself, with its session token (as after losing its socket to A): B takes it, A lets go.
    const resumed = await hello(b.wsUrl, 'dup', TOKENS.worker, sessionToken);
    const again = await welcomed(resumed);
    expect(await first.closed).toBe(CLOSE_CODES.sessionReplaced);
    // Now B holds the id: a newcomer on A is refused, and the old token is spent.
    expect(await (await hello(a.wsUrl, 'dup', TOKENS.worker)).closed).toBe(CLOSE_CODES.workerIdInUse);
    expect(await (await hello(a.wsUrl, 'dup', TOKENS.worker, sessionToken)).closed).toBe(CLOSE_CODES.workerIdInUse);
    // Once it leaves, the id is free again.
    resumed.close();
    await waitFor(async () => {
      const p = await hello(a.wsUrl, 'dup', TOKENS.worker);
      const m = await p.next((x) => x.kind === 'welcome' || x.kind === 'error');
      return m.kind === 'welcome';
    }, 'the id free after its session ended', 20_000);
    expect(again.sessionToken).not.toBe(sessionToken);
  });
});
