/**
 * Blobs as files: `<dir>/<first two hex digits>/<digest>`, written to
 * `<dir>/tmp/` while hashed and renamed into place once the digest is known,
 * so a reader never sees a partial blob and a crash leaves only a temp file
 * (cleared on start). Same bytes, same name: deduplication is the rename
 * finding the name taken.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rename, rm, stat, utimes, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore, StoredBlob } from './blob-store.js';
import { spoolHashed } from './hashing-spool.js';

const DIGEST = /^[0-9a-f]{64}$/;

export class DiskBlobStore implements BlobStore {
  private readonly tmp: string;

  constructor(readonly dir: string) {
    this.tmp = join(dir, 'tmp');
    mkdirSync(this.tmp, { recursive: true });
    // Uploads cut off by a crash.
    for (const name of readdirSync(this.tmp)) rmSync(join(this.tmp, name), { force: true });
  }

  get location(): string {
    return this.dir;
  }

  private path(digest: string): string {
    if (!DIGEST.test(digest)) throw new TypeError(`not a SHA-256 digest: ${digest}`);
    return join(this.dir, digest.slice(0, 2), digest);
  }

  async put(body: Readable, maxBytes: number): Promise<{ digest: string; size: number; created: boolean }> {
    const temp = join(this.tmp, randomUUID());
    try {
      const { digest, size } = await spoolHashed(body, maxBytes, temp);
      const final = this.path(digest);
      const existing = await stat(final).catch(() => null);
      if (existing) {
        // Already stored: keep the old file, refresh its time (retention counts from the last upload).
        const now = new Date();
        await utimes(final, now, now);
        return { digest, size, created: false };
      }
      mkdirSync(join(this.dir, digest.slice(0, 2)), { recursive: true });
      await rename(temp, final);
      return { digest, size, created: true };
    } finally {
      await rm(temp, { force: true });
    }
  }

  async stat(digest: string): Promise<StoredBlob | null> {
    const s = await stat(this.path(digest)).catch(() => null);
    return s ? { digest, size: s.size, touchedAt: s.mtimeMs } : null;
  }

  read(digest: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.path(digest), range);
  }

  async delete(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async *list(): AsyncIterable<StoredBlob> {
    for (const shard of await readdir(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await readdir(join(this.dir, shard)).catch(() => [] as string[])) {
        if (!DIGEST.test(name)) continue;
        const s = await this.stat(name);
        if (s) yield s;
      }
    }
  }
}
