/**
 * The foreman's Prometheus metrics at GET /metrics. Counters and histograms
 * are fed by ForemanEvents; gauges are read from live state at scrape time,
 * so they cost nothing between scrapes. One Registry per foreman, so several
 * foremen in one process (tests) do not mix their numbers.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ForemanEventMap, ForemanEvents } from './events.js';
import { doc } from './http/openapi.js';
import type { Fleet } from './fleet.js';
import type { TaskLedger } from './ledger.js';
import { TASK_STATES } from './task-types.js';

/** Distinct task types given their own label; later ones are counted as "other", so clients cannot grow the registry without bound. */
const MAX_TYPE_LABELS = 500;

/** Distinct error codes given their own label; handlers choose codes, so they are bounded the same way. */
const MAX_CODE_LABELS = 200;

const SECONDS_FAST = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const SECONDS_SLOW = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];

export interface MetricsSources {
  events: ForemanEvents;
  tasks: TaskLedger;
  fleet: Fleet;
  /** Worker sockets open now. */
  openSessions(): number;
}

export class ForemanMetrics {
  readonly registry = new Registry();
  private readonly types = new Set<string>();
  private readonly codes = new Set<string>();
  private readonly submitted: Counter<'type'>;
  private readonly settledByState: Counter<'type' | 'state'>;
  private readonly attempts: Counter<'type' | 'outcome'>;
  private readonly failures: Counter<'type' | 'code'>;
  private readonly protocolErrors: Counter<'code'>;
  private readonly limitHolds: Counter<'type'>;
  private readonly scheduleFirings: Counter<'name'>;
  readonly refused: Counter<'reason'>;
  readonly httpDenied: Counter<'status'>;
  private readonly dispatchLatency: Histogram<'type'>;
  private readonly runTime: Histogram<'type' | 'state'>;
  private readonly commitLatency: Histogram;
  private readonly listeners: { [K in keyof ForemanEventMap]?: (...args: ForemanEventMap[K]) => void } = {};

