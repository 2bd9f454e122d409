/**
 * Per-second aggregates for the dashboard charts: tasks settled per second,
 * dispatch latency percentiles and workers online, over a ring of recent
 * seconds. Every event costs O(1), so the foreman can push thousands of
 * tasks per second without the dashboard slowing it down.
 */
import type { ForemanEvents, ForemanEventMap } from './events.js';
import type { SettledTask } from './task-manager.js';

/** Options of {@link LiveMetrics}. */
export interface LiveMetricsOptions {
  /** Seconds kept for the charts. Default 300 (five minutes). */
  windowS?: number;
  /** Connected workers right now; sampled once per second. */
  workersOnline: () => number;
  /** The clock, in ms since the epoch (tests pass a fake one). Default `Date.now`. */
  now?: () => number;
}

/** The chart series: one value per whole second, oldest first, the last one ending at `endAt`. */
export interface LiveSeries {
  stepMs: number;
  /** End of the newest complete second, in ms since the epoch. */
  endAt: number;
  /** Counts are null for seconds before the foreman started: no data is not zero. */
  completed: Array<number | null>;
  failed: Array<number | null>;
  cancelled: Array<number | null>;
  /** Dispatch latency (ready → assigned) in ms; also null for seconds with no assignment. */
  latencyP50: Array<number | null>;
  latencyP99: Array<number | null>;
  workersOnline: Array<number | null>;
}

// Latency buckets four per octave (each ~19% wide) from 1 ms to about a day:
// good enough for p50/p99 on a chart, and a fixed cost per event.
const BUCKETS_PER_OCTAVE = 4;
const BUCKET_COUNT = 1 + BUCKETS_PER_OCTAVE * 27;
// Jobs whose failure codes are remembered; the oldest is forgotten first.
const MAX_JOBS_TRACKED = 1000;

function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(BUCKET_COUNT - 1, 1 + Math.floor(Math.log2(ms) * BUCKETS_PER_OCTAVE));
}

/** Upper bound of a bucket, in ms: a percentile is reported as the edge it falls under. */
function bucketUpperMs(bucket: number): number {
  return bucket === 0 ? 1 : Math.round(2 ** (bucket / BUCKETS_PER_OCTAVE));
}

/** The chart aggregates of one foreman: fed by its events, read by the dashboard once per tick. */
export class LiveMetrics {
  private readonly windowS: number;
  private readonly now: () => number;
  private readonly completed: Uint32Array;
  private readonly failed: Uint32Array;
  private readonly cancelled: Uint32Array;
  private readonly p50: Float64Array;
  private readonly p99: Float64Array;
  private readonly online: Uint32Array;
  /** Latency histogram of the current second only; folded into p50/p99 when the second ends. */
  private readonly histogram = new Uint32Array(BUCKET_COUNT);
  private histogramCount = 0;
  private second: number;
  private readonly startSecond: number;
  /** Job id → error code → settled failures seen since this foreman started. */
  private readonly jobFailures = new Map<string, Map<string, number>>();
  private readonly onSettled = (t: SettledTask) => this.recordSettled(t);
  private readonly onAssigned = (a: ForemanEventMap['assigned'][0]) => this.recordDispatch(a.waitedMs);

  constructor(private readonly options: LiveMetricsOptions) {
    this.windowS = options.windowS ?? 300;
    this.now = options.now ?? Date.now;
    this.completed = new Uint32Array(this.windowS);
    this.failed = new Uint32Array(this.windowS);
    this.cancelled = new Uint32Array(this.windowS);
    this.p50 = new Float64Array(this.windowS).fill(Number.NaN);
    this.p99 = new Float64Array(this.windowS).fill(Number.NaN);
    this.online = new Uint32Array(this.windowS);
    this.second = this.startSecond = Math.floor(this.now() / 1000);
  }

  /** Starts counting the foreman's events. */
  subscribe(events: ForemanEvents): this {
    events.on('settled', this.onSettled);
    events.on('assigned', this.onAssigned);
    this.unsubscribe = () => {
      events.off('settled', this.onSettled);
      events.off('assigned', this.onAssigned);
    };
    return this;
  }

  /** Stops counting. Idempotent. */
  unsubscribe: () => void = () => {};

  /** Counts one settled task in the current second (and its error code against its job when it failed). */
  recordSettled(t: Pick<SettledTask, 'state' | 'jobId' | 'error'>): void {
    const i = this.roll();
    if (t.state === 'succeeded') this.completed[i]++;
    else if (t.state === 'cancelled') this.cancelled[i]++;
    else {
      this.failed[i]++;
      if (t.jobId !== null) this.countFailure(t.jobId, t.error?.code ?? 'UNKNOWN');
    }
  }

