/**
 * Push dispatch: matches queued tasks to workers with free slots, once per
 * event-loop turn in which something changed. Each pass deals tasks one per
 * worker per round (so a burst spreads over idle workers rather than filling
 * the first), writes the new attempts in one commit, and then sends each
 * worker its assignments in as few frames as possible.
 *
 * A pass that is due when the group commit flushes runs inside that flush:
 * the results of this turn and the attempts they make room for share one
 * transaction (one WAL write of the pages they touch) instead of two.
 */
import type { Assignment } from '../shared/protocol.js';
import type { ForemanEvents } from './events.js';
import type { Fleet, WorkerEntry } from './fleet.js';
import type { TaskLedger, TurnCommit } from './ledger.js';
import type { LiveTask } from './task-types.js';
import { HOT_HERE, SKIP, type HotRouting } from './hot-routing/hot-routing.js';
import type { TypeLimits } from './type-limits/type-limits.js';

/** How deep the dispatcher looks past a head task that must not run on a worker, per priority. */
const EXCLUDED_SCAN_LIMIT = 256;

export class Dispatcher {
  /** Called with every new assignment before it is sent, to add what other rooms carry (a checkpoint). */
  onAssign: ((task: LiveTask, assignment: Assignment) => void) | null = null;
  /** Ranks tasks by where their models are loaded (foreman/hot-routing/); null: plain routing. */
  hotRouting: HotRouting | null = null;
  /** Fleet-wide limits per type (foreman/type-limits/); null: none. */
  typeLimits: TypeLimits | null = null;
  /** Set for the length of a pass in which some type has a limit or a pause. */
  private limits: TypeLimits | null = null;
  /** Set for the length of a pass in which some worker reports a hot type. */
  private hot: HotRouting | null = null;
  private scheduled = false;
  private paused = false;
  private rotation = 0;
  private readonly onImmediate = () => {
    if (!this.scheduled) return;
    this.scheduled = false;
    this.pass();
  };

  constructor(
    private readonly tasks: TaskLedger,
    private readonly fleet: Fleet,
    private readonly commit: TurnCommit,
    private readonly events: ForemanEvents,
  ) {
    commit.beforeFlush = () => {
      if (!this.scheduled) return;
      this.scheduled = false;
      this.plan();
    };
  }

