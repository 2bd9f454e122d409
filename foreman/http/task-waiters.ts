/**
 * Long-poll waiters for `GET /tasks/:id/wait`: each waiter is woken when its
 * task settles (or, if it asked, when its progress changes), or at its
 * deadline. One listener on the foreman's events serves every waiter, so a
 * settlement costs one map lookup however many clients wait.
 */
import type { ForemanEvents } from '../events.js';
import type { SettledTask } from '../task-manager.js';

/** Why a wait ended. */
export type WakeReason = 'settled' | 'progress' | 'timeout' | 'closed';

interface Waiter {
  wake(reason: WakeReason): void;
  progress: boolean;
}

export class TaskWaiters {
  private readonly byTask = new Map<string, Set<Waiter>>();
  private readonly onSettled = (t: SettledTask) => this.wakeAll(t.id, 'settled', false);
  private readonly onProgress = (id: string) => this.wakeAll(id, 'progress', true);
  private listening = false;

  constructor(private readonly events: ForemanEvents) {}

  /** Waiters now, in all. */
  get size(): number {
    let n = 0;
    for (const set of this.byTask.values()) n += set.size;
    return n;
  }

  /**
   * Resolves when task `id` settles, when its progress changes (with `progress`),
   * after `timeoutMs`, or when `signal` aborts (the client went away).
   * Call it in the same turn as reading the task, so no settlement falls in between.
   */
  wait(id: string, timeoutMs: number, opts: { progress?: boolean; signal?: AbortSignal } = {}): Promise<WakeReason> {
    this.listen();
    return new Promise((resolve) => {
      let set = this.byTask.get(id);
      if (!set) this.byTask.set(id, (set = new Set()));
      const waiter: Waiter = {
        progress: opts.progress ?? false,
        wake: (reason) => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          this.remove(id, waiter);
          resolve(reason);
        },
      };
      const onAbort = () => waiter.wake('closed');
      const timer = setTimeout(() => waiter.wake('timeout'), timeoutMs);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      set.add(waiter);
    });
  }

  /** Wakes every waiter (the foreman is closing). Idempotent. */
  close(): void {
    for (const set of [...this.byTask.values()]) for (const w of [...set]) w.wake('closed');
    this.byTask.clear();
    this.stopListening();
  }

  private wakeAll(id: string, reason: WakeReason, progressOnly: boolean): void {
    const set = this.byTask.get(id);
    if (!set) return;
    for (const w of [...set]) if (!progressOnly || w.progress) w.wake(reason);
  }

  private remove(id: string, waiter: Waiter): void {
    const set = this.byTask.get(id);
    if (!set) return;
    set.delete(waiter);
    if (set.size > 0) return;
    this.byTask.delete(id);
    if (this.byTask.size === 0) this.stopListening();
  }

  // Listening only while someone waits keeps `progress` events off (Foreman emits them only to listeners).
  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.events.on('settled', this.onSettled);
    this.events.on('progress', this.onProgress);
  }

  private stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    this.events.off('settled', this.onSettled);
    this.events.off('progress', this.onProgress);
  }
}
