/** Picks the blob store from `--blob-store`: a directory (default: beside the database), or an s3:// URL (not available yet). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { DiskBlobStore } from './disk-blob-store.js';

/**
 * @param blobStore the option: null for `<db>.blobs/`, a path, or `file://…`.
 * @throws TypeError for `s3://` (not available yet: `@aws-sdk/client-s3` is not a dependency) and other schemes.
 */
export function openBlobStore(blobStore: string | null, db: string): BlobStore {
  if (blobStore === null) {
    // An in-memory database keeps its blobs in a temporary directory: they go when the files are cleaned up.
    return new DiskBlobStore(db === ':memory:' ? mkdtempSync(join(tmpdir(), 'gaffer-blobs-')) : `${db}.blobs`);
  }
  if (/^s3:\/\//i.test(blobStore)) {
    throw new TypeError(
      `option blobStore: S3-compatible stores (${blobStore}) are not available yet: they need @aws-sdk/client-s3, which is not installed. Use a directory (the default is beside the database)`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(blobStore) && !blobStore.startsWith('file://')) {
    throw new TypeError(`option blobStore must be a directory, a file:// URL or s3://bucket/prefix, got ${blobStore}`);
  }
  return new DiskBlobStore(blobStore.startsWith('file://') ? new URL(blobStore).pathname : blobStore);
}
