import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
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

describe('recurring schedules (sqlite)', () => {
  it('fires each tick once, across a crash: missed ticks fire once (catchUp once) or not at all (skip)', async () => {
    let foreman = await startForeman();
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
    foreman = await startForeman(foreman.args, { dbPath: foreman.dbPath, port: foreman.port });
    const upAt = Date.now();
    await waitFor(async () => (await ticksOf(foreman.url, 'every-second')).some((t) => t > upAt), 'a tick after the restart');
    const every = await ticksOf(foreman.url, 'every-second');
    const skipper = await ticksOf(foreman.url, 'skipper');
    // Each tick one task, one second apart (no tick twice); of those missed while down, one fired (once) or none (skip).
    for (const ticks of [every, skipper]) {
      expect(new Set(ticks).size).toBe(ticks.length);
      for (const t of ticks) expect(t % 1000).toBe(0);
    }
    expect(every.filter((t) => t > downAt && t < upAt - 1000)).toHaveLength(1);
    expect(skipper.filter((t) => t > downAt + 1000 && t < upAt - 1000)).toHaveLength(0);

    expect((await fetch(`${foreman.url}/schedules/skipper`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${foreman.url}/schedules/skipper`)).status).toBe(404);
    await run(process.execPath, [BIN, 'schedule', 'rm', 'every-second', '--foreman', foreman.url]);
    expect(await (await fetch(`${foreman.url}/schedules`)).json()).toEqual({ schedules: [] });
  });

  it('refuses a bad cron expression or time zone, naming the field', async () => {
    const foreman = await startForeman();
    const badCron = await postRaw(`${foreman.url}/schedules`, JSON.stringify({ name: 'x', cron: 'every day', task: { type: 'identity' } }));
    expect(badCron).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/cron' } });
    const badZone = await postRaw(`${foreman.url}/schedules`, JSON.stringify({ name: 'x', cron: '0 9 * * *', timezone: 'Mars/Olympus', task: { type: 'identity' } }));
    expect(badZone).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/timezone' } });
    const badTask = await postRaw(`${foreman.url}/schedules`, JSON.stringify({ name: 'x', cron: '0 9 * * *', task: { params: 1 } }));
    expect(badTask).toMatchObject({ status: 400, body: { field: 'body/task/type' } });
  });
});

describe.each(STORES.filter((s) => s === 'postgres'))('recurring schedules (%s)', (store) => {
  it('refuses schedules it cannot keep across restarts yet, naming the field', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const res = await postRaw(`${foreman.url}/schedules`, JSON.stringify({ name: 'x', cron: '0 9 * * *', task: { type: 'identity' } }));
    expect(res).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/cron' } });
  });
});
