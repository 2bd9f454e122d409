/**
 * The blob store on an S3-compatible bucket. No S3 server can be installed here, so
 * the bucket is served by s3rver (an S3 API emulator on loopback): it stands in for
 * AWS S3, MinIO or R2, which are outside the system; the foreman, its S3 client and
 * the worker are the real ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../client/index.js';
import { LOCKED, runCli, TOKENS } from '../helpers/auth.js';
import { spawnWorker, startForeman, tempDir } from '../helpers/processes.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
// s3rver accepts these fixed credentials; the foreman's S3 client reads them from the usual AWS variables.
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

let server: S3rver | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function startBucket(): Promise<string> {
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: tempDir('gaffer-s3rver-'), configureBuckets: [{ name: 'gaffer-blobs', configs: [] }] });
  const { port } = (await server.run()) as { port: number };
  return `http://127.0.0.1:${port}`;
}

describe('blobs on an S3-compatible bucket', () => {
  it('stores uploads once under prefix/digest, serves them by range, and hands workers their blobs', async () => {
    const endpoint = await startBucket();
    const foreman = await startForeman([...LOCKED, '--blob-store', 's3://gaffer-blobs/team-a/', '--blob-s3-endpoint', endpoint], { env: AWS_ENV });
    const api = new Client({ foreman: foreman.url, token: TOKENS.api });
    const data = randomBytes(2 * 1024 * 1024 + 5);
    const first = await api.putBlob(new Blob([data]).stream());
    expect(first).toEqual({ ref: `blob:sha256:${sha(data)}`, size: data.length, created: true });
    expect(await api.putBlob(data)).toEqual({ ...first, created: false });
    expect(sha(await api.getBlob(first.ref))).toBe(sha(data));
    expect(Buffer.from(await api.getBlob(first.ref, { range: { start: 1000, end: 1999 } }))).toEqual(data.subarray(1000, 2000));

    // In the bucket, once, under the prefix.
    const s3 = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'gaffer-blobs' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([`team-a/${sha(data)}`]);
    s3.destroy();

    // A worker downloads its params blob and uploads the file it returns, through the foreman, from the bucket.
    await spawnWorker(foreman.wsUrl, { args: ['--worker-token', TOKENS.worker, '--payload-dir', tempDir('gaffer-payloads-')] });
    expect(await (await api.submit('blob-stats', { input: first.ref })).result()).toMatchObject({ size: data.length, sha256: sha(data), local: true });
    const made = await (await api.submit('blob-make', { text: 'xyz', times: 50_000 })).result();
    expect(Buffer.from(await api.getBlob(made.out)).toString()).toBe('xyz'.repeat(50_000));
  });

  it('refuses an s3:// store without a valid bucket name at start, naming the option', async () => {
    const run = await runCli(['foreman', '--port', '0', '--host', '127.0.0.1', '--db', `${tempDir()}/g.db`, '--blob-store', 's3://_/prefix']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('--blob-store (GAFFER_BLOB_STORE) must be s3://bucket/prefix');
  });
});
