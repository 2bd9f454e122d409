/** JSON views of tasks, jobs and workers as the API returns them. */
import type { WorkerEntry } from '../fleet.js';
import type { AttemptRow, TaskRow } from '../store/task-store.js';
import type { JobState } from '../task-manager.js';
import { HELD_RUN_AT, type LiveTask } from '../task-types.js';
import type { ApiContext } from './context.js';
import type { DependencyView } from '../dependencies/dependencies.js';

/** A task as the API shows it; `deps` is what the dependencies room says of it (Dependencies.describe), when it depends on others. */
export function taskView(ctx: ApiContext, row: TaskRow, attempts?: AttemptRow[], deps?: DependencyView) {
  const live: LiveTask | undefined = ctx.tasks.live.get(row.id);
  // Memory is ahead of the store by at most one commit; show the newer of the two.
  const state = live && live.state !== 'settled' ? live.state : row.state;
  const view: Record<string, unknown> = {
    id: row.id,
    jobId: row.jobId,
    key: row.key,
    type: row.type,
    state,
    status: row.status ?? (state === 'succeeded' ? 'succeeded' : null),
    priority: row.priority,
    attempt: live?.attempt ?? row.attempt,
    failures: live?.failures ?? row.failures,
    losses: live?.losses ?? row.losses,
    maxAttempts: row.maxAttempts,
    timeoutMs: row.timeoutMs,
    workerId: live ? live.workerId : row.workerId,
    createdAt: row.createdAt,
    runAt: live?.runAt ?? row.runAt,
    startedAt: live?.startedAt ?? row.startedAt,
    finishedAt: row.finishedAt,
    progress: live?.progress ?? null,
    params: row.params,
    result: row.result,
    error: row.error,
  };
  const runAt = live?.runAt ?? row.runAt;
  if (deps) {
    view.dependsOn = deps.dependsOn;
    // Held (queued, never due) until its parents decide it.
    if (state === 'queued' && runAt === HELD_RUN_AT) view.heldBy = 'dependencies';
  }
  if (state === 'queued' && runAt !== HELD_RUN_AT) {
    const heldBy = runAt > Date.now() ? 'delay' : ctx.typeLimits.heldBy(row.type);
    if (heldBy) view.heldBy = heldBy;
  }
  if (state === 'queued' && !ctx.fleet.hasSkill(row.type)) {
    view.waitingFor = `no connected worker handles type "${row.type}"`;
  }
  if (attempts) view.attempts = attempts;
  return view;
}

export function jobView(ctx: ApiContext, job: JobState) {
  const settled = job.counts.succeeded + job.counts.failed + job.counts.cancelled;
  return {
    id: job.id,
    key: job.key,
    createdAt: job.createdAt,
    closedAt: job.closedAt,
    cancelledAt: job.cancelledAt,
    total: job.total,
    counts: job.counts,
    settled,
    progress: job.total === 0 ? 0 : settled / job.total,
    complete: ctx.tasks.isJobComplete(job),
  };
}

export function workerView(entry: WorkerEntry, now: number) {
  return {
    id: entry.id,
    state: entry.state,
    draining: entry.draining,
    skills: [...entry.skills].map(([type, group]) => ({ type, group })),
    capacity: entry.capacity,
    slotsInUse: entry.running.size,
    hotSkills: entry.hotSkills,
    groupLimits: entry.groupLimits,
    groupUsage: Object.fromEntries(entry.groupUsage),
    running: [...entry.running.values()].map((t) => ({
      id: t.id,
      type: t.type,
      attempt: t.attempt,
      state: t.state,
      startedAt: t.startedAt,
      progress: t.progress,
    })),
    lastHeartbeatAt: entry.lastHeartbeatAt,
    lastHeartbeatAgeMs: entry.lastHeartbeatAt === null ? null : now - entry.lastHeartbeatAt,
    lastSeenAgeMs: now - entry.lastSeenAt,
    connectedAt: entry.connectedAt,
    disconnectedAt: entry.disconnectedAt,
    address: entry.address,
    statusUrl: entry.statusUrl,
    reconnects: entry.reconnects,
    meta: entry.meta,
  };
}
