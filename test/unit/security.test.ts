/** Pure parts of authentication and input limits: token hashing, credential resolution, nesting and line checks, option validation. */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { roleOf } from '../../foreman/auth/api-auth.js';
import { isLoopback, resolveCredentials } from '../../foreman/auth/credentials.js';
import { hashMatches, hashToken, REVOKED, tokenMatches, WorkerTokenStore } from '../../foreman/auth/tokens.js';
import { parseNdjson } from '../../foreman/http/ndjson.js';
import { resolveForemanOptions } from '../../foreman/options.js';
import { openDatabase } from '../../foreman/store/database.js';
import { measureValue, valueProblem } from '../../foreman/value-limits.js';
import { encodeValue } from '../../shared/codec.js';
import { bearerMatches } from '../../worker/control-auth.js';

const T = 'a-token-of-sufficient-length-123';

describe('tokens', () => {
  it('match only the same token, never a revoked marker, an empty or a missing one', () => {
    expect(tokenMatches(T, T)).toBe(true);
    expect(tokenMatches(`${T}x`, T)).toBe(false);
    expect(tokenMatches(undefined, T)).toBe(false);
    expect(tokenMatches(T, null)).toBe(false);
    expect(hashMatches(hashToken(T), REVOKED)).toBe(false);
    expect(hashMatches(hashToken(''), hashToken(''))).toBe(true);
    expect(bearerMatches(`Bearer ${T}`, T)).toBe(true);
    expect(bearerMatches(T, T)).toBe(false);
    expect(bearerMatches(`Bearer ${T}`, null)).toBe(false);
  });

  it('grant the API role before the read role, and nothing to strangers', () => {
    const creds = { apiToken: 'api-token-0123456789', readToken: 'read-token-0123456789' };
    expect(roleOf('api-token-0123456789', creds)).toBe('api');
    expect(roleOf('read-token-0123456789', creds)).toBe('read');
    expect(roleOf('other-token-0123456789', creds)).toBeNull();
    expect(roleOf(null, creds)).toBeNull();
  });

  it('are stored as hashes, listed without them, and revoked to a lock-out', () => {
    const db = openDatabase(':memory:', 'normal');
    const store = new WorkerTokenStore(db);
    const token = store.create('w1', 1000);
    expect(store.hashOf('w1')).toBe(hashToken(token));
    expect(JSON.stringify(db.prepare('SELECT * FROM worker_tokens').all())).not.toContain(token);
    expect(store.list()).toEqual([{ workerId: 'w1', createdAt: 1000, revoked: false }]);
    expect(store.revoke('w1', 2000)).toBe(true);
    expect(store.revoke('w1')).toBe(false);
    expect(store.hashOf('w1')).toBe(REVOKED);
    expect(store.list()[0]).toMatchObject({ revoked: true, createdAt: 2000 });
    expect(store.create('w1')).not.toBe(token);
    db.close();
  });
});

describe('credentials', () => {
  it('treat only loopback hosts as loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '127.0.0.1.evil.com']) expect(isLoopback(h), h).toBe(false);
  });

  it('run open on loopback, and generate, persist (0600) and reuse tokens elsewhere', () => {
    const none = { workerToken: null, apiToken: null, readToken: null, joinToken: null };
    expect(resolveCredentials({ host: '127.0.0.1', db: ':memory:', ...none })).toMatchObject({ apiToken: null, openWorkers: true });
    const db = join(mkdtempSync(join(tmpdir(), 'gaffer-cred-')), 'g.db');
    const first = resolveCredentials({ host: '0.0.0.0', db, ...none });
    expect(first).toMatchObject({ generated: ['workerToken', 'apiToken', 'readToken', 'joinToken'], openWorkers: false, file: `${db}.tokens.json` });
    expect(statSync(`${db}.tokens.json`).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(`${db}.tokens.json`, 'utf8'))).toMatchObject({ apiToken: first.apiToken, workerToken: first.workerToken });
    const second = resolveCredentials({ host: '0.0.0.0', db, ...none });
    expect(second).toMatchObject({ generated: [], apiToken: first.apiToken, readToken: first.readToken });
    // A configured token wins over the file.
    expect(resolveCredentials({ host: '0.0.0.0', db, ...none, apiToken: T }).apiToken).toBe(T);
    expect(resolveCredentials({ host: '0.0.0.0', db: ':memory:', ...none })).toMatchObject({ generated: ['workerToken', 'apiToken', 'readToken', 'joinToken'], file: null });
    // Configured tokens are never counted as generated (so never printed).
    expect(resolveCredentials({ host: '0.0.0.0', db: ':memory:', ...none, apiToken: T }).generated).toEqual(['workerToken', 'readToken', 'joinToken']);
  });
});

