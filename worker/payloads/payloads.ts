/**
 * Big payloads by reference, transparently for handlers:
 *
 * - in: every `blob:sha256:…` string in a task's params is downloaded into
 *   the payload directory and replaced, in the params the handler receives,
 *   by the local file's path (`ctx.files` maps each reference to its path);
 * - out: every string in a handler's result that is the path of an existing
 *   file inside the payload directory is uploaded and replaced by its
 *   reference (and the file removed); `ctx.upload(path)` uploads any file
 *   and returns its reference.
 *
 * Downloaded files are shared by tasks running at once and removed when the
 * last of them ends. A handler without blobs pays one walk over its params
 * and result, and stays synchronous if it was.
 */
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { containsBlobRef, findBlobRefs, mapStrings, someString } from '../../shared/blob-ref.js';
import type { TaskContext, TaskHandler } from '../task-context.js';
import type { BlobClient } from './blob-client.js';

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

export class Payloads {
  /** Downloaded files and how many running tasks use each. */
  private readonly inUse = new Map<string, number>();
  private readonly prefix: string;
  /** Whether a result string may name a payload file (made once: it runs on every result). */
  private readonly underPrefix: (s: string) => boolean;

  constructor(private readonly client: BlobClient) {
    const prefix = (this.prefix = resolve(client.dir) + sep);
    this.underPrefix = (s) => s.startsWith(prefix);
  }

  get dir(): string {
    return this.client.dir;
  }

  /** Uploads a file; resolves with its `blob:` reference. */
  upload(path: string, signal?: AbortSignal): Promise<string> {
    return this.client.upload(path, signal);
  }

  /** `handler`, with blob references in its params downloaded and payload files in its result uploaded. */
  wrap(handler: TaskHandler): TaskHandler {
    return (params, ctx) => {
      if (!containsBlobRef(params)) return this.offload(handler(params, ctx), ctx);
      return this.withFiles(findBlobRefs(params), params, handler, ctx);
    };
  }

  private async withFiles(refs: string[], params: unknown, handler: TaskHandler, ctx: TaskContext): Promise<unknown> {
    const files: Record<string, string> = {};
    try {
      for (const ref of refs) {
        files[ref] = await this.client.download(ref, ctx.signal);
        this.inUse.set(files[ref], (this.inUse.get(files[ref]) ?? 0) + 1);
      }
      ctx.files = files;
      // A downloaded input returned as it is maps back to its own reference, without an upload.
      const known = new Map(Object.entries(files).map(([ref, path]) => [path, ref]));
      return await this.offload(handler(mapStrings(params, (s) => files[s] ?? s), ctx), ctx, known);
    } finally {
      for (const path of Object.values(files)) {
        const n = (this.inUse.get(path) ?? 1) - 1;
        if (n > 0) this.inUse.set(path, n);
        else {
          this.inUse.delete(path);
          await rm(path, { force: true });
        }
      }
    }
  }

  /** The result with payload-directory paths replaced by uploaded references; the value itself when there are none. */
  private offload(result: unknown, ctx: TaskContext, known?: Map<string, string>): unknown {
    if (isThenable(result)) return Promise.resolve(result).then((v) => this.offloadValue(v, ctx, known));
    return this.offloadValue(result, ctx, known);
  }

  private offloadValue(value: unknown, ctx: TaskContext, known?: Map<string, string>): unknown {
    if (value === null || (typeof value !== 'object' && typeof value !== 'string')) return value;
    if (!someString(value, this.underPrefix)) return value;
    let paths: Set<string> | null = null;
    mapStrings(value, (s) => {
      if (s.startsWith(this.prefix) && (known?.has(s) || (existsSync(s) && statSync(s).isFile()))) (paths ??= new Set()).add(s);
      return s;
    });
    if (paths === null) return value;
    const found: Set<string> = paths;
    return (async () => {
      const refs = new Map<string, string>();
      for (const path of found) {
        const input = known?.get(path);
        if (input !== undefined) {
          refs.set(path, input);
          continue;
        }
        refs.set(path, await this.client.upload(path, ctx.signal));
        await rm(path, { force: true });
      }
      return mapStrings(value, (s) => refs.get(s) ?? s);
    })();
  }
}
