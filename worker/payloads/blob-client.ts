/**
 * The worker's HTTP client for the foreman's blob store: downloads a blob
 * into the payload directory (verifying its SHA-256, written to a temporary
 * name and renamed, so a half-downloaded file is never taken for the blob)
 * and uploads a file. It authenticates with the worker's token and id; the
 * foreman lets it download only blobs referenced by its assigned tasks.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blobDigest } from '../../shared/blob-ref.js';
import { PermanentError, TransientError } from '../../shared/errors.js';

/** The HTTP(S) base URL of a foreman given by its worker WebSocket URL. */
export function httpBaseOf(foremanWsUrl: string): string {
  const url = new URL(foremanWsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/';
  url.search = '';
  return url.toString();
}

export class BlobClient {
  private readonly headers: Record<string, string>;

  constructor(
    /** The HTTP base of the foreman the worker is connected to now (it may change: several foremen). */
    private readonly baseUrl: () => string,
    workerId: string,
    workerToken: string | null,
    readonly dir: string,
  ) {
    this.headers = { 'x-gaffer-worker-id': workerId, ...(workerToken ? { authorization: `Bearer ${workerToken}` } : {}) };
  }

  /** Local path of a blob in the payload directory. */
  pathOf(digest: string): string {
    return join(this.dir, `sha256-${digest}`);
  }

  /**
   * Downloads `ref` unless the payload directory has it already; resolves with its path.
   * @throws PermanentError for 4xx answers (missing blob, not assigned), TransientError otherwise.
   */
  async download(ref: string, signal: AbortSignal): Promise<string> {
    const digest = blobDigest(ref);
    if (digest === null) throw new PermanentError(`not a blob reference: ${ref}`, { code: 'INVALID_PARAMS' });
    const path = this.pathOf(digest);
    if (await stat(path).catch(() => null)) return path;
    let res: Response;
    try {
      res = await fetch(new URL(`/blobs/${ref}`, this.baseUrl()), { headers: this.headers, signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new TransientError(`cannot download ${ref}: ${(err as Error).message}`, { code: 'BLOB_DOWNLOAD_FAILED', cause: err });
    }
    if (!res.ok || !res.body) {
      const message = `downloading ${ref} got ${res.status}: ${await res.text().catch(() => '')}`;
      if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentError(message, { code: 'BLOB_DOWNLOAD_FAILED' });
      throw new TransientError(message, { code: 'BLOB_DOWNLOAD_FAILED' });
    }
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.partial-${randomUUID()}`);
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as never), hasher, createWriteStream(temp), { signal });
      const got = hash.digest('hex');
      if (got !== digest) throw new TransientError(`downloaded ${ref} but its content hashes to ${got}`, { code: 'BLOB_DOWNLOAD_FAILED' });
      await rename(temp, path);
      return path;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw err instanceof TransientError ? err : new TransientError(`downloading ${ref} broke off: ${(err as Error).message}`, { code: 'BLOB_DOWNLOAD_FAILED', cause: err });
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Uploads a file (streamed); resolves with its reference. @throws TransientError when the foreman cannot take it. */
  async upload(path: string, signal?: AbortSignal): Promise<string> {
    const size = (await stat(path)).size;
    let res: Response;
    try {
      res = await fetch(new URL('/blobs', this.baseUrl()), {
        method: 'PUT',
        headers: { ...this.headers, 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: Readable.toWeb(createReadStream(path)) as never,
        duplex: 'half',
        signal,
      } as RequestInit);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new TransientError(`cannot upload ${path}: ${(err as Error).message}`, { code: 'BLOB_UPLOAD_FAILED', cause: err });
    }
    const body = (await res.json().catch(() => null)) as { ref?: string; message?: string } | null;
    if (!res.ok || typeof body?.ref !== 'string') {
      throw new TransientError(`uploading ${path} got ${res.status}: ${body?.message ?? ''}`, { code: 'BLOB_UPLOAD_FAILED' });
    }
    return body.ref;
  }
}
