/** Counters a worker keeps about its own work, for the status server and dashboard. */
import { cpus, freemem, loadavg, totalmem } from 'node:os';

type Outcome = 'succeeded' | 'failed' | 'cancelled';

interface TypeCounts {
  succeeded: number;
  failed: number;
  cancelled: number;
  totalMs: number;
}

const WINDOW_S = 60;

/**
 * This process's CPU use over the last one to two seconds, whoever asks and however often:
 * a window that restarted at every read would make a /stats right after a dashboard push
 * (or a /metrics scrape) measure a few microseconds.
 */
export class CpuWindow {
  private older = { at: Date.now(), usage: process.cpuUsage() };
  private newer = this.older;

  percent(now: number): number {
    if (now - this.newer.at >= 1000) {
      this.older = this.newer;
      this.newer = { at: now, usage: process.cpuUsage() };
    }
    const used = process.cpuUsage(this.older.usage);
    return ((used.user + used.system) / 1000 / Math.max(1, now - this.older.at)) * 100;
  }
}

export class WorkerStats {
  readonly startedAt = Date.now();
  reconnects = 0;
  private readonly byType = new Map<string, TypeCounts>();
  private readonly perSecond = new Array<number>(WINDOW_S).fill(0);
  private second = Math.floor(Date.now() / 1000);
  private readonly cpu = new CpuWindow();
  readonly recentErrors: Array<{ at: number; taskId: string; type: string; code: string; message: string }> = [];

  record(type: string, outcome: Outcome, durationMs: number): void {
    let c = this.byType.get(type);
    if (!c) this.byType.set(type, (c = { succeeded: 0, failed: 0, cancelled: 0, totalMs: 0 }));
    c[outcome]++;
    c.totalMs += durationMs;
    this.tick();
    this.perSecond[this.second % WINDOW_S]++;
  }

  recordError(taskId: string, type: string, code: string, message: string): void {
    this.recentErrors.push({ at: Date.now(), taskId, type, code, message: message.slice(0, 300) });
    if (this.recentErrors.length > 20) this.recentErrors.shift();
  }

  /** Completions per second over the last minute, oldest first. */
  throughputSeries(): number[] {
    this.tick();
    const out: number[] = [];
    for (let i = 1; i <= WINDOW_S; i++) out.push(this.perSecond[(this.second + i) % WINDOW_S]);
    return out;
  }

  snapshot() {
    const totals = { succeeded: 0, failed: 0, cancelled: 0, totalMs: 0 };
    const perType: Record<string, TypeCounts & { meanMs: number }> = {};
    for (const [type, c] of this.byType) {
      totals.succeeded += c.succeeded;
      totals.failed += c.failed;
      totals.cancelled += c.cancelled;
      totals.totalMs += c.totalMs;
      const n = c.succeeded + c.failed + c.cancelled;
      perType[type] = { ...c, meanMs: n ? c.totalMs / n : 0 };
    }
    const finished = totals.succeeded + totals.failed + totals.cancelled;
    const series = this.throughputSeries();
    const now = Date.now();
    const cpuPercent = this.cpu.percent(now);
    const mem = process.memoryUsage();
    return {
      completed: totals.succeeded,
      failed: totals.failed,
      cancelled: totals.cancelled,
      perType,
      totalExecutionMs: totals.totalMs,
      meanExecutionMs: finished ? totals.totalMs / finished : 0,
      throughputLastMinute: series.reduce((a, b) => a + b, 0) / WINDOW_S,
      throughputSeries: series,
      uptimeMs: now - this.startedAt,
      reconnects: this.reconnects,
      process: { cpuPercent, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
      machine: { cpus: cpus().length, loadavg: loadavg(), totalMemBytes: totalmem(), freeMemBytes: freemem() },
      recentErrors: this.recentErrors,
    };
  }

  private tick(): void {
    const s = Math.floor(Date.now() / 1000);
    for (let t = this.second + 1; t <= s && t - this.second <= WINDOW_S; t++) this.perSecond[t % WINDOW_S] = 0;
    this.second = s;
  }
}
