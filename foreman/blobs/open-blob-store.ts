/** Picks the blob store from `--blob-store`: a directory (default: beside the database), or an s3:// bucket. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { DiskBlobStore } from './disk-blob-store.js';

/**
 * @param blobStore the option: null for `<db>.blobs/`, a path, `file://…`, or `s3://bucket/prefix`.
 * @param s3 for s3://: a non-AWS endpoint (MinIO, R2) or null for AWS, and the bucket's region.
 * @throws TypeError for other schemes, or an s3:// URL without a bucket.
 */
export async function openBlobStore(blobStore: string | null, db: string, s3: { endpoint: string | null; region: string } = { endpoint: null, region: 'us-east-1' }): Promise<BlobStore> {
  if (blobStore === null) {
    // An in-memory database keeps its blobs in a temporary directory: they go when the files are cleaned up.
    return new DiskBlobStore(db === ':memory:' ? mkdtempSync(join(tmpdir(), 'gaffer-blobs-')) : `${db}.blobs`);
  }
  if (/^s3:\/\//i.test(blobStore)) {
    if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/i.test(blobStore)) throw new TypeError(`option blobStore must be s3://bucket/prefix with a valid bucket name, got ${blobStore}`);
    // Loaded only here: the AWS SDK is ~0.1 s of every start otherwise.
    const { S3BlobStore } = await import('./s3-blob-store.js');
    return new S3BlobStore(blobStore, s3.endpoint, s3.region);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(blobStore) && !blobStore.startsWith('file://')) {
    throw new TypeError(`option blobStore must be a directory, a file:// URL or s3://bucket/prefix, got ${blobStore}`);
  }
  return new DiskBlobStore(blobStore.startsWith('file://') ? new URL(blobStore).pathname : blobStore);
}
