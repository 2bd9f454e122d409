/**
 * The backlog's memory bound holds on every path that loads tasks (issue 9.16): cancelling a job
 * with a spilled backlog, paging a spilled backlog in for dispatch, and retrying a large job, all
 * with large params, under a real foreman process whose resident memory is read from /proc.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { waitFor } from '../helpers/wait-for.js';

const TASKS = 600;
const PARAM_BYTES = 128 * 1024;
const BATCH = 50;

/** The process's resident set, in MB. */
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

describe('the backlog memory bound', () => {
  it('holds when a large job with large params is cancelled, paged in and retried', async () => {
    const foreman = await startForeman(['--hot-queue-max', '50']);
    const pid = foreman.proc.pid as number;
    /** An open job of TASKS tasks of `type`, added BATCH at a time (so the submission itself stays small), then closed. */
    const bigJob = async (type: string): Promise<string> => {
      const batch = (i: number) => Array.from({ length: BATCH }, (_, k) => ({ type, params: { n: i + k, blob: String.fromCharCode(97 + ((i + k) % 26)).repeat(PARAM_BYTES) } }));
      const { jobId } = await foreman.api.request('POST', '/jobs', { tasks: batch(0), open: true });
      for (let i = BATCH; i < TASKS; i += BATCH) {
        await foreman.api.request('POST', `/jobs/${jobId}/tasks`, batch(i));
      }
      await foreman.api.request('POST', `/jobs/${jobId}/close`);
      return jobId;
    };
    const cancelled = await bigJob('big-a');
    const paged = await bigJob('big-b');
    expect((await foreman.api.request('GET', '/stats')).queue.spilled).toBeGreaterThanOrEqual(2 * TASKS - 100);
    const baseline = rssMb(pid);
    const params = (TASKS * PARAM_BYTES) / 1024 / 1024;

    // 1. Cancel a job whose backlog is spilled.
    expect(await foreman.api.request('POST', `/jobs/${cancelled}/cancel`)).toMatchObject({ cancelled: TASKS });
    // 2. Page a spilled backlog in: a worker for that type takes one task.
    const peer = await RawPeer.connect(foreman.wsUrl);
    peer.hello('memory', { capacity: 1, skills: [{ type: 'big-b' }] });
    const assign = await peer.next((m) => m.kind === 'task.assign', 30_000);
    expect(assign.tasks[0].params.blob).toHaveLength(PARAM_BYTES);
    // 3. Retry the cancelled job, every task.
    expect(await foreman.api.request('POST', '/tasks/retry', { jobId: cancelled, state: 'cancelled' })).toMatchObject({ requeued: TASKS });
    await waitFor(async () => (await foreman.api.request('GET', `/jobs/${cancelled}`)).counts.queued === TASKS, 'the retried tasks queued');

    const grownMb = rssMb(pid) - baseline;
    // Each path alone would hold about `params` MB (78) if it kept the params; together over 200.
    expect(grownMb, `RSS grew ${grownMb.toFixed(1)} MB over ${baseline.toFixed(1)} MB (params of one job: ${params} MB)`).toBeLessThan(params / 2);
    const stats = await foreman.api.request('GET', '/stats');
    // The retried tasks wait in the store (the in-memory queue is past --hot-queue-max with the paged-in ones).
    expect(stats.queue.spilled).toBeGreaterThanOrEqual(TASKS - 50);
  });
});
