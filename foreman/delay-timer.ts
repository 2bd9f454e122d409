/**
 * One timer for every delayed task (retry backoff): it is always set for the
 * earliest `runAt`, never one timer per task.
 */
export class DelayTimer {
  private timer: NodeJS.Timeout | null = null;
  private at = Infinity;

  /**
   * @param nextDueAt when the earliest delayed task becomes ready, or null.
   * @param onDue called when that time comes; it promotes what is due.
   */
  constructor(
    private readonly nextDueAt: () => number | null,
    private readonly onDue: (now: number) => void,
  ) {}

  /** Makes sure the timer fires no later than the earliest delayed task. */
  arm(): void {
    const next = this.nextDueAt();
    if (next === null || next >= this.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.at = next;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.at = Infinity;
      this.onDue(Date.now());
      this.arm();
    }, Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  /** Stops the timer. Idempotent. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.at = Infinity;
  }
}
