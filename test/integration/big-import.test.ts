/**
 * A big NDJSON job is written in slices (foreman/store/staged-submissions.ts): a real foreman on a
 * real SQLite file takes 200,000 lines while GET /health keeps answering, and the job arrives whole,
 * idempotency keys honoured across slices. A big body of plain tasks is kept as its bytes and parsed
 * again a slice at a time as it is written (foreman/http/ndjson-task-list.ts): every line becomes its
 * task, on both stores. A foreman killed (SIGKILL) in the middle of such an import shows nothing of it
 * after a restart. How long the foreman stalls is measured by the bench
 * (`npm run bench -- --scenario import-stall`), not here.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { STORES, storeArgs } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

const LINES = 200_000;

/**
 * Line i is a noop task. With `keyed`, every 1,000th from line 1,000 on has an idempotency key (the
 * first 1,000 are plain, so the parser has dropped them before it meets a key and must read the body
 * again), and the last line repeats line 1,000's key and params.
 */
function ndjson(lines: number, keyed: boolean): string {
  const out: string[] = [];
  for (let i = 0; i < lines - 1; i++) out.push(keyed && i > 0 && i % 1000 === 0 ? `{"type":"noop","key":"k${i}","params":{"i":${i}}}` : `{"type":"noop","params":{"i":${i}}}`);
  out.push(keyed ? '{"type":"noop","key":"k1000","params":{"i":1000}}' : `{"type":"noop","params":{"i":${lines - 1}}}`);
  return out.join('\n');
}

