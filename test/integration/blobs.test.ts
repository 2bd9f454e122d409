/** The blob store: streamed uploads, dedup, ranges, who may read what, retention, and the worker SDK's transparent offload. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client } from '../../client/index.js';
import { LOCKED, runCli, TOKENS } from '../helpers/auth.js';
import { spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { STORES, storeArgs } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function put(url: string, body: Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/blobs`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', ...headers }, body: body as BodyInit });
  return { status: res.status, body: (await res.json()) as any };
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Blob files in the store directory, temporary ones excluded. */
const storedFiles = (dir: string) => readdirSync(dir).filter((d) => /^[0-9a-f]{2}$/.test(d)).flatMap((d) => readdirSync(join(dir, d)));

describe('blobs', () => {
  it('stores a streamed upload once by its SHA-256 and serves it whole and by range, to the right tokens only', async () => {
    const foreman = await startForeman([...LOCKED, '--max-blob-bytes', String(8 * 1024 * 1024)]);
    const api = new Client({ foreman: foreman.url, token: TOKENS.api });
    const data = randomBytes(3 * 1024 * 1024 + 17);
    // A stream the client sends as it reads it.
    const stream = new Blob([data]).stream();
    const first = await api.putBlob(stream);
    expect(first).toEqual({ ref: `blob:sha256:${sha(data)}`, size: data.length, created: true });
    expect(await api.putBlob(data)).toEqual({ ...first, created: false });
    expect(storedFiles(`${foreman.dbPath}.blobs`)).toEqual([sha(data)]);

    expect(sha(await api.getBlob(first.ref))).toBe(sha(data));
    expect(Buffer.from(await api.getBlob(first.ref, { range: { start: 100, end: 199 } }))).toEqual(data.subarray(100, 200));
    const suffix = await fetch(`${foreman.url}/blobs/${first.ref}`, { headers: { ...auth(TOKENS.read), range: 'bytes=-10' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${data.length - 10}-${data.length - 1}/${data.length}`);
    expect(Buffer.from(await suffix.arrayBuffer())).toEqual(data.subarray(data.length - 10));
    const beyond = await fetch(`${foreman.url}/blobs/${first.ref}`, { headers: { ...auth(TOKENS.api), range: `bytes=${data.length}-` } });
    expect(beyond.status).toBe(416);
    expect(await beyond.json()).toMatchObject({ code: 'RANGE_NOT_SATISFIABLE', field: 'headers/range' });

    expect((await put(foreman.url, data)).status).toBe(401);
    expect((await put(foreman.url, data, auth(TOKENS.read))).body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
    expect((await fetch(`${foreman.url}/blobs/${first.ref}`)).status).toBe(401);
    const missing = await fetch(`${foreman.url}/blobs/blob:sha256:${'0'.repeat(64)}`, { headers: auth(TOKENS.api) });
    expect(await missing.json()).toMatchObject({ statusCode: 404, code: 'BLOB_NOT_FOUND' });
    const bad = await fetch(`${foreman.url}/blobs/not-a-ref`, { headers: auth(TOKENS.api) });
    expect(await bad.json()).toMatchObject({ statusCode: 400, field: 'params/ref' });

    const tooBig = await put(foreman.url, randomBytes(8 * 1024 * 1024 + 1), auth(TOKENS.api));
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toMatchObject({ code: 'BLOB_TOO_LARGE', field: 'body' });
    expect(storedFiles(`${foreman.dbPath}.blobs`)).toHaveLength(1);
    expect(readdirSync(`${foreman.dbPath}.blobs/tmp`)).toEqual([]);
  });

  it('hands a worker its params blobs as local files and uploads the files it returns; a worker reads only its tasks\' blobs', async () => {
    const foreman = await startForeman(LOCKED);
    const api = new Client({ foreman: foreman.url, token: TOKENS.api });
    const payloadDir = tempDir('gaffer-payloads-');
    const worker = await spawnWorker(foreman.wsUrl, { args: ['--worker-token', TOKENS.worker, '--payload-dir', payloadDir] });
    const data = randomBytes(200_000);
    const { ref } = await api.putBlob(data);

    const stats = await (await api.submit('blob-stats', { input: ref })).result();
    expect(stats).toMatchObject({ size: data.length, sha256: sha(data), local: true });
    expect(stats.refs).toEqual([ref]);
    expect(stats.fileName).toBe(`sha256-${sha(data)}`);
    // The downloaded copy is removed once no running task uses it.
    await waitFor(() => !existsSync(join(payloadDir, stats.fileName)), 'payload file removed');

    const made = await (await api.submit('blob-make', { text: 'abc', times: 100_000 })).result();
    expect(made.note).toBe('made');
    expect(made.out).toMatch(/^blob:sha256:[0-9a-f]{64}$/);
    expect(Buffer.from(await api.getBlob(made.out)).toString()).toBe('abc'.repeat(100_000));

    // The worker's own credentials: the blob of a task it ran earlier is no longer its to read; a wrong token is refused.
    const asWorker = (token: string) => fetch(`${foreman.url}/blobs/${ref}`, { headers: { ...auth(token), 'x-gaffer-worker-id': worker.id } });
    const notAssigned = await asWorker(TOKENS.worker);
    expect(notAssigned.status).toBe(403);
    expect(await notAssigned.json()).toMatchObject({ code: 'BLOB_NOT_ASSIGNED' });
    expect((await asWorker('wrong-token-0123456789abcdef')).status).toBe(401);
  });

  it('points params over the inline limit to blobs, and gaffer submit uploads @path files', async () => {
    const foreman = await startForeman(['--max-params-bytes', '2048']);
    await spawnWorker(foreman.wsUrl);
    const res = await fetch(`${foreman.url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'echo', params: { big: 'x'.repeat(5000) } }) });
    expect(res.status).toBe(413);
    expect((await res.json()).message).toMatch(/maxParamsBytes.*PUT \/blobs/);

    const dir = tempDir();
    const file = join(dir, 'input.bin');
    const data = randomBytes(50_000);
    writeFileSync(file, data);
    writeFileSync(join(dir, 'tasks.jsonl'), `${JSON.stringify({ type: 'blob-stats', params: { input: `@${file}` } })}\n${JSON.stringify({ type: 'echo', params: { text: '@not-a-file' } })}\n`);
    const out = join(dir, 'results.jsonl');
    const run = await runCli(['submit', join(dir, 'tasks.jsonl'), '--foreman', foreman.url, '--out', out]);
    expect(run.code).toBe(0);
    const results = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(results.find((r) => r.type === 'blob-stats').result).toMatchObject({ size: data.length, sha256: sha(data), local: true });
    expect(results.find((r) => r.type === 'echo').result).toEqual({ text: '@not-a-file' });
  });
});

// Retention reads the references from whichever store holds the tasks.
describe.each(STORES)('blob retention (%s store)', (store) => {
  it('deletes blobs no task references after the retention period, and keeps referenced ones', async () => {
    const foreman = await startForeman(['--blob-retention-ms', '300', '--blob-sweep-interval-ms', '100', ...(await storeArgs(store))]);
    const api = new Client({ foreman: foreman.url });
    const loose = await api.putBlob(new TextEncoder().encode('nobody needs me'));
    const kept = await api.putBlob(new TextEncoder().encode('a queued task needs me'));
    await api.submit('nobody-handles-this', { files: [{ input: kept.ref }] });
    await waitFor(async () => (await fetch(`${foreman.url}/blobs/${loose.ref}`)).status === 404, 'unreferenced blob deleted');
    expect(Buffer.from(await api.getBlob(kept.ref)).toString()).toBe('a queued task needs me');
  });
});
