/** The blob store behind the foreman, set up in one call from `Foreman.setup()`: store, routes, access rules, retention. */
import type { FastifyInstance } from 'fastify';
import type { Credentials } from '../auth/credentials.js';
import type { WorkerAuth } from '../auth/worker-auth.js';
import type { Fleet } from '../fleet.js';
import type { StoreReads } from '../ledger.js';
import type { ForemanOptions } from '../options.js';
import { BlobAccess } from './blob-access.js';
import { BlobCollector } from './blob-collector.js';
import { blobRoutes } from './blob-routes.js';
import type { BlobStore } from './blob-store.js';
import { openBlobStore } from './open-blob-store.js';

export interface BlobsHost {
  options: Readonly<Pick<ForemanOptions, 'db' | 'blobStore' | 'blobS3Endpoint' | 'blobS3Region' | 'maxBlobBytes' | 'blobRetentionMs' | 'blobSweepIntervalMs'>>;
  /** Every blob digest the task store references (params, results, job params): retention keeps those. */
  referenced: () => Promise<Set<string>>;
  credentials: Pick<Credentials, 'apiToken' | 'readToken'>;
  workerAuth: Pick<WorkerAuth, 'check'>;
  fleet: Pick<Fleet, 'workers'>;
  reads: Pick<StoreReads, 'getTask'>;
}

export interface Blobs {
  store: BlobStore;
  collector: BlobCollector;
}

/** Opens the store and adds PUT /blobs and GET /blobs/:ref. @throws TypeError for a blob store that cannot be used. */
export async function installBlobs(app: FastifyInstance, host: BlobsHost): Promise<Blobs> {
  const { options } = host;
  const store = await openBlobStore(options.blobStore, options.db, { endpoint: options.blobS3Endpoint, region: options.blobS3Region });
  const access = new BlobAccess(host.credentials, host.workerAuth, host.fleet, host.reads);
  await blobRoutes(app, store, access, options.maxBlobBytes);
  const collector = new BlobCollector(store, host.referenced, options, app.log);
  collector.start();
  app.addHook('onClose', async () => {
    collector.stop();
    await store.close?.();
  });
  return { store, collector };
}
