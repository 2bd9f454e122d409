/**
 * `@path` in a task line: a params string that is `@` followed by the path of an existing file
 * (relative to the current directory) is uploaded as a blob and replaced by its `blob:sha256:…`
 * reference before the task is submitted. A string starting with `@` that names no file is left as it is.
 */
import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { mapStrings } from '../shared/blob-ref.js';
import type { Client } from '../client/index.js';

export class AtPathUploader {
  /** One upload per file per run, however many lines name it. */
  private readonly refs = new Map<string, Promise<string>>();

  constructor(private readonly client: Client) {}

  /** `value` with every `@path` naming a file replaced by the uploaded file's reference. */
  async replace(value: unknown): Promise<unknown> {
    const found = new Map<string, string>();
    mapStrings(value, (s) => {
      if (s.length > 1 && s.startsWith('@')) {
        const path = resolve(s.slice(1));
        if (statSync(path, { throwIfNoEntry: false })?.isFile()) found.set(s, path);
      }
      return s;
    });
    if (found.size === 0) return value;
    const refs = new Map<string, string>();
    for (const [s, path] of found) refs.set(s, await this.upload(path));
    return mapStrings(value, (s) => refs.get(s) ?? s);
  }

  private upload(path: string): Promise<string> {
    let ref = this.refs.get(path);
    if (!ref) {
      ref = this.client.putBlob(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>).then((r) => r.ref);
      this.refs.set(path, ref);
    }
    return ref;
  }
}
