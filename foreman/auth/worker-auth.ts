/**
 * Worker authentication: checks `hello.authToken` and keeps live sessions
 * honest after `gaffer token revoke`.
 *
 * A worker id with an individual token can register only with that token (so
 * worker A's token cannot register as B, and the fleet token cannot take over
 * A); other ids register with the fleet token.
 *
 * Revocation is written by another process (the CLI) into the same SQLite
 * file. Rather than a notification channel, a timer reads SQLite's
 * `data_version`, which changes only when another connection commits: the
 * common case costs one pragma, and the token table is re-read only after an
 * outside write. Hellos always read the table directly, so a revoked token
 * is refused at once even between sweeps.
 */
import { ProtocolError } from '../../shared/errors.js';
import type { WorkerMessage } from '../../shared/protocol.js';
import type { Fleet } from '../fleet.js';
import type { Session } from '../session.js';
import type { Db } from '../store/database.js';
import type { Credentials } from './credentials.js';
import { hashMatches, hashToken, REVOKED, WorkerTokenStore } from './tokens.js';

/** How often the revocation sweep looks for outside writes, in ms: the longest a revoked session can live on. */
export const REVOCATION_CHECK_MS = 250;

/** What let a session in: its worker's own token (by hash), the fleet token, the join token (a browser worker), or an open (loopback) foreman. */
export type WorkerGrant = { kind: 'individual'; hash: string } | { kind: 'fleet' } | { kind: 'browser' } | { kind: 'open' };

/** The only task types a join-token session may register: the sandboxed ones. */
const BROWSER_SKILLS = new Set(['js', 'wasm']);

/** Whether a hello is a browser worker's: it says so in `meta.browser` and registers sandboxed task types only. */
export function isBrowserHello(hello: Hello): boolean {
  return hello.meta?.browser === true && hello.skills.length > 0 && hello.skills.every((s) => BROWSER_SKILLS.has(s.type));
}

type Hello = Extract<WorkerMessage, { kind: 'hello' }>;

export class WorkerAuth {
  private readonly tokens: WorkerTokenStore;
  private readonly fleetHash: string | null;
  private readonly joinHash: string | null;
  private readonly grants = new WeakMap<Session, WorkerGrant>();
  private dataVersion: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly creds: Pick<Credentials, 'workerToken' | 'joinToken' | 'openWorkers'>,
    private readonly fleet: Pick<Fleet, 'workers'>,
  ) {
    this.tokens = new WorkerTokenStore(db);
    this.fleetHash = creds.workerToken === null ? null : hashToken(creds.workerToken);
    this.joinHash = creds.joinToken === null ? null : hashToken(creds.joinToken);
    this.dataVersion = this.readDataVersion();
  }

  /** Decides a hello. Returns the grant to remember for the session, or null to refuse it. */
  check(hello: Hello): WorkerGrant | null {
    const own = this.tokens.hashOf(hello.workerId);
    const presented = typeof hello.authToken === 'string' ? hashToken(hello.authToken) : null;
    if (own !== null) {
      // Bound id: only its own token will do (a revoked id is locked out until a new token is created).
      return presented !== null && hashMatches(presented, own) ? { kind: 'individual', hash: own } : null;
    }
    if (this.fleetHash !== null && presented !== null && hashMatches(presented, this.fleetHash)) return { kind: 'fleet' };
    // The join link's token registers browser workers for sandboxed tasks, and nothing else.
    if (this.joinHash !== null && presented !== null && hashMatches(presented, this.joinHash)) return isBrowserHello(hello) ? { kind: 'browser' } : null;
    return this.creds.openWorkers ? { kind: 'open' } : null;
  }

  /** Remembers what let `session` in, for the revocation sweep. */
  admit(session: Session, grant: WorkerGrant): void {
    this.grants.set(session, grant);
  }

  /** Starts the revocation sweep. */
  start(): void {
    this.timer ??= setInterval(() => this.sweepIfChanged(), REVOCATION_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Re-reads the token table if another process wrote the database, and closes sessions whose token no longer holds. */
  sweepIfChanged(): number {
    const version = this.readDataVersion();
    if (version === this.dataVersion) return 0;
    this.dataVersion = version;
    return this.sweep();
  }

  /** Closes (4001) every live session whose grant was revoked or replaced; returns how many. */
  sweep(): number {
    const hashes = this.tokens.hashes();
    let closed = 0;
    for (const entry of this.fleet.workers.values()) {
      const session = entry.session;
      if (!session) continue;
      const grant = this.grants.get(session);
      const current = hashes.get(entry.id) ?? null;
      const revoked =
        grant?.kind === 'individual' ? current !== grant.hash
        : grant?.kind === 'fleet' ? current === REVOKED
        : false;
      if (!revoked) continue;
      session.fail(new ProtocolError('UNAUTHORIZED', `the token of worker ${entry.id} was revoked`));
      closed++;
    }
    return closed;
  }

  private readDataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
