/**
 * Checkpoints: a running attempt saves a small state (`ctx.checkpoint(state)`)
 * and the next attempt of the task starts from it (`ctx.lastCheckpoint`), so
 * a six-hour task on a reclaimed spot instance does not start again from zero.
 *
 * Fenced like results: only the current attempt of a task, on the worker
 * that runs it, may save; anything else is refused in `checkpoint.ack`. An
 * accepted checkpoint is acknowledged once it is durable (group commit), so a
 * handler that awaited it knows a foreman crash will not lose it. The latest
 * one per task is kept (earlier ones are overwritten), also after the task
 * settles (GET /tasks/:id shows it; a retried task resumes from it), until
 * retention deletes the task.
 */
import { decodeValue, encodeValue } from '../../shared/codec.js';
import type { Assignment, Checkpoint, CheckpointAck } from '../../shared/protocol.js';
import type { Session } from '../session.js';
import type { TaskLedger } from '../ledger.js';
import type { LiveTask } from '../task-types.js';
import { valueProblem } from '../value-limits.js';
import type { CheckpointInfo, CheckpointRows } from './checkpoint-store.js';

/** How often checkpoints of tasks that retention removed are deleted, in ms. */
const ORPHAN_SWEEP_MS = 10 * 60 * 1000;

export interface CheckpointLimits {
  maxCheckpointBytes: number;
  maxValueDepth: number;
}

export class Checkpoints {
  /** Ids of tasks with a saved checkpoint that may run again: an assignment reads the store only for these. */
  private readonly resumable = new Set<string>();
  /** Checkpoints accepted but not yet committed, so an assignment made before the commit still carries them. */
  private readonly pending = new Map<string, NonNullable<Assignment['checkpoint']>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: CheckpointRows,
    private readonly tasks: Pick<TaskLedger, 'live' | 'owns'>,
    private readonly limits: CheckpointLimits,
  ) {}

  /** Loads which tasks have checkpoints and starts the orphan sweep. */
  start(): void {
    for (const id of this.store.resumableIds()) this.resumable.add(id);
    this.timer ??= setInterval(() => this.store.purgeOrphans(), ORPHAN_SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Fences, stores and (once durable) acknowledges checkpoints a worker sent. */
  receive(workerId: string, session: Session, checkpoints: Checkpoint[]): void {
    for (const c of checkpoints) {
      const reason = this.refusal(workerId, c);
      const ack = (accepted: boolean, why?: string): CheckpointAck =>
        why === undefined ? { taskId: c.taskId, attempt: c.attempt, seq: c.seq, accepted } : { taskId: c.taskId, attempt: c.attempt, seq: c.seq, accepted, reason: why };
      if (reason !== null) {
        session.send({ kind: 'checkpoint.ack', checkpoints: [ack(false, reason)] });
        continue;
      }
      const state = encodeValue(c.state);
      const savedAt = Date.now();
      const { taskId, attempt } = c;
      this.pending.set(taskId, { state: c.state, savedAt, attempt });
      this.resumable.add(taskId);
      this.store.save(taskId, attempt, state, savedAt).then(
        (saved) => {
          if (this.pending.get(taskId)?.savedAt === savedAt) this.pending.delete(taskId);
          // A task this foreman requeues itself (a retry) is not claimed again: it keeps its checkpoint with it.
          const live = this.tasks.live.get(taskId);
          if (saved && this.store.carried && live && (live.storedCheckpoint?.savedAt ?? 0) <= savedAt) live.storedCheckpoint = { state, attempt, savedAt };
          session.send({ kind: 'checkpoint.ack', checkpoints: [saved ? ack(true) : ack(false, 'stale attempt')] });
        },
        () => session.send({ kind: 'checkpoint.ack', checkpoints: [ack(false, 'store write failed')] }),
      );
    }
  }

  /** Adds the task's latest checkpoint to its assignment, if it has one. Called for every assignment: a set lookup when none. */
  attach(task: LiveTask, assignment: Assignment): void {
    const pending = this.pending.get(task.id);
    if (pending) {
      assignment.checkpoint = pending;
      return;
    }
    const carried = task.storedCheckpoint;
    if (carried) {
      assignment.checkpoint = { state: decodeValue(carried.state), savedAt: carried.savedAt, attempt: carried.attempt };
      return;
    }
    if (!this.resumable.has(task.id)) return;
    const row = this.store.load(task.id);
    if (row) assignment.checkpoint = { state: decodeValue(row.state), savedAt: row.saved_at, attempt: row.attempt };
  }

  /** A task succeeded: it will not run again, so assignments stop looking for its checkpoint. */
  settled(taskId: string, state: string): void {
    if (state === 'succeeded') this.resumable.delete(taskId);
  }

  /** The latest checkpoint's time and size, for GET /tasks/:id. */
  async info(taskId: string): Promise<CheckpointInfo | null> {
    const pending = this.pending.get(taskId);
    const stored = await this.store.info(taskId);
    if (!pending) return stored;
    return { attempt: pending.attempt, bytes: encodeValue(pending.state).length, savedAt: pending.savedAt, saves: (stored?.saves ?? 0) + 1 };
  }

  private refusal(workerId: string, c: Checkpoint): string | null {
    if (!this.tasks.owns(workerId, c)) {
      const task = this.tasks.live.get(c.taskId);
      if (!task) return 'unknown or settled task';
      return task.attempt !== c.attempt ? 'stale attempt' : 'not your task';
    }
    const problem = valueProblem(`checkpoint of task ${c.taskId}`, c.state, { maxBytes: this.limits.maxCheckpointBytes, maxDepth: this.limits.maxValueDepth, bytesOption: 'maxCheckpointBytes' });
    return problem === null ? null : problem.message;
  }
}