  /** Adds one assignment's wait (ready → assigned, in ms) to the current second's latency histogram. */
  recordDispatch(waitedMs: number): void {
    this.roll();
    this.histogram[bucketOf(waitedMs)]++;
    this.histogramCount++;
  }

  /** Settled failures of a job by error code, counted since this foreman started. */
  failuresOf(jobId: string): Record<string, number> {
    const codes = this.jobFailures.get(jobId);
    return codes ? Object.fromEntries(codes) : {};
  }

  /** The last `windowS` complete seconds of every series. */
  series(): LiveSeries {
    const current = this.roll();
    const out: LiveSeries = {
      stepMs: 1000,
      endAt: this.second * 1000,
      completed: [], failed: [], cancelled: [], latencyP50: [], latencyP99: [], workersOnline: [],
    };
    // Oldest first, stopping before the current (partial) second, which would read as a dip.
    for (let k = 1; k < this.windowS; k++) {
      const i = (current + k) % this.windowS;
      if (this.second - this.windowS + k < this.startSecond) {
        for (const list of [out.completed, out.failed, out.cancelled, out.latencyP50, out.latencyP99, out.workersOnline]) list.push(null);
        continue;
      }
      out.completed.push(this.completed[i]);
      out.failed.push(this.failed[i]);
      out.cancelled.push(this.cancelled[i]);
      out.latencyP50.push(Number.isNaN(this.p50[i]) ? null : this.p50[i]);
      out.latencyP99.push(Number.isNaN(this.p99[i]) ? null : this.p99[i]);
      out.workersOnline.push(this.online[i]);
    }
    return out;
  }

  /** Closes the seconds that have passed; call about once a second so idle seconds sample workers online on time. */
  tick(): void {
    this.roll();
  }

  /** Advances the ring to the current second (closing the seconds that passed) and returns its slot. */
  private roll(): number {
    const s = Math.floor(this.now() / 1000);
    if (s > this.second) {
      this.closeSecond(this.second % this.windowS);
      // Seconds with no event at all: zero counts, the same workers online, no latency.
      const online = this.online[this.second % this.windowS];
      const first = Math.max(this.second + 1, s - this.windowS + 1);
      for (let t = first; t <= s; t++) {
        const i = t % this.windowS;
        this.completed[i] = this.failed[i] = this.cancelled[i] = 0;
        this.p50[i] = this.p99[i] = Number.NaN;
        this.online[i] = online;
      }
      this.second = s;
    }
    return this.second % this.windowS;
  }

  private closeSecond(i: number): void {
    this.online[i] = this.options.workersOnline();
    if (this.histogramCount === 0) return;
    this.p50[i] = this.percentile(0.5);
    this.p99[i] = this.percentile(0.99);
    this.histogram.fill(0);
    this.histogramCount = 0;
  }

  private percentile(q: number): number {
    const rank = Math.ceil(q * this.histogramCount);
    let seen = 0;
    for (let b = 0; b < BUCKET_COUNT; b++) {
      seen += this.histogram[b];
      if (seen >= rank) return bucketUpperMs(b);
    }
    return bucketUpperMs(BUCKET_COUNT - 1);
  }

  private countFailure(jobId: string, code: string): void {
    let codes = this.jobFailures.get(jobId);
    if (!codes) {
      if (this.jobFailures.size >= MAX_JOBS_TRACKED) this.jobFailures.delete(this.jobFailures.keys().next().value as string);
      this.jobFailures.set(jobId, (codes = new Map()));
    }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
}

/** A job's recent pace: settled tasks per second over the last `windowMs`, and the time left at that pace. */
export class JobRates {
  private readonly samples = new Map<string, Array<{ at: number; settled: number }>>();

  constructor(private readonly windowMs = 10_000) {}

  /**
   * Records the settled count of each job shown now and returns its rate and ETA;
   * jobs not passed in are forgotten, so memory follows what is on screen.
   */
  sample(jobs: Array<{ id: string; settled: number; total: number }>, now: number): Map<string, { ratePerS: number; etaMs: number | null }> {
    const out = new Map<string, { ratePerS: number; etaMs: number | null }>();
    const seen = new Set<string>();
    for (const job of jobs) {
      seen.add(job.id);
      let list = this.samples.get(job.id);
      if (!list) this.samples.set(job.id, (list = []));
      list.push({ at: now, settled: job.settled });
      while (list.length > 2 && now - list[1].at >= this.windowMs) list.shift();
      const first = list[0];
      const dtMs = now - first.at;
      const ratePerS = dtMs > 0 ? ((job.settled - first.settled) * 1000) / dtMs : 0;
      const remaining = job.total - job.settled;
      out.set(job.id, { ratePerS, etaMs: remaining === 0 ? 0 : ratePerS > 0 ? (remaining / ratePerS) * 1000 : null });
    }
    for (const id of this.samples.keys()) if (!seen.has(id)) this.samples.delete(id);
    return out;
  }
}
