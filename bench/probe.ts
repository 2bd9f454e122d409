/**
 * Sequential latency probe. One open job and one long-lived GET
 * /jobs/:id/results stream; each sample posts a single task to the job
 * (POST /jobs/:id/tasks) and times the arrival of its result line on the
 * stream. The stream line is written only after the outcome commits, so
 * submit → result is "submitted → result durably accepted", seen by the client.
 * The client's own cost is one request on a kept-alive socket (a minimal
 * HTTP/1.1 writer, see raw-http.ts) and one chunk read.
 */
import { wallClockMs } from './handlers.js';
import type { BenchClient } from './http.js';
import { RawHttpConnection } from './raw-http.js';

export interface ProbeSamples {
  /** Client send → result line received, in ms. */
  submitToResult: number[];
  /** Client send → 202 received (the task is durable), in ms. */
  submitToAck: number[];
  /** Client send → handler start (from a `stamp` result), in ms; empty for other types. */
  submitToStart: number[];
}

/**
 * Runs `warmup + samples` single tasks one after another and returns the timings of the last `samples`.
 * @throws Error if a result does not arrive within `timeoutMs`.
 */
export async function probeLatency(
  client: BenchClient,
  opts: { type: string; samples: number; warmup: number; timeoutMs?: number },
): Promise<ProbeSamples> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const { jobId } = await client.request<{ jobId: string }>('POST', '/jobs', { tasks: [{ type: opts.type }], open: true });
  let waiter: ((line: { result: unknown }, at: number) => void) | null = null;
  const early: Array<[{ result: unknown }, number]> = [];
  const abort = new AbortController();
  const { ended } = client.stream(`/jobs/${jobId}/results`, (line) => {
    const at = wallClockMs();
    if (waiter) waiter(line, at);
    else early.push([line, at]);
  }, abort.signal);
  ended.catch(() => {});
  const nextLine = () =>
    new Promise<[{ result: unknown }, number]>((resolve, reject) => {
      const queued = early.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => {
        waiter = null;
        reject(new Error(`no result within ${timeoutMs} ms`));
      }, timeoutMs);
      waiter = (line, at) => {
        clearTimeout(timer);
        waiter = null;
        resolve([line, at]);
      };
    });
  const out: ProbeSamples = { submitToResult: [], submitToAck: [], submitToStart: [] };
  const body = JSON.stringify([{ type: opts.type }]);
  const conn = await RawHttpConnection.open(client.baseUrl);
  const submit = async () => {
    const res = await conn.request('POST', `/jobs/${jobId}/tasks`, body);
    if (res.status !== 202) throw new Error(`POST /jobs/${jobId}/tasks: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    return wallClockMs();
  };
  try {
    // The first task (posted with the job) proves the stream is subscribed before timing starts.
    await nextLine();
    for (let i = 0; i < opts.warmup + opts.samples; i++) {
      const sentAt = wallClockMs();
      const result = nextLine();
      const ack = submit();
      const [[line, resultAt], ackAt] = await Promise.all([result, ack]);
      if (i < opts.warmup) continue;
      out.submitToResult.push(resultAt - sentAt);
      out.submitToAck.push(ackAt - sentAt);
      const startedAt = (line.result as { startedAt?: number } | null)?.startedAt;
      if (typeof startedAt === 'number') out.submitToStart.push(startedAt - sentAt);
    }
  } finally {
    conn.close();
    abort.abort();
    await client.request('POST', `/jobs/${jobId}/close`).catch(() => {});
  }
  return out;
}
