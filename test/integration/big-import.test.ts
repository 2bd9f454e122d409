/**
 * A big NDJSON job is written in slices (foreman/store/staged-submissions.ts): a real foreman on a
 * real SQLite file takes 200,000 lines while GET /health keeps answering, and the job arrives whole,
 * idempotency keys honoured across slices. A foreman killed (SIGKILL) in the middle of such an
 * import shows nothing of it after a restart. How long the foreman stalls is measured by the bench
 * (`npm run bench -- --scenario import-stall`), not here.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startForeman } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const LINES = 200_000;

/** Line i is a noop task; every 1,000th has an idempotency key, and the last line repeats line 0's key and params. */
function ndjson(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines - 1; i++) out.push(i % 1000 === 0 ? `{"type":"noop","key":"k${i}","params":{"i":${i}}}` : `{"type":"noop","params":{"i":${i}}}`);
  out.push('{"type":"noop","key":"k0","params":{"i":0}}');
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
    const res = await postJob(foreman.url, ndjson(LINES));
    importing = false;
    await probing;
    expect(res.status).toBe(202);
    const { jobId, count } = (await res.json()) as { jobId: string; count: number };
    expect(count).toBe(LINES);
    expect(healthDuring).toBeGreaterThan(0);

    const job = await foreman.api.request('GET', `/jobs/${jobId}`);
    // 199,999 tasks: the last line named line 0's task by its key.
    expect(job.total).toBe(LINES - 1);
    expect(job.counts.queued).toBe(LINES - 1);
    const rows = readDb(foreman.dbPath, (db) => ({
      tasks: db.prepare(`SELECT count(*) AS n, count(DISTINCT params) AS distinct_params FROM tasks WHERE job_id = ?`).get(jobId),
      keyed: db.prepare(`SELECT count(*) FROM tasks WHERE job_id = ? AND idem_key IS NOT NULL`).pluck().get(jobId),
      staged: db.prepare(`SELECT count(*) FROM staged_submissions`).pluck().get(),
    }));
    expect(rows.tasks).toEqual({ n: LINES - 1, distinct_params: LINES - 1 });
    expect(rows.keyed).toBe(LINES / 1000);
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
    const posting = postJob(first.url, ndjson(LINES)).catch((err: unknown) => err);
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
