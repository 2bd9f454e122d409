/**
 * Bulk submission and completion for the throughput-style scenarios: jobs of
 * 1,000 tasks posted a few at a time, and completion followed by polling
 * GET /jobs/:id oldest first (jobs finish roughly in submission order, so
 * the poll mostly asks about the one job still running).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchClient } from './http.js';

export interface BulkSubmission {
  jobIds: string[];
  /** performance.now() when the first request was sent and when the last was acknowledged. */
  startedAt: number;
  submittedAt: number;
}

/** Builds the request bodies up front, so the timed part measures the foreman and not JSON.stringify here. */
export function buildBodies(total: number, perRequest: number, task: (i: number) => object): string[] {
  const bodies: string[] = [];
  for (let from = 0; from < total; from += perRequest) {
    const tasks = [];
    for (let i = from; i < Math.min(total, from + perRequest); i++) tasks.push(task(i));
    bodies.push(JSON.stringify(tasks));
  }
  return bodies;
}

/** Posts every body to POST /jobs with at most `inFlight` requests outstanding. */
export async function submitJobs(client: BenchClient, bodies: string[], inFlight = 4): Promise<BulkSubmission> {
  const jobIds: string[] = new Array(bodies.length);
  const startedAt = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < bodies.length) {
      const i = next++;
      const res = await client.request<{ jobId: string }>('POST', '/jobs', bodies[i]);
      jobIds[i] = res.jobId;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, bodies.length) }, lane));
  return { jobIds, startedAt, submittedAt: performance.now() };
}

/**
 * Resolves with performance.now() at the first poll that finds every job complete
 * (all results durable). Polls every `intervalMs`; throws after `timeoutMs`.
 */
export async function waitJobsComplete(client: BenchClient, jobIds: string[], timeoutMs: number, intervalMs = 5): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let i = 0;
  while (i < jobIds.length) {
    const job = await client.request<{ complete: boolean; settled: number; total: number }>('GET', `/jobs/${jobIds[i]}`);
    if (job.complete) {
      i++;
      continue;
    }
    if (performance.now() > deadline) throw new Error(`jobs not complete after ${timeoutMs} ms (job ${i + 1}/${jobIds.length}: ${job.settled}/${job.total})`);
    await delay(intervalMs);
  }
  return performance.now();
}