  /** Asks for a dispatch pass at the end of this turn. Cheap to call often. */
  schedule(): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    setImmediate(this.onImmediate);
  }

  /**
   * New tasks were submitted and their submission is about to be acknowledged. At idle they are
   * dispatched now: the acknowledgement's write to the client would otherwise go first and delay
   * the assignment by a syscall. Under load (writes already pending) they join this turn's pass.
   */
  submitted(): void {
    if (this.paused) return;
    if (this.scheduled || this.commit.stats.queued > 0) this.schedule();
    else this.pass();
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

  /** One dispatch pass, committed and sent now; returns how many tasks were assigned. */
  pass(): number {
    const assigned = this.plan();
    if (assigned > 0) this.commit.flush();
    return assigned;
  }

  /**
   * Assigns what can be assigned, queues the new attempts' writes, and queues
   * the sending for after their commit. Returns how many tasks were assigned.
   */
  private plan(): number {
    // While the store cannot write, new attempts could not be sent anyway; the recovery schedules a pass.
    if (this.paused || this.commit.state !== 'writable') return 0;
    if (this.tasks.queues.size === 0) {
      if (this.tasks.claims) this.refill(this.fleet.dispatchable());
      return 0;
    }
    const workers = this.fleet.dispatchable();
    if (workers.length === 0) return 0;
    const start = this.rotation++ % workers.length;
    const touched = new Set<WorkerEntry>();
    const now = Date.now();
    const announce = this.events.listenerCount('assigned') > 0;
    let assigned = 0;
    this.hot = this.fleet.hotSkillsSeen && this.hotRouting?.beginPass(this.fleet.workers.values()) ? this.hotRouting : null;
    this.limits = this.typeLimits?.active ? this.typeLimits : null;
    this.limits?.beginPass();
    for (let progress = true; progress; ) {
      progress = false;
      for (let i = 0; i < workers.length; i++) {
        const worker = workers[(start + i) % workers.length];
        if (worker.running.size >= worker.capacity) continue;
        const task = this.pick(worker, now);
        if (!task) continue;
        const group = worker.skills.get(task.type) as string;
        // Each assignment leaves only once the write of its own attempt is durable: a foreman
        // that crashed after sending would otherwise hand out the same attempt twice.
        const assignment = this.tasks.assign(
          task,
          worker.id,
          now,
          (a) => worker.session?.outbox.add('task.assign', a),
          () => this.fleet.removeRunning(worker, task.id),
        );
        this.onAssign?.(task, assignment);
        this.fleet.addRunning(worker, task, group);
        this.limits?.started(task.type, now);
        touched.add(worker);
        if (announce) {
          this.events.emit('assigned', { taskId: task.id, type: task.type, workerId: worker.id, attempt: task.attempt, waitedMs: now - task.runAt });
        }
        assigned++;
        progress = true;
      }
    }
    this.hot?.endPass(now);
    this.hot = null;
    this.limits = null;
    if (this.tasks.claims) this.refill(workers);
    if (assigned === 0) return 0;
    // After the attempts' own callbacks have queued what committed: send it now, one frame per worker.
    this.commit.afterCommit(() => flushOutboxes(touched));
    return assigned;
  }

  /** Tells a ledger that claims from a shared store how many tasks of each type its workers could start now. */
  private refill(workers: WorkerEntry[]): void {
    const free = new Map<string, number>();
    let total = 0;
    for (const w of workers) {
      const slots = w.capacity - w.running.size;
      if (slots <= 0) continue;
      total += slots;
      for (const [type, group] of w.skills) {
        const limit = w.groupLimits[group];
        const room = limit === undefined ? slots : Math.min(slots, limit - (w.groupUsage.get(group) ?? 0));
        if (room > 0) free.set(type, (free.get(type) ?? 0) + room);
      }
    }
    this.tasks.refill(free, total);
  }

  /**
   * The best ready task this worker can take: highest priority, then (while some worker reports a hot
   * type) hot here before no one's before hot elsewhere, then oldest; among its skills with group room.
   */
  private pick(worker: WorkerEntry, now: number): LiveTask | undefined {
    const queues = this.tasks.queues;
    this.best = undefined;
    // Walk whichever is shorter: the types with ready tasks in memory, or the worker's skills
    // (always the skills while tasks are spilled: a type may have only spilled ones).
    if (queues.coldSize === 0 && queues.readyTypeCount < worker.skills.size) {
      for (const type of queues.readyTypes()) {
        const group = worker.skills.get(type);
        if (group === undefined || !this.fleet.groupHasRoom(worker, group)) continue;
        this.consider(worker, this.allowed(worker, type, queues.peek(type)), now);
      }
    } else {
      for (const [type, group] of worker.skills) {
        if (!this.fleet.groupHasRoom(worker, group)) continue;
        this.consider(worker, this.allowed(worker, type, this.tasks.peekReady(type)), now);
      }
    }
    const best = this.best;
    this.best = undefined;
    return best;
  }

  /** The pick under way (fields, not a closure, so a pick allocates nothing). */
  private best: LiveTask | undefined = undefined;
  private bestRank = HOT_HERE;

  /**
   * `head`, unless it must not run on this worker (a quorum replica whose sibling ran here): then the
   * best task behind it that may, so one such replica never holds up its type on a worker.
   */
  private allowed(worker: WorkerEntry, type: string, head: LiveTask | undefined): LiveTask | undefined {
    if (!head?.excludeWorkers?.has(worker.id)) return head;
    return this.tasks.queues.find(type, (t) => !t.excludeWorkers?.has(worker.id) && (!worker.untrusted || !!t.excludeWorkers), EXCLUDED_SCAN_LIMIT);
  }

  private consider(worker: WorkerEntry, t: LiveTask | undefined, now: number): void {
    if (!t) return;
    // An untrusted (browser) worker runs only quorum replicas (the tasks with an exclusion set), whose answers are checked.
    if (worker.untrusted && !t.excludeWorkers) return;
    // No assignment past a fleet-wide cap or rate of the type.
    if (this.limits !== null && this.limits.hold(t.type, now) !== null) return;
    let rank = HOT_HERE;
    if (this.hot !== null) {
      rank = this.hot.rank(worker, t, now);
      if (rank === SKIP) return;
    }
    const b = this.best;
    if (!b || t.priority > b.priority || (t.priority === b.priority && (rank < this.bestRank || (rank === this.bestRank && t.seq < b.seq)))) {
      this.best = t;
      this.bestRank = rank;
    }
  }
}


/** Sends what the pass queued for each worker now rather than at the end of the turn (the outbox splits large batches). */
function flushOutboxes(workers: Set<WorkerEntry>): void {
  for (const worker of workers) worker.session?.outbox.flush();
}
