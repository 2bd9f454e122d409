import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers/postgres.js';
import { BIN, spawnWorker, startForeman } from '../helpers/processes.js';
import { postRaw } from '../helpers/tasks.js';
import { storeArgs, STORES } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);

/** Tasks a schedule submitted, by tick (from their keys `schedule:NAME:TICK`). */
async function ticksOf(url: string, name: string): Promise<number[]> {
  const { tasks } = await (await fetch(`${url}/tasks?limit=1000`)).json();
  return tasks.filter((t: any) => t.key?.startsWith(`schedule:${name}:`)).map((t: any) => Number(t.key.split(':')[2])).sort((a: number, b: number) => a - b);
}

/** Several processes start in these tests, on a machine other tests share: allow each a minute. */
const SLOW_START_MS = 60_000;

/** The sum of `gaffer_schedule_firings_total{name}` on these foremen. */
async function firingsCounted(urls: string[], name: string): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const m = (await (await fetch(`${url}/metrics`)).text()).match(new RegExp(`gaffer_schedule_firings_total\\{name="${name}"\\} (\\d+)`));
    sum += m ? Number(m[1]) : 0;
  }
  return sum;
}

describe.each(STORES)('recurring schedules (%s)', (store) => {
  it('fires each tick once, across a crash: missed ticks fire once (catchUp once) or not at all (skip)', async () => {
    let foreman = await startForeman(await storeArgs(store), { startTimeoutMs: SLOW_START_MS });
    await spawnWorker(foreman.wsUrl);
    const { stdout } = await run(process.execPath, [BIN, 'schedule', 'add', 'every-second', '* * * * * *', '--type', 'identity', '--params', '"tick"', '--foreman', foreman.url]);
    expect(stdout).toMatch(/schedule every-second: next tick 20/);
    const skip = await postRaw(`${foreman.url}/schedules`, JSON.stringify({ name: 'skipper', cron: '* * * * * *', timezone: 'Europe/Paris', catchUp: 'skip', task: { type: 'identity', params: 's' } }));
    expect(skip).toMatchObject({ status: 201, body: { name: 'skipper', catchUp: 'skip', timezone: 'Europe/Paris', firings: 0 } });
    await waitFor(async () => (await ticksOf(foreman.url, 'every-second')).length >= 2 && (await ticksOf(foreman.url, 'skipper')).length >= 2, 'two ticks of each');
    const listed = JSON.parse((await run(process.execPath, [BIN, 'schedule', 'list', '--json', '--foreman', foreman.url])).stdout);
    expect(listed.map((s: any) => s.name)).toEqual(['every-second', 'skipper']);
    const metrics = await (await fetch(`${foreman.url}/metrics`)).text();
    expect(metrics).toMatch(/gaffer_schedule_firings_total\{name="every-second"\} [1-9]/);

    foreman.kill('SIGKILL');
    await foreman.exited();
    const downAt = Date.now();
    // Down for at least three ticks.
    await waitFor(() => Date.now() > downAt + 3500, 'three ticks missed', 10_000, 100);
    foreman = await startForeman(foreman.args, { dbPath: foreman.dbPath, port: foreman.port, startTimeoutMs: SLOW_START_MS });
    // What the restarted foreman found due: the first missed tick, and the next tick from its start.
    const once = await foreman.waitForLine((l) => l.msg === 'firing the first schedule tick missed while down, skipping the rest' && l.schedule === 'every-second', 'catch-up of every-second');
    const skipped = await foreman.waitForLine((l) => l.msg === 'skipping schedule ticks missed while down' && l.schedule === 'skipper', 'skip of skipper');
    const [missed, resumed] = [once.missedFrom as number, once.next as number];
    // Down for three ticks: at least two were missed after the first.
    expect(resumed - missed).toBeGreaterThanOrEqual(2000);
    await waitFor(async () => (await ticksOf(foreman.url, 'every-second')).some((t) => t >= resumed) && (await ticksOf(foreman.url, 'skipper')).some((t) => t >= (skipped.next as number)), 'ticks after the restart');
    const every = await ticksOf(foreman.url, 'every-second');
    const skipper = await ticksOf(foreman.url, 'skipper');
    // Each tick one task, on the second (no tick twice); of those missed while down, the first fired (once) or none (skip).
    for (const ticks of [every, skipper]) {
      expect(new Set(ticks).size).toBe(ticks.length);
      for (const t of ticks) expect(t % 1000).toBe(0);
    }
    expect(every.filter((t) => t >= missed && t < resumed)).toEqual([missed]);
    expect(skipper.filter((t) => t >= (skipped.missedFrom as number) && t < (skipped.next as number))).toEqual([]);

    expect((await fetch(`${foreman.url}/schedules/skipper`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${foreman.url}/schedules/skipper`)).status).toBe(404);
    await run(process.execPath, [BIN, 'schedule', 'rm', 'every-second', '--foreman', foreman.url]);
    expect(await (await fetch(`${foreman.url}/schedules`)).json()).toEqual({ schedules: [] });
    // Three processes and a restart, on a machine other tests share.
  }, 120_000);

  it('refuses a bad cron expression or time zone, naming the field', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const badCron = await postRaw(`${foreman.url}/schedules`, JSON.stringify({ name: 'x', cron: 'every day', task: { type: 'identity' } }));
    expect(badCron).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/cron' } });
    const badZone = await postRaw(`${foreman.url}/schedules`, JSON.stringify({ name: 'x', cron: '0 9 * * *', timezone: 'Mars/Olympus', task: { type: 'identity' } }));
    expect(badZone).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/timezone' } });
    const badTask = await postRaw(`${foreman.url}/schedules`, JSON.stringify({ name: 'x', cron: '0 9 * * *', task: { params: 1 } }));
    expect(badTask).toMatchObject({ status: 400, body: { field: 'body/task/type' } });
  });
});

describe.runIf(postgresAvailable())('recurring schedules across foremen sharing one PostgreSQL database', () => {
  it('fires each tick once fleet-wide, and a schedule made on one foreman is listed and fired by the other', async () => {
    const args = await storeArgs('postgres');
    const a = await startForeman(args, { startTimeoutMs: SLOW_START_MS });
    const b = await startForeman(args, { startTimeoutMs: SLOW_START_MS });

    // Three ticks, three to five seconds from now (then next minute): every foreman's timer goes off at each.
    const second = Math.floor(Date.now() / 1000);
    const cron = `${[3, 4, 5].map((d) => (second + d) % 60).join(',')} * * * * *`;
    expect((await postRaw(`${a.url}/schedules`, JSON.stringify({ name: 'thrice', cron, task: { type: 'identity', params: 't' } }))).status).toBe(201);
    expect((await (await fetch(`${b.url}/schedules`)).json()).schedules.map((s: any) => s.name)).toEqual(['thrice']);
    const third = (second + 5) * 1000;
    const after = await waitFor(async () => {
      const s = await (await fetch(`${b.url}/schedules/thrice`)).json();
      return s.nextRunAt > third && s;
    }, 'the third tick fired');
    // One task per tick, and each tick counted once in the row and once in the foremen's metrics together
    // (a tick fired by both would count twice in each).
    expect(await ticksOf(b.url, 'thrice')).toEqual([second + 3, second + 4, second + 5].map((t) => t * 1000));
    expect(after.firings).toBe(3);
    // The metric is counted just after the commit that the row shows.
    await waitFor(async () => (await firingsCounted([a.url, b.url], 'thrice')) >= 3, 'the firings counted');
    expect(await firingsCounted([a.url, b.url], 'thrice')).toBe(3);
    // Replaced through B: the same schedule (firings and creation kept), seen from A.
    const replaced = await postRaw(`${b.url}/schedules`, JSON.stringify({ name: 'thrice', cron: '0 0 1 1 *', task: { type: 'identity', params: 'yearly' } }));
    expect(replaced).toMatchObject({ status: 200, body: { cron: '0 0 1 1 *', firings: 3, createdAt: after.createdAt } });
    expect(await (await fetch(`${a.url}/schedules/thrice`)).json()).toMatchObject({ cron: '0 0 1 1 *', task: { params: 'yearly' }, firings: 3 });

    // Made on A, which then dies: B heard of it (NOTIFY) and fires it alone.
    expect((await postRaw(`${a.url}/schedules`, JSON.stringify({ name: 'every-second', cron: '* * * * * *', task: { type: 'identity' } }))).status).toBe(201);
    a.kill('SIGKILL');
    await a.exited();
    const killedAt = Date.now();
    const ticks = await waitFor(async () => {
      const t = await ticksOf(b.url, 'every-second');
      return t.filter((x) => x > killedAt).length >= 2 && t;
    }, 'two ticks fired by B');
    expect(new Set(ticks).size).toBe(ticks.length);
    // A tick's task commits before the row's advance (see pg-schedules.ts), so the count can trail the tasks by one commit.
    await waitFor(async () => (await (await fetch(`${b.url}/schedules/every-second`)).json()).firings >= 2, 'two firings counted by B');
  }, 120_000);
});
