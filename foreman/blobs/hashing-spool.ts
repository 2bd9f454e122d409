/** Writing an upload to a local file while hashing and measuring it: how every blob store learns a blob's digest. */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobTooLargeError } from './blob-store.js';

/**
 * Streams `body` into the file `path`, hashing it on the way.
 * @returns the hex SHA-256 and the size.
 * @throws BlobTooLargeError past `maxBytes` (the caller removes the partial file).
 */
export async function spoolHashed(body: Readable, maxBytes: number, path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new BlobTooLargeError(maxBytes));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(body, meter, createWriteStream(path));
  return { digest: hash.digest('hex'), size };
}
