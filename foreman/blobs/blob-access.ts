/**
 * Who may use the blob routes, decided here rather than by the API's token
 * hook (which lets /blobs through, see `isPublic`), because workers come in
 * too, with their worker token and id (`x-gaffer-worker-id`):
 *
 * - API token: upload and download anything;
 * - read token: download anything;
 * - a worker token valid for the named worker (its own or the fleet token):
 *   upload anything (results), download only blobs that the params of a task
 *   now assigned to that worker reference;
 * - no API token configured (a loopback foreman): everything is open, like the rest of the API.
 */
import type { FastifyRequest } from 'fastify';
import { findBlobRefs } from '../../shared/blob-ref.js';
import type { WorkerMessage } from '../../shared/protocol.js';
import { roleOf } from '../auth/api-auth.js';
import type { Credentials } from '../auth/credentials.js';
import type { WorkerAuth } from '../auth/worker-auth.js';
import type { Fleet } from '../fleet.js';
import type { StoreReads } from '../ledger.js';

/** Header naming the worker whose token a blob request presents. */
export const WORKER_ID_HEADER = 'x-gaffer-worker-id';

export type BlobCaller = { kind: 'client'; mayWrite: boolean } | { kind: 'worker'; workerId: string };

export class BlobAccess {
  constructor(
    private readonly creds: Pick<Credentials, 'apiToken' | 'readToken'>,
    private readonly workerAuth: Pick<WorkerAuth, 'check'>,
    private readonly fleet: Pick<Fleet, 'workers'>,
    private readonly reads: Pick<StoreReads, 'getTask'>,
  ) {}

  /** Who is asking, or null when the request carries no credential that counts here. */
  identify(req: FastifyRequest): BlobCaller | null {
    if (this.creds.apiToken === null) return { kind: 'client', mayWrite: true };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    const token = m ? m[1] : null;
    const role = roleOf(token, this.creds);
    if (role !== null) return { kind: 'client', mayWrite: role === 'api' };
    const workerId = req.headers[WORKER_ID_HEADER];
    if (typeof workerId !== 'string' || workerId === '' || token === null) return null;
    const hello = { workerId, authToken: token } as Extract<WorkerMessage, { kind: 'hello' }>;
    return this.workerAuth.check(hello) ? { kind: 'worker', workerId } : null;
  }

  /** Whether a task assigned to `workerId` right now has `ref` in its params. */
  async assigned(workerId: string, ref: string): Promise<boolean> {
    const entry = this.fleet.workers.get(workerId);
    if (!entry) return false;
    for (const task of [...entry.running.values()]) {
      const row = await this.reads.getTask(task.id);
      if (row && findBlobRefs(row.params).includes(ref)) return true;
    }
    return false;
  }
}
