/** NDJSON both ways: a request body streamed from an (async) iterable, and a response read one line at a time. */

/** Items taken by an upload so far, and the error the source threw, if it did. */
export interface UploadCounter {
  count: number;
  error?: unknown;
}

/** Lines are gathered into chunks of about this many bytes before they are handed to fetch. */
const CHUNK_CHARS = 64 * 1024;

/**
 * A body that pulls from `items` only as fetch sends: memory stays at one chunk
 * whatever the number of items. `count` is updated as items are taken.
 */
export function ndjsonBody(items: Iterable<unknown> | AsyncIterable<unknown>, counter: UploadCounter): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const it = Symbol.asyncIterator in items ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (items as Iterable<unknown>)[Symbol.iterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let text = '';
        while (text.length < CHUNK_CHARS) {
          let next: IteratorResult<unknown>;
          try {
            next = await it.next();
          } catch (err) {
            // fetch reports a failed body as "fetch failed"; the caller rethrows the source's own error.
            counter.error = err;
            throw err;
          }
          if (next.done) {
            if (text !== '') controller.enqueue(encoder.encode(text));
            controller.close();
            return;
          }
          text += `${JSON.stringify(next.value)}\n`;
          counter.count++;
        }
        controller.enqueue(encoder.encode(text));
      },
      async cancel() {
        await it.return?.();
      },
    },
    { highWaterMark: 1 },
  );
}

/** Parses an NDJSON response body, yielding one value per non-empty line. */
export async function* readNdjson<T>(body: ReadableStream<Uint8Array>): AsyncGenerator<T> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== '') yield JSON.parse(line) as T;
      }
    }
    if (buffered.trim() !== '') yield JSON.parse(buffered) as T;
  } finally {
    // Stopping early (break in for await) must end the stream, or the connection stays busy.
    await reader.cancel().catch(() => {});
  }
}

/**
 * Whether this runtime's fetch can stream a request body over HTTP/1.1. Node's can; browsers
 * only over HTTP/2 (and a foreman serves HTTP/1.1), so the client sends chunks there instead.
 */
export function canStreamRequestBody(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}