describe('input limits', () => {
  it('measure nesting without recursion, counting byte arrays as leaves', () => {
    const tooDeep = (v: unknown, max: number) => measureValue(v, max).depthExceeded;
    expect(tooDeep({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(tooDeep({ a: [1, { b: 2 }] }, 2)).toBe(true);
    let deep: unknown = 0;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(tooDeep(deep, 64)).toBe(true);
    expect(tooDeep({ bytes: Buffer.alloc(1_000_000) }, 1)).toBe(false);
    expect(tooDeep('text', 0)).toBe(false);
  });

  it('bound the encoded size from above, so values under the bound need no encoding to be judged', () => {
    const values = [
      { text: 'héllo €', n: [1, -2.5, 2 ** 40, null, true], nested: { a: { b: 'x'.repeat(300) } } },
      ['€'.repeat(1000), Buffer.alloc(70_000), {}, []],
      Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`key${i}`, i * 1.5])),
    ];
    for (const v of values) expect(measureValue(v, 64).maxBytes).toBeGreaterThanOrEqual(encodeValue(v).length);
    expect(measureValue({ at: new Date(0) }, 64).maxBytes).toBe(Infinity);
    // Just over the limit by its exact size: refused with the exact byte count, though the bound alone could not tell.
    const big = { s: 'x'.repeat(1000) };
    const exact = encodeValue(big).length;
    expect(valueProblem('params', big, { maxBytes: exact, maxDepth: 64, bytesOption: 'maxParamsBytes' })).toBeNull();
    expect(valueProblem('params', big, { maxBytes: exact - 1, maxDepth: 64, bytesOption: 'maxParamsBytes' })).toMatchObject({
      kind: 'size',
      message: `params is ${exact} bytes encoded; the limit is ${exact - 1} (maxParamsBytes)`,
    });
  });

  it('name the first NDJSON line over the byte limit, counting UTF-8 bytes', async () => {
    expect(await parseNdjson('{"a":1}\n{"b":2}\n', 10)).toEqual([{ a: 1 }, { b: 2 }]);
    await expect(parseNdjson('{"a":1}\n{"b":"0123456789"}\n', 10)).rejects.toThrow(expect.objectContaining({ statusCode: 413, code: 'LINE_TOO_LONG', field: 'body/line 2' }));
    // Four characters, twelve bytes.
    await expect(parseNdjson('"€€€€"', 10)).rejects.toThrow(/line 1/);
    expect(await parseNdjson('"€€"', 10)).toEqual(['€€']);
  });

  it('validate the new options, naming the field', () => {
    expect(() => resolveForemanOptions({ apiToken: 'short' })).toThrow(/apiToken/);
    expect(() => resolveForemanOptions({ workerToken: 'has a space in it 0123' })).toThrow(/workerToken/);
    expect(() => resolveForemanOptions({ tlsCert: '/c.pem' })).toThrow(/tlsCert and tlsKey/);
    expect(() => resolveForemanOptions({ maxParamsBytes: 32 * 1024 * 1024 })).toThrow(/maxParamsBytes/);
    expect(() => resolveForemanOptions({ maxSessions: 10, maxSessionsPerAddress: 11 })).toThrow(/maxSessionsPerAddress/);
    expect(() => resolveForemanOptions({ maxValueDepth: 5000 })).toThrow(/maxValueDepth/);
    expect(resolveForemanOptions({ apiToken: T, maxSessions: 10, maxSessionsPerAddress: 10 })).toMatchObject({ apiToken: T });
  });
});
