/**
 * Push dispatch: matches queued tasks to workers with free slots, once per
 * event-loop turn in which something changed. Each pass deals tasks one per
 * worker per round (so a burst spreads over idle workers rather than filling
 * the first), writes the new attempts in one commit, and then sends each
 * worker its assignments in as few frames as possible.
 */
import type { Assignment } from '../shared/protocol.js';
import type { ForemanEvents } from './events.js';
import type { Fleet, WorkerEntry } from './fleet.js';
import type { GroupCommit } from './store/group-commit.js';
import type { TaskManager } from './task-manager.js';
import type { LiveTask } from './task-types.js';

export class Dispatcher {
  private scheduled = false;
  private paused = false;
  private rotation = 0;
  constructor(
    private readonly tasks: TaskManager,
    private readonly fleet: Fleet,
    private readonly commit: GroupCommit,
    private readonly events: ForemanEvents,
  ) {}

  /** Asks for a dispatch pass at the end of this turn. Cheap to call often. */
  schedule(): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pass();
    });
  }

  /** Stops assigning work (drain). Running tasks continue. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** One dispatch pass; returns how many tasks were assigned. */
  pass(): number {
    if (this.paused || this.tasks.queues.size === 0) return 0;
    const workers = this.fleet.dispatchable();
    if (workers.length === 0) return 0;
    const start = this.rotation++ % workers.length;
    const batches = new Map<WorkerEntry, Assignment[]>();
    const now = Date.now();
    let assigned = 0;
    for (let progress = true; progress; ) {
      progress = false;
      for (let i = 0; i < workers.length; i++) {
        const worker = workers[(start + i) % workers.length];
        if (worker.running.size >= worker.capacity) continue;
        const task = this.pick(worker);
        if (!task) continue;
        const group = worker.skills.get(task.type) as string;
        const assignment = this.tasks.assign(task, worker.id, now);
        this.fleet.addRunning(worker, task, group);
        let batch = batches.get(worker);
        if (!batch) batches.set(worker, (batch = []));
        batch.push(assignment);
        if (this.events.listenerCount('assigned') > 0) {
          this.events.emit('assigned', { taskId: task.id, type: task.type, workerId: worker.id, attempt: task.attempt, waitedMs: now - task.runAt });
        }
        assigned++;
        progress = true;
      }
    }
    if (assigned === 0) return 0;
    // Assignments leave only once their attempt numbers are durable: a foreman that
    // crashed after sending would otherwise hand out the same attempt twice.
    this.commit.flush();
    for (const [worker, batch] of batches) {
      const session = worker.session;
      if (!session) continue;
      for (const a of batch) session.outbox.add('task.assign', a);
      session.outbox.flush();
    }
    return assigned;
  }

  /** The best ready task this worker can take: highest priority, then oldest, among its skills with group room. */
  private pick(worker: WorkerEntry): LiveTask | undefined {
    let best: LiveTask | undefined;
    for (const [type, group] of worker.skills) {
      if (!this.fleet.groupHasRoom(worker, group)) continue;
      const t = this.tasks.queues.peek(type);
      if (t && (!best || t.priority > best.priority || (t.priority === best.priority && t.seq < best.seq))) best = t;
    }
    return best;
  }
}
