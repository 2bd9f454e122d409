/**
 * Background purge of settled tasks older than the retention period, in
 * small batches spread over event-loop turns so dispatch never waits on it.
 */
import type { TaskLedger } from './ledger.js';

const BATCH = 500;

export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly tasks: TaskLedger,
    private readonly retentionMs: number,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** Purges everything past retention now; resolves with the number of tasks deleted. */
  async runOnce(now = Date.now()): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let total = 0;
    try {
      for (;;) {
        const n = await this.tasks.purge(now - this.retentionMs, BATCH);
        total += n;
        if (n < BATCH) break;
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
    return total;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
