/**
 * One foreman per database file. Two foremen on one SQLite file each believe the other's workers
 * are gone and requeue their running tasks, so the second must refuse to start, before it writes
 * anything. The lock is `<db>.lock`, created exclusively (O_EXCL) with the owner's pid and host;
 * a lock whose owner is no longer alive (kill -9, crash, reboot) is taken over, so nobody has to
 * delete it by hand. A lock held from another host (a shared volume) is never taken over.
 *
 * Also here: what a start that fails leaves behind. A foreman that cannot start (port taken,
 * bad tokens file) removes the files it created itself, so a failed start writes nothing.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { GafferError } from '../../shared/errors.js';
import { newSecret } from '../../shared/ids.js';

/** The lock on a database file; `release()` is idempotent. */
export interface DbLock {
  readonly file: string | null;
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
  nonce: string;
  startedAt: string;
}

/** The lock file of a database file. */
export const lockFileOf = (db: string): string => `${db}.lock`;

/**
 * Takes the lock on `db` (nothing to take for `:memory:`).
 * @throws GafferError DB_IN_USE naming the file and the pid (and host) that holds it;
 *   DB_UNWRITABLE naming the file and the reason when the lock cannot be created (read-only directory or file system).
 */
export function lockDatabase(db: string): DbLock {
  if (db === ':memory:') return { file: null, release: () => {} };
  const file = lockFileOf(db);
  const me: Owner = { pid: process.pid, host: hostname(), nonce: newSecret(), startedAt: new Date().toISOString() };
  for (let tries = 0; tries < 3; tries++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw unwritable(db, file, err);
      const holder = readOwner(file);
      if (holder && holderAlive(holder)) {
        const where = holder.host === me.host ? '' : ` on host ${holder.host}`;
        throw new GafferError('DB_IN_USE', `${db} is in use by another foreman (pid ${holder.pid}${where}, since ${holder.startedAt}); stop it or use another --db`);
      }
      // Its owner is gone (or the file is torn): take it over.
      try {
        unlinkSync(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw unwritable(db, file, e);
      }
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    // Two starts taking over the same stale lock at once: only the one whose nonce is there holds it.
    if (readOwner(file)?.nonce !== me.nonce) continue;
    let released = false;
    return {
      file,
      release: () => {
        if (released) return;
        released = true;
        if (readOwner(file)?.nonce === me.nonce) rmSync(file, { force: true });
      },
    };
  }
  throw new GafferError('DB_IN_USE', `${db} is being locked by another foreman starting at the same time; try again`);
}

function readOwner(file: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? (o as Owner) : null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote the lock still runs (always assumed for another host: we cannot tell). */
function holderAlive(o: Owner): boolean {
  if (o.host !== hostname()) return true;
  // Our own pid in a lock we did not take: a previous process that had the same pid (a container's pid 1).
  if (o.pid === process.pid) return false;
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unwritable(db: string, file: string, err: unknown): GafferError {
  const e = err as NodeJS.ErrnoException;
  const reason = e.code === 'EROFS' ? 'read-only file system' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'ENOENT' ? 'no such directory' : (e.message ?? String(err));
  return new GafferError('DB_UNWRITABLE', `cannot use ${db}: cannot create ${file}: ${reason}${e.code ? ` (${e.code})` : ''}`, { cause: err });
}

/** Files a start may create beside a database; the ones that did not exist before are removed if the start fails. */
export function startFiles(paths: readonly string[]): { removeCreated(): void } {
  const created = paths.filter((p) => !existsSync(p));
  return {
    removeCreated: () => {
      for (const p of created) rmSync(p, { recursive: true, force: true });
    },
  };
}
