/** Hot-model routing decisions: how a task ranks on a worker, and when a deferred task is looked at again. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WorkerEntry } from '../../foreman/fleet.js';
import { HOT_ELSEWHERE, HOT_HERE, HotRouting, NOBODY_HOT, SKIP } from '../../foreman/hot-routing/hot-routing.js';
import type { LiveTask } from '../../foreman/task-types.js';

const worker = (id: string, hotSkills: string[], extra: Partial<WorkerEntry> = {}) =>
  ({ id, hotSkills, session: {}, state: 'active', draining: false, ...extra }) as unknown as WorkerEntry;
const task = (type: string, runAt: number) => ({ type, runAt }) as LiveTask;

afterEach(() => {
  vi.useRealTimers();
});

describe('hot-model routing', () => {
  it('ranks hot here before nobody hot before hot elsewhere, and holds a fresh task for a hot worker', () => {
    const routing = new HotRouting(250, () => {});
    const hot = worker('hot', ['caption']);
    const cold = worker('cold', []);
    expect(routing.beginPass([hot, cold])).toBe(true);
    expect(routing.rank(hot, task('caption', 1000), 1100)).toBe(HOT_HERE);
    expect(routing.rank(cold, task('upscale', 1000), 1100)).toBe(NOBODY_HOT);
    expect(routing.rank(cold, task('caption', 1000), 1100)).toBe(SKIP);
    // Waited the whole bound: a cold worker may take it rather than idle.
    expect(routing.rank(cold, task('caption', 1000), 1250)).toBe(HOT_ELSEWHERE);
    expect(HOT_HERE < NOBODY_HOT && NOBODY_HOT < HOT_ELSEWHERE).toBe(true);
  });

  it('counts only hot workers that can take work: draining, stale or disconnected ones do not hold tasks back', () => {
    const routing = new HotRouting(250, () => {});
    const cold = worker('cold', []);
    for (const gone of [worker('d', ['caption'], { draining: true }), worker('s', ['caption'], { state: 'stale' }), worker('o', ['caption'], { session: null })]) {
      expect(routing.beginPass([gone, cold])).toBe(false);
      expect(routing.rank(cold, task('caption', 0), 1)).toBe(NOBODY_HOT);
    }
  });

  it('wakes dispatch once the earliest held task may go to a cold worker', () => {
    vi.useFakeTimers();
    const wake = vi.fn();
    const routing = new HotRouting(250, wake);
    routing.beginPass([worker('hot', ['caption']), worker('cold', [])]);
    const cold = worker('cold', []);
    routing.rank(cold, task('caption', 1000), 1000);
    routing.rank(cold, task('caption', 900), 1000);
    routing.endPass(1000);
    vi.advanceTimersByTime(150);
    expect(wake).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(wake).toHaveBeenCalledTimes(1);
    routing.stop();
  });
});
