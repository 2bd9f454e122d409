/**
 * Where blob bytes live. The foreman speaks to one `BlobStore`: a directory
 * (disk-blob-store.ts, the default) or an S3-compatible bucket (s3-blob-store.ts),
 * chosen by openBlobStore.
 */
import type { Readable } from 'node:stream';

export interface StoredBlob {
  /** Hex SHA-256 of the content. */
  digest: string;
  size: number;
  /** Last upload of these bytes (a repeated upload refreshes it), in ms since the epoch. */
  touchedAt: number;
}

export interface BlobStore {
  /** Human-readable location, for the effective settings. */
  readonly location: string;
  /**
   * Stores a stream's bytes under their SHA-256, hashing while it writes. Bytes already stored are not
   * stored twice (the upload is read and dropped, and the existing blob's time refreshed).
   * @throws BlobTooLargeError past `maxBytes` (the partial upload is discarded).
   */
  put(body: Readable, maxBytes: number): Promise<{ digest: string; size: number; created: boolean }>;
  /** Size and time of a stored blob, or null. */
  stat(digest: string): Promise<StoredBlob | null>;
  /** Reads `[start, end]` (inclusive) of a stored blob, or all of it. */
  read(digest: string, range?: { start: number; end: number }): Readable;
  delete(digest: string): Promise<void>;
  /** Every stored blob. */
  list(): AsyncIterable<StoredBlob>;
  /** Releases what the store holds open (connections, temp files); optional. */
  close?(): Promise<void>;
}

/** An upload went past the size limit. */
export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the blob exceeds ${maxBytes} bytes (maxBlobBytes)`);
    this.name = 'BlobTooLargeError';
  }
}
