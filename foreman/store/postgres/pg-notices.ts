/**
 * Notices between foremen that this foreman's ledger sends and acts on: settled tasks (batched, one
 * NOTIFY per turn, so that the others' result streams fetch the rows), cancels to push to the workers
 * this foreman holds, work announced by type, job changes and workers moving between foremen.
 */
import type { TaskRef } from '../../../shared/protocol.js';
import type { LiveTask } from '../../task-types.js';
import type { Cancelling } from './pg-control-sql.js';
import { parseList, payloads, type Channel, type PgDb } from './pg-db.js';

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

/** What the ledger does with each notice it hears (routeNotice decodes the payloads). */
export interface NoticeHandlers {
  /** Work of these types was submitted, retried or requeued. */
  work(types: string[]): void;
  /** Running attempts to cancel, each naming the foreman that holds it. */
  cancels(notices: Cancelling[]): void;
  /** Tasks that `foremanId` settled. */
  settled(foremanId: string, taskIds: string[]): void;
  /** Job `jobId` changed (closed, cancelled, tasks added). */
  job(jobId: string): void;
  /** A foreman (maybe this one) took over a worker's tasks at its hello. */
  workerMoved(workerId: string, foremanId: string): void;
}

/** Decodes one notification and hands it to its handler; channels heard by other rooms are left to them. */
export function routeNotice(channel: Channel, payload: string, on: NoticeHandlers): void {
  switch (channel) {
    case 'gaffer_work':
      return on.work(parseList(payload));
    case 'gaffer_cancel':
      return on.cancels(payload.split('\n').map((l) => JSON.parse(l) as Cancelling));
    case 'gaffer_settled': {
      const space = payload.indexOf(' ');
      return on.settled(payload.slice(0, space), payload.slice(space + 1).split(','));
    }
    case 'gaffer_job':
      return on.job(payload);
    case 'gaffer_worker': {
      const moved = JSON.parse(payload) as { workerId: string; foremanId: string };
      return on.workerMoved(moved.workerId, moved.foremanId);
    }
    // Heard by their own rooms: the worker tokens (pg-worker-tokens.ts), the schedules (schedules/pg-schedules.ts),
    // the type limits (pg-type-limits.ts) and the dependency rows (pg-dependencies.ts).
    case 'gaffer_token':
    case 'gaffer_schedule':
    case 'gaffer_limits':
    case 'gaffer_deps':
      return;
    default: {
      const never: never = channel;
      throw new Error(`unhandled channel ${String(never)}`);
    }
  }
}
