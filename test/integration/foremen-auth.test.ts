/**
 * Worker credentials across foremen over one PostgreSQL database: an individual token issued on one
 * foreman admits its worker on another, and revoking it on either closes the session wherever it is
 * held (NOTIFY, not polling).
 */
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { client, LOCKED, TOKENS } from '../helpers/auth.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { startForeman, type ForemanProcess } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { storeArgs } from '../helpers/stores.js';

async function twoForemen(): Promise<[ForemanProcess, ForemanProcess]> {
  const store = await storeArgs('postgres');
  const a = await startForeman([...store, ...LOCKED], { startTimeoutMs: 60_000 });
  const b = await startForeman([...store, ...LOCKED], { startTimeoutMs: 60_000 });
  return [a, b];
}

async function hello(wsUrl: string, workerId: string, authToken: string): Promise<RawPeer> {
  const p = await RawPeer.connect(wsUrl);
  p.hello(workerId, { skills: [{ type: 'raw-peer-only' }], authToken });
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
});
