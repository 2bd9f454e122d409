/**
 * The process's open-file limit, and whether it covers what the connection limits allow: every
 * worker session, every socket waiting for hello and every HTTP connection is a file descriptor.
 * Node cannot raise the limit itself; the README says how (ulimit -n, LimitNOFILE=).
 */
import { readFileSync } from 'node:fs';
import type { ForemanOptions } from './options.js';

/** Descriptors the foreman needs besides connections: the database and its WAL, the listening socket, logs. */
const BASE_FILES = 64;

/** The soft limit on open files (Linux: /proc/self/limits), or null where it cannot be read. */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | null {
  try {
    const line = readFileSync(limitsFile, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
    const n = Number(soft);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** Descriptors the connection limits can use at once. */
export function filesNeeded(o: Pick<ForemanOptions, 'maxSessions' | 'maxPreHelloSockets' | 'maxHttpConnections'>): number {
  return o.maxSessions + o.maxPreHelloSockets + o.maxHttpConnections + BASE_FILES;
}
