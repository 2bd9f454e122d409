/**
 * A worker moving between foremen, as this foreman's memory sees it: the tasks it holds for the
 * worker are brought in line with what the store says the worker runs now.
 */
import type { LiveTask } from '../../task-types.js';

/**
 * The worker said hello here and `rows` are its running tasks as the store now records them under this
 * foreman: those this foreman held for it that the store no longer shows are forgotten, those it still
 * holds under the same attempt are kept (as cancelling when the store says so), the rest are taken in.
 */
export function takeOverWorker(live: Map<string, LiveTask>, workerId: string, rows: LiveTask[]): LiveTask[] {
  const current = new Set(rows.map((r) => `${r.id}:${r.attempt}`));
  for (const t of [...live.values()]) {
    if (t.workerId === workerId && t.state !== 'queued' && !current.has(`${t.id}:${t.attempt}`)) {
      live.delete(t.id);
      t.state = 'settled';
    }
  }
  return rows.map((r) => {
    const held = live.get(r.id);
    if (held && held.attempt === r.attempt) {
      if (r.state === 'cancelling') held.state = 'cancelling';
      return held;
    }
    live.set(r.id, r);
    return r;
  });
}

/** Another foreman took the worker over: drop what this one held for it (the store has moved on); returns it. */
export function letGoOfWorker(live: Map<string, LiveTask>, workerId: string): LiveTask[] {
  const gone: LiveTask[] = [];
  for (const t of [...live.values()]) {
    if (t.workerId !== workerId || t.state === 'queued') continue;
    live.delete(t.id);
    t.state = 'settled';
    gone.push(t);
  }
  return gone;
}
