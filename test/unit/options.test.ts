/** Option resolution: one set of defaults, merged, range-checked, with a TypeError naming the bad field. */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveForemanOptions, type ForemanOptions } from '../../foreman/options.js';
import { WORKER_DEFAULTS, resolveWorkerOptions, type WorkerOptions } from '../../worker/options.js';

/** Asserts that resolving throws a TypeError whose message names `field`. */
function rejects(resolve: () => unknown, field: string): void {
  let thrown: unknown;
  try {
    resolve();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected a TypeError naming ${field}`).toBeInstanceOf(TypeError);
  expect((thrown as Error).message).toContain(field);
}

describe('resolveForemanOptions', () => {
  it('returns the defaults when given nothing', () => {
    expect(resolveForemanOptions()).toEqual(DEFAULTS);
    expect(resolveForemanOptions({})).toEqual(DEFAULTS);
  });

  it('has the documented defaults', () => {
    expect(DEFAULTS).toMatchObject({
      port: 9000,
      db: './gaffer.db',
      sync: 'normal',
      heartbeatIntervalMs: 5000,
      staleAfterMs: 15_000,
      leaseMs: 30_000,
      graceMs: 5000,
      restartGraceMs: 15_000,
      maxAttempts: 3,
      maxLosses: 5,
      retryBackoffMs: 1000,
      retryBackoffMaxMs: 60_000,
      retentionMs: 7 * 24 * 3600 * 1000,
      maxProtocolErrors: 10,
      helloTimeoutMs: 10_000,
      maxFrameBytes: 16 * 1024 * 1024,
    });
  });

  it('merges given values over the defaults and ignores undefined ones', () => {
    const o = resolveForemanOptions({ port: 0, graceMs: 250, db: ':memory:', maxAttempts: undefined });
    expect(o.port).toBe(0);
    expect(o.graceMs).toBe(250);
    expect(o.db).toBe(':memory:');
    expect(o.maxAttempts).toBe(DEFAULTS.maxAttempts);
    expect(o.leaseMs).toBe(DEFAULTS.leaseMs);
  });

  it('returns a frozen object and never changes DEFAULTS', () => {
    const o = resolveForemanOptions({ port: 1234 });
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(DEFAULTS.port).toBe(9000);
  });

  it.each<[keyof ForemanOptions, unknown]>([
    ['port', -1],
    ['port', 65536],
    ['port', 80.5],
    ['port', '9000'],
    ['heartbeatIntervalMs', 0],
    ['heartbeatIntervalMs', Number.NaN],
    ['graceMs', -1],
    ['restartGraceMs', -5],
    ['maxAttempts', 0],
    ['maxAttempts', 1001],
    ['maxLosses', 0],
    ['retryBackoffMs', -1],
    ['retentionMs', Number.POSITIVE_INFINITY],
    ['sweepIntervalMs', 1],
    ['maxProtocolErrors', 0],
    ['helloTimeoutMs', 0],
    ['maxMessagesPerSecond', 0],
    ['maxFrameBytes', 100],
    ['offlineRetentionMs', -1],
    ['sync', 'sometimes'],
    ['db', ''],
  ])('rejects %s = %s with a TypeError naming it', (field, value) => {
    rejects(() => resolveForemanOptions({ [field]: value } as Partial<ForemanOptions>), field);
  });

  it('checks the liveness timings against each other', () => {
    // Stale before the first heartbeat could arrive, or a lease shorter than staleness, make no sense.
    rejects(() => resolveForemanOptions({ heartbeatIntervalMs: 5000, staleAfterMs: 4000 }), 'staleAfterMs');
    rejects(() => resolveForemanOptions({ staleAfterMs: 20_000, leaseMs: 10_000 }), 'leaseMs');
    rejects(() => resolveForemanOptions({ retryBackoffMs: 5000, retryBackoffMaxMs: 1000 }), 'retryBackoffMaxMs');
    expect(resolveForemanOptions({ heartbeatIntervalMs: 50, staleAfterMs: 150, leaseMs: 300, graceMs: 0 })).toMatchObject({ staleAfterMs: 150, leaseMs: 300 });
  });

  it('accepts the boundary values', () => {
    expect(() => resolveForemanOptions({ port: 65535, maxAttempts: 1000, maxLosses: 1, graceMs: 0, retryBackoffMs: 0, retryBackoffMaxMs: 0 })).not.toThrow();
    expect(() => resolveForemanOptions({ sync: 'full' })).not.toThrow();
  });
});

describe('resolveWorkerOptions', () => {
  it('returns the defaults, with the worker path added to the foreman URL', () => {
    const o = resolveWorkerOptions();
    expect(o).toEqual({ ...WORKER_DEFAULTS, foreman: 'ws://127.0.0.1:9000/ws/worker' });
    expect(WORKER_DEFAULTS).toMatchObject({ reconnectMinMs: 200, reconnectMaxMs: 10_000, resultBufferSize: 10_000, drainTimeoutMs: 30_000, limits: {} });
    expect(WORKER_DEFAULTS.concurrency).toBeGreaterThanOrEqual(1);
    expect(WORKER_DEFAULTS.id.length).toBeGreaterThan(0);
  });

  it.each([
    ['ws://host:9000', 'ws://host:9000/ws/worker'],
    ['ws://host:9000/', 'ws://host:9000/ws/worker'],
    ['wss://host', 'wss://host/ws/worker'],
    ['ws://host:9000/ws/worker', 'ws://host:9000/ws/worker'],
    ['ws://host:9000/ws/other', 'ws://host:9000/ws/other'],
  ])('normalizes foreman %s to %s', (given, expected) => {
    expect(resolveWorkerOptions({ foreman: given }).foreman).toBe(expected);
  });

  it('merges given values, ignores undefined ones, and freezes the result', () => {
    const o = resolveWorkerOptions({ id: 'w-1', concurrency: 3, limits: { gpu: 1 }, workerToken: undefined });
    expect(o).toMatchObject({ id: 'w-1', concurrency: 3, limits: { gpu: 1 }, workerToken: WORKER_DEFAULTS.workerToken });
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(WORKER_DEFAULTS)).toBe(true);
  });

  it.each<[string, Partial<WorkerOptions>]>([
    ['foreman', { foreman: 'ftp://host:9000' }],
    ['foreman', { foreman: 'host:9000' }],
    ['idInUseMaxTries', { idInUseMaxTries: 0 }],
    ['id', { id: '' }],
    ['id', { id: 'x'.repeat(201) }],
    ['concurrency', { concurrency: 0 }],
    ['concurrency', { concurrency: 1.5 }],
    ['limits.gpu', { limits: { gpu: -1 } }],
    ['limits.gpu', { limits: { gpu: 0.5 } }],
    ['reconnectMinMs', { reconnectMinMs: 0 }],
    ['reconnectMaxMs', { reconnectMinMs: 500, reconnectMaxMs: 100 }],
    ['drainTimeoutMs', { drainTimeoutMs: -1 }],
    ['resultBufferSize', { resultBufferSize: 0 }],
    ['cancelGraceMs', { cancelGraceMs: -1 }],
    ['statusPort', { statusPort: 70_000 }],
  ])('rejects a bad %s with a TypeError naming it', (field, partial) => {
    rejects(() => resolveWorkerOptions(partial), field);
  });

  it('accepts the boundary values', () => {
    expect(() => resolveWorkerOptions({ id: 'x'.repeat(200), concurrency: 1, limits: { gpu: 0 }, reconnectMinMs: 1, reconnectMaxMs: 1, statusPort: 0 })).not.toThrow();
  });
});
