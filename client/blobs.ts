/** Blob upload and download for the client: big inputs and outputs by reference (`blob:sha256:…`), streamed both ways. */
import { ApiError } from './errors.js';
import type { Http } from './http.js';

/** What a blob upload returns: the reference to put in params, the size, and whether these bytes were new to the store. */
export interface PutBlobResult {
  ref: string;
  size: number;
  created: boolean;
}

export interface GetBlobOptions {
  /** Inclusive byte range; the whole blob when absent. */
  range?: { start: number; end: number };
  signal?: AbortSignal;
}

async function failed(res: Response): Promise<never> {
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  throw new ApiError(res.status, body);
}

/** Uploads bytes or a stream (sent as it is read); the foreman hashes them and answers with the reference. */
export async function putBlob(http: Http, data: Uint8Array | Blob | ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<PutBlobResult> {
  const res = await http.raw('PUT', '/blobs', { body: data as BodyInit, headers: { 'content-type': 'application/octet-stream' }, signal });
  if (!res.ok) return failed(res);
  return (await res.json()) as PutBlobResult;
}

/** The blob's bytes as a stream (of the range, when given). */
export async function getBlobStream(http: Http, ref: string, opts: GetBlobOptions = {}): Promise<ReadableStream<Uint8Array>> {
  const headers: Record<string, string> = opts.range ? { range: `bytes=${opts.range.start}-${opts.range.end}` } : {};
  const res = await http.raw('GET', `/blobs/${encodeURIComponent(ref)}`, { headers, signal: opts.signal });
  if (!res.ok || !res.body) return failed(res);
  return res.body;
}
