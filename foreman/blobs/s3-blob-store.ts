/**
 * Blobs in an S3-compatible bucket (AWS S3, MinIO, R2, …): `<prefix><digest>`.
 * The bucket is what several foremen share (each keeps its own disk otherwise).
 *
 * An upload is spooled to a local temp file while it is hashed (the key is the
 * digest, known only at the end, and S3 needs the length up front), then put
 * once under its digest unless that key exists already. A repeated upload
 * copies the object onto itself, which refreshes its LastModified: retention
 * counts from the last upload, as on disk. Credentials come from the AWS SDK's
 * usual sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, profiles, instance roles).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import type { BlobStore, StoredBlob } from './blob-store.js';
import { spoolHashed } from './hashing-spool.js';

const DIGEST = /^[0-9a-f]{64}$/;

/** Whether an S3 error says the object is not there. */
const notFound = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
};

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly spool = mkdtempSync(join(tmpdir(), 'gaffer-s3-spool-'));

  /**
   * @param url `s3://bucket/prefix`.
   * @param endpoint a non-AWS endpoint (MinIO, R2, a local stand-in), addressed path-style; null for AWS.
   * @param region the bucket's region.
   */
  constructor(
    readonly url: string,
    endpoint: string | null,
    region: string,
  ) {
    const u = new URL(url);
    this.bucket = u.hostname;
    this.prefix = u.pathname.replace(/^\/+/, '');
    if (this.prefix !== '' && !this.prefix.endsWith('/')) this.prefix += '/';
    this.client = new S3Client({
      region,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      // Checksums only where S3 requires them: by default the SDK sends streamed bodies `aws-chunked` with
      // checksum trailers, which many S3-compatible servers do not decode (they would store the framing as data).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private readonly bucket: string;
  private prefix: string;

  get location(): string {
    return this.url;
  }

  private key(digest: string): string {
    if (!DIGEST.test(digest)) throw new TypeError(`not a SHA-256 digest: ${digest}`);
    return `${this.prefix}${digest}`;
  }

  async put(body: Readable, maxBytes: number): Promise<{ digest: string; size: number; created: boolean }> {
    const temp = join(this.spool, randomUUID());
    try {
      const { digest, size } = await spoolHashed(body, maxBytes, temp);
      const Key = this.key(digest);
      if (await this.stat(digest)) {
        // Already stored: copy it onto itself to refresh its time (S3 allows a self-copy only with new metadata).
        await this.client.send(
          new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource: `${this.bucket}/${Key}`, MetadataDirective: 'REPLACE', Metadata: { touched: String(Date.now()) } }),
        );
        return { digest, size, created: false };
      }
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: createReadStream(temp), ContentLength: size }));
      return { digest, size, created: true };
    } finally {
      await rm(temp, { force: true });
    }
  }

  async stat(digest: string): Promise<StoredBlob | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(digest) }));
      return { digest, size: head.ContentLength ?? 0, touchedAt: head.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  read(digest: string, range?: { start: number; end: number }): Readable {
    // The route wants a stream at once; the object's body is piped in when S3 answers.
    const out = new PassThrough();
    const Range = range ? `bytes=${range.start}-${range.end}` : undefined;
    this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(digest), Range })).then(
      (res) => pipeline(res.Body as Readable, out).catch((err: Error) => out.destroy(err)),
      (err: Error) => out.destroy(err),
    );
    return out;
  }

  async delete(digest: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(digest) }));
  }

  async *list(): AsyncIterable<StoredBlob> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const digest = (o.Key ?? '').slice(this.prefix.length);
        if (DIGEST.test(digest)) yield { digest, size: o.Size ?? 0, touchedAt: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Stops the client's sockets and removes the spool directory. */
  async close(): Promise<void> {
    this.client.destroy();
    await rm(this.spool, { recursive: true, force: true });
  }
}