const postJob = (url: string, body: string) => fetch(`${url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });

/** Reads the foreman's SQLite file beside it (WAL: a reader does not block the writer). */
function readDb<T>(dbPath: string, read: (db: Database.Database) => T): T {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

describe('big NDJSON import', () => {
  it('takes 200,000 lines in slices while /health answers; the job is whole and keys hold across slices', async () => {
    const foreman = await startForeman();
    let importing = true;
    let healthDuring = 0;
    const probing = (async () => {
      while (importing) {
        const res = await fetch(`${foreman.url}/health`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        if (importing) healthDuring++;
      }
    })();
    const res = await postJob(foreman.url, ndjson(LINES, true));
    importing = false;
    await probing;
    expect(res.status).toBe(202);
    const { jobId, count } = (await res.json()) as { jobId: string; count: number };
    expect(count).toBe(LINES);
    expect(healthDuring).toBeGreaterThan(0);

    const job = await foreman.api.request('GET', `/jobs/${jobId}`);
    // 199,999 tasks: the last line named line 1,000's task by its key.
    expect(job.total).toBe(LINES - 1);
    expect(job.counts.queued).toBe(LINES - 1);
    const rows = readDb(foreman.dbPath, (db) => ({
      tasks: db.prepare(`SELECT count(*) AS n, count(DISTINCT params) AS distinct_params FROM tasks WHERE job_id = ?`).get(jobId),
      keyed: db.prepare(`SELECT count(*) FROM tasks WHERE job_id = ? AND idem_key IS NOT NULL`).pluck().get(jobId),
      staged: db.prepare(`SELECT count(*) FROM staged_submissions`).pluck().get(),
    }));
    expect(rows.tasks).toEqual({ n: LINES - 1, distinct_params: LINES - 1 });
    expect(rows.keyed).toBe(LINES / 1000 - 1);
    expect(rows.staged).toBe(0);

    // A key from a middle slice names that task in a later submission.
    const again = await foreman.api.request('POST', '/jobs', [{ type: 'noop', key: 'k150000', params: { i: 150_000 } }]);
    const byKey = readDb(foreman.dbPath, (db) => db.prepare(`SELECT id FROM tasks WHERE idem_key = 'k150000'`).pluck().get());
    expect(again.taskIds).toEqual([byKey]);
    foreman.kill('SIGKILL');
  }, 180_000);

  it('a foreman killed in the middle of a big import shows none of it after a restart', async () => {
    const first = await startForeman();
    const small = await first.api.request('POST', '/jobs', [{ type: 'noop', params: { before: true } }]);
    const posting = postJob(first.url, ndjson(LINES, false)).catch((err: unknown) => err);
    // Some slices are durable, the last is not: the job's tasks are in the file, staged.
    await waitFor(
      () => readDb(first.dbPath, (db) => (db.prepare(`SELECT count(*) FROM staged_submissions`).pluck().get() as number) > 0 &&
        (db.prepare(`SELECT count(*) FROM tasks`).pluck().get() as number) > 5000),
      'part of the import durable',
      120_000,
    );
    first.kill('SIGKILL');
    await first.exited();
    expect(await posting).toBeInstanceOf(Error);
    const partial = readDb(first.dbPath, (db) => db.prepare(`SELECT count(*) FROM tasks`).pluck().get() as number);
    expect(partial).toBeGreaterThan(1);

    const second = await startForeman([], { dbPath: first.dbPath });
    const jobs = (await second.api.request('GET', '/jobs')).jobs as Array<{ id: string }>;
    expect(jobs.map((j) => j.id)).toEqual([small.jobId]);
    const tasks = (await second.api.request('GET', '/tasks?limit=10')).tasks as Array<{ jobId: string }>;
    expect(tasks.map((t) => t.jobId)).toEqual([small.jobId]);
    const left = readDb(first.dbPath, (db) => ({
      tasks: db.prepare(`SELECT count(*) FROM tasks`).pluck().get(),
      staged: db.prepare(`SELECT count(*) FROM staged_submissions`).pluck().get(),
      jobs: db.prepare(`SELECT count(*) FROM jobs`).pluck().get(),
    }));
    expect(left).toEqual({ tasks: 1, staged: 0, jobs: 1 });
    second.kill('SIGKILL');
  }, 180_000);
});

describe.each(STORES)('big NDJSON import of plain tasks (%s store)', (store) => {
  it('makes every line its task, with its fields, and a worker runs each once', async () => {
    const LINES_RUN = 5_000;
    const foreman = await startForeman(['--hot-queue-max', '1000', ...(await storeArgs(store))]);
    const lines = Array.from({ length: LINES_RUN }, (_, i) => JSON.stringify({ type: 'identity', params: { i }, priority: i % 3, ...(i % 7 === 0 ? { maxAttempts: 2 } : {}) }));
    const res = await postJob(foreman.url, lines.join('\n'));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { jobId: string; count: number; taskIds?: string[] };
    expect(body.count).toBe(LINES_RUN);
    expect(body.taskIds).toBeUndefined();
    const job = await foreman.api.request('GET', `/jobs/${body.jobId}`);
    expect(job.total).toBe(LINES_RUN);
    expect(job.counts.queued).toBe(LINES_RUN);
    // Read a slice at a time, the import waits in the store, every task of it (not just those past
    // --hot-queue-max), until workers page it in. PostgreSQL holds every queued task in the store anyway.
    if (store === 'sqlite') expect((await foreman.api.request('GET', '/stats')).queue.spilled).toBe(LINES_RUN);

    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 32 });
    const stream = await (await fetch(`${foreman.url}/jobs/${body.jobId}/results`)).text();
    const results = stream.trim().split('\n').map((l) => JSON.parse(l) as { id: string; state: string; result: { i: number }; attempt: number });
    expect(results).toHaveLength(LINES_RUN);
    expect(results.every((r) => r.state === 'succeeded' && r.attempt === 1)).toBe(true);
    expect(new Set(results.map((r) => r.result.i)).size).toBe(LINES_RUN);
    // Each task kept its line's fields: line 4,998 (priority 0, maxAttempts 2) and line 4,997 (priority 2, the default 3).
    const byI = new Map(results.map((r) => [r.result.i, r.id]));
    const t4998 = await foreman.api.request('GET', `/tasks/${byI.get(4998)}`);
    const t4997 = await foreman.api.request('GET', `/tasks/${byI.get(4997)}`);
    expect([t4998.priority, t4998.maxAttempts]).toEqual([0, 2]);
    expect([t4997.priority, t4997.maxAttempts]).toEqual([2, 3]);
    worker.kill();
    foreman.kill('SIGKILL');
  }, 180_000);
});
