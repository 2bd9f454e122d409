/**
 * One foreman's PostgreSQL store, put together: connections, schema, this foreman's row in the
 * foremen table, the per-turn writer, the ledger, and the hand-over of workers between foremen.
 * `Foreman` opens it instead of the SQLite file when `--store postgres://…` is given.
 */
import { newSecret } from '../../../shared/ids.js';
import type { ForemanEvents } from '../../events.js';
import type { Fleet, WorkerEntry } from '../../fleet.js';
import type { TaskManagerHooks } from '../../ledger.js';
import type { ForemanOptions } from '../../options.js';
import { PgDb } from './pg-db.js';
import { PgForemen } from './pg-foremen.js';
import { PgLedger } from './pg-ledger.js';
import { PgReads } from './pg-reads.js';
import { PgTurn } from './pg-turn.js';
import { PgLimitedClaims, type ClaimLimitHooks } from './pg-limited-claim.js';
import { PgTypeLimits } from './pg-type-limits.js';
import { PgWorkers } from './pg-workers.js';
import { migratePostgres } from './schema.js';

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };

export class PgStore {
  readonly reads: PgReads;
  readonly foremen: PgForemen;
  readonly turn: PgTurn;
  ledger: PgLedger | null = null;
  readonly workers: PgWorkers;
  private publishTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly db: PgDb,
    readonly foremanId: string,
    private readonly options: Readonly<ForemanOptions>,
    private readonly log: Log,
    onWritable: () => void,
  ) {
    this.reads = new PgReads(db);
    this.workers = new PgWorkers(db, foremanId, options.foremanTtlMs);
    this.foremen = new PgForemen(db, foremanId, options.foremanTtlMs, options.restartGraceMs, log);
    this.turn = new PgTurn(
      db,
      foremanId,
      (state, { err, outageMs }) => {
        if (state === 'unavailable') log.error({ err }, 'database unreachable; holding every change and retrying until it is back');
        else {
          log.info({ outageMs }, 'database reachable again; held changes written');
          onWritable();
        }
      },
      (err) => log.error({ err }, 'store write failed'),
    );
  }

  /**
   * Connects, migrates (one foreman at a time, under an advisory lock) and registers this foreman.
   * @param onWritable called when the database is back after an outage.
   */
  static async open(options: Readonly<ForemanOptions>, log: Log, onWritable: () => void): Promise<PgStore> {
    const db = new PgDb(options.store as string, options.storePoolSize, 5000);
    db.on('error', (err) => log.warn({ err }, 'database connection lost'));
    try {
      const client = await db.pool.connect();
      try {
        await migratePostgres(client);
      } finally {
        client.release();
      }
      await db.listen();
      const store = new PgStore(db, `f_${newSecret().slice(0, 12)}`, options, log, onWritable);
      await store.foremen.register(null);
      return store;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  createLedger(hooks: TaskManagerHooks, events: ForemanEvents): PgLedger {
    this.ledger = new PgLedger(this.db, this.turn, this.reads, this.foremanId, this.options, hooks, events, this.log);
    // Only result streams need other foremen's settled rows; the first listener is the dashboard's counters.
    const baseline = events.listenerCount('settled');
    this.ledger.wantsRemoteSettled = () => events.listenerCount('settled') > baseline + 1;
    return this.ledger;
  }

  /**
   * The type limits' store, shared by every foreman; from now on the ledger claims the types that
   * `hooks.covers` names (those with a limit or a pause) under their limits.
   */
  typeLimits(hooks: ClaimLimitHooks): PgTypeLimits {
    (this.ledger as PgLedger).claimLimits = new PgLimitedClaims(this.db, this.foremanId, hooks);
    return new PgTypeLimits(this.db);
  }

  /**
   * Starts the background work, the hand-over of workers between foremen, and publishing this
   * foreman's workers (`view` makes each one's /workers entry) for the others' /workers.
   */
  async start(fleet: Fleet, url: () => string, view: (entry: WorkerEntry, now: number) => { id: string } & Record<string, unknown>): Promise<void> {
    const ledger = this.ledger as PgLedger;
    fleet.storedTasksOf = async (workerId, presentedSessionToken, sessionToken) => {
      if (!(await this.workers.claim(workerId, presentedSessionToken, sessionToken))) return null;
      const tasks = await ledger.adoptWorker(workerId);
      await this.db.notify('gaffer_worker', JSON.stringify({ workerId, foremanId: this.foremanId })).catch(() => {});
      return tasks;
    };
    ledger.onWorkerMoved = (workerId, foremanId) => {
      if (foremanId === this.foremanId) return;
      ledger.forgetWorker(workerId);
      fleet.movedAway(workerId);
    };
    await ledger.start();
    let publishing = false;
    this.publishTimer = setInterval(() => {
      if (publishing) return;
      publishing = true;
      const now = Date.now();
      const views = [...fleet.workers.values()].filter((w) => w.session).map((w) => ({ view: view(w, now), sessionToken: w.sessionToken }));
      void this.workers.publish(views).catch(() => {}).finally(() => (publishing = false));
    }, 1000);
    this.publishTimer.unref();
    this.foremen.start(ledger, url);
    await this.foremen.register(url());
  }

  /** Stops heartbeating (marking this foreman gone), the ledger's timers and the connections. Idempotent. */
  async close(): Promise<void> {
    if (this.publishTimer) clearInterval(this.publishTimer);
    this.ledger?.close();
    this.turn.close();
    await this.foremen.stop();
    await this.db.close();
  }
}