  constructor(private readonly src: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.submitted = new Counter({ name: 'gaffer_tasks_submitted_total', help: 'Tasks accepted through the HTTP API, by type', labelNames: ['type'], registers });
    this.settledByState = new Counter({
      name: 'gaffer_tasks_settled_total',
      help: 'Tasks settled, by type and final state (succeeded = completed, failed, cancelled)',
      labelNames: ['type', 'state'],
      registers,
    });
    this.attempts = new Counter({
      name: 'gaffer_task_attempts_total',
      help: 'Task attempts ended, by type and outcome (succeeded, failed, lost, released, cancelled); retries show as more attempts than tasks',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.failures = new Counter({
      name: 'gaffer_task_failures_total',
      help: 'Attempts that ended in an error (handler failure, timeout, lost worker), by type and error code',
      labelNames: ['type', 'code'],
      registers,
    });
    this.limitHolds = new Counter({
      name: 'gaffer_rate_limit_holds_total',
      help: "Dispatch passes that held back a ready task of the type by its fleet-wide limits (maxRunning, ratePerSecond) or a handler's RateLimitedError pause",
      labelNames: ['type'],
      registers,
    });
    this.scheduleFirings = new Counter({ name: 'gaffer_schedule_firings_total', help: 'Ticks of a recurring schedule that submitted its task, by schedule name', labelNames: ['name'], registers });
    this.protocolErrors = new Counter({ name: 'gaffer_protocol_errors_total', help: 'Protocol errors answered to worker sockets, by code', labelNames: ['code'], registers });
    this.refused = new Counter({ name: 'gaffer_sessions_refused_total', help: 'Worker sockets refused before hello, by reason', labelNames: ['reason'], registers });
    this.httpDenied = new Counter({ name: 'gaffer_http_denied_total', help: 'HTTP requests refused by authentication (401, 403), rate limit (429) or the connection caps (503)', labelNames: ['status'], registers });
    this.dispatchLatency = new Histogram({
      name: 'gaffer_dispatch_latency_seconds',
      help: 'From a task becoming ready (submit or retry time) to its assignment',
      labelNames: ['type'],
      buckets: SECONDS_SLOW,
      registers,
    });
    this.runTime = new Histogram({ name: 'gaffer_task_run_seconds', help: 'From assignment to settlement of the final attempt', labelNames: ['type', 'state'], buckets: SECONDS_SLOW, registers });
    this.commitLatency = new Histogram({ name: 'gaffer_store_commit_seconds', help: 'Duration of one group commit to SQLite', buckets: SECONDS_FAST, registers });
    this.gauges(registers);
    this.subscribe();
  }

  /**
   * Counts tasks accepted by a submit route: one increment per run of tasks of one type (one per
   * task held the loop for ~60 ms after a 200,000-task import was acknowledged).
   */
  countSubmitted(tasks: ReadonlyArray<{ type: string }>): void {
    for (let i = 0; i < tasks.length; ) {
      const { type } = tasks[i];
      let end = i + 1;
      while (end < tasks.length && tasks[end].type === type) end++;
      this.submitted.inc({ type: this.typeLabel(type) }, end - i);
      i = end;
    }
  }

  /** Serves GET /metrics in the Prometheus text format. */
  route(app: FastifyInstance): void {
    const schema = doc({
      summary: 'Prometheus metrics',
      tag: 'operations',
      operationId: 'getMetrics',
      description: 'The text exposition format; the read token is enough.',
      responses: { 200: { description: 'every metric', content: { 'text/plain': { schema: { type: 'string' } } } } },
    });
    app.get('/metrics', { schema }, async (_req, reply) => {
      return reply.type(this.registry.contentType).send(await this.registry.metrics());
    });
  }

  /** Stops listening to the foreman's events. Idempotent. */
  close(): void {
    for (const [event, fn] of Object.entries(this.listeners)) this.src.events.off(event as keyof ForemanEventMap, fn as never);
    for (const key of Object.keys(this.listeners)) delete this.listeners[key as keyof ForemanEventMap];
  }

  private subscribe(): void {
    const l = this.listeners;
    l.assigned = (a) => this.dispatchLatency.observe({ type: this.typeLabel(a.type) }, Math.max(0, a.waitedMs) / 1000);
    l.settled = (t) => {
      const type = this.typeLabel(t.type);
      this.settledByState.inc({ type, state: t.state });
      if (t.startedAt !== null) this.runTime.observe({ type, state: t.state }, Math.max(0, t.finishedAt - t.startedAt) / 1000);
    };
    l.attemptEnded = (a) => {
      const type = this.typeLabel(a.type);
      this.attempts.inc({ type, outcome: a.outcome });
      // A cancellation is the user's decision, not a failure of the task.
      if (a.code !== null && a.code !== 'CANCELLED') this.failures.inc({ type, code: this.codeLabel(a.code) });
    };
    l.scheduleFired = (f) => this.scheduleFirings.inc({ name: f.name });
    l.typeHeld = (h) => this.limitHolds.inc({ type: this.typeLabel(h.type) });
    l.commit = (c) => this.commitLatency.observe(c.ms / 1000);
    l.protocolError = (e) => this.protocolErrors.inc({ code: e.code });
    for (const [event, fn] of Object.entries(l)) this.src.events.on(event as keyof ForemanEventMap, fn as never);
  }

  private gauges(registers: Registry[]): void {
    const { tasks, fleet } = this.src;
    new Gauge({
      name: 'gaffer_tasks',
      help: 'Tasks by state',
      labelNames: ['state'],
      registers,
      collect() {
        for (const s of TASK_STATES) this.set({ state: s }, tasks.counts[s]);
      },
    });
    const typeLabel = (t: string) => this.typeLabel(t);
    new Gauge({
      name: 'gaffer_queue_depth',
      help: 'Queued tasks (ready or waiting for a retry), by type',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, n] of tasks.queues.countsByType()) this.inc({ type: typeLabel(type) }, n);
      },
    });
    new Gauge({
      name: 'gaffer_workers',
      help: 'Known workers by state (active, draining, stale, offline)',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = { active: 0, draining: 0, stale: 0, offline: 0 };
        for (const w of fleet.workers.values()) counts[w.state]++;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'gaffer_worker_missed_heartbeats',
      help: 'Times each known worker went stale (no message within staleAfterMs)',
      labelNames: ['worker_id'],
      registers,
      collect() {
        this.reset();
        for (const w of fleet.workers.values()) this.set({ worker_id: w.id }, w.missedHeartbeats);
      },
    });
    const openSessions = () => this.src.openSessions();
    new Gauge({
      name: 'gaffer_worker_sockets',
      help: 'Worker sockets open now, including those not registered yet',
      registers,
      collect() {
        this.set(openSessions());
      },
    });
  }

  /** Handler-defined error codes are client data too: bounded like types. */
  private codeLabel(code: string): string {
    if (this.codes.has(code)) return code;
    if (this.codes.size >= MAX_CODE_LABELS) return 'other';
    this.codes.add(code);
    return code;
  }

  private typeLabel(type: string): string {
    if (this.types.has(type)) return type;
    if (this.types.size >= MAX_TYPE_LABELS) return 'other';
    this.types.add(type);
    return type;
  }
}
