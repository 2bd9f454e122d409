/**
 * Notices between foremen that this foreman's ledger sends and acts on: settled tasks (batched, one
 * NOTIFY per turn, so that the others' result streams fetch the rows) and cancels to push to the
 * workers this foreman holds.
 */
import type { TaskRef } from '../../../shared/protocol.js';
import type { LiveTask } from '../../task-types.js';
import type { Cancelling } from './pg-control-sql.js';
import { payloads, type PgDb } from './pg-db.js';

/** Announces settled task ids to the other foremen, once per event-loop turn for all settled in it. */
export class SettledNotices {
  private pending: string[] = [];

  constructor(
    private readonly db: PgDb,
    private readonly foremanId: string,
  ) {}

  add(taskId: string): void {
    this.pending.push(taskId);
    if (this.pending.length === 1) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const ids = this.pending;
    this.pending = [];
    for (const p of payloads(ids)) void this.db.notify('gaffer_settled', `${this.foremanId} ${p}`).catch(() => {});
  };
}

/**
 * Marks the running attempts these notices name as cancelling, among the tasks this foreman holds, and
 * pushes their cancels to the workers running them (one push per worker); other notices are ignored.
 */
export function pushCancels(notices: readonly Cancelling[], live: ReadonlyMap<string, LiveTask>, onCancel: (workerId: string, refs: TaskRef[]) => void): void {
  const pushes = new Map<string, TaskRef[]>();
  for (const n of notices) {
    const task = live.get(n.taskId);
    if (!task || task.attempt !== n.attempt || task.state !== 'running' || task.workerId === null) continue;
    task.state = 'cancelling';
    const refs = pushes.get(task.workerId) ?? [];
    refs.push({ taskId: task.id, attempt: task.attempt });
    pushes.set(task.workerId, refs);
  }
  for (const [workerId, refs] of pushes) onCancel(workerId, refs);
}
