/** Opening the SQLite database: pragmas and schema migration. */
import Database from 'better-sqlite3';
import { GafferError } from '../../shared/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) and migrates the store.
 * @throws GafferError SCHEMA_TOO_NEW when the file was written by a newer foreman.
 */
export function openDatabase(file: string, sync: 'normal' | 'full', migrations: readonly string[] = MIGRATIONS): Db {
  let db: Db;
  try {
    db = new Database(file);
  } catch (err) {
    throw cannotOpen(file, err);
  }
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode never loses a committed transaction to a process crash (kill -9); FULL adds an fsync per commit for power loss.
    db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = OFF');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
    return db;
  } catch (err) {
    db.close();
    throw err instanceof GafferError ? err : cannotOpen(file, err);
  }
}

/** SQLite's own messages name neither the file nor what to do ("unable to open database file"). */
function cannotOpen(file: string, err: unknown): GafferError {
  const code = (err as { code?: string }).code;
  const reason = code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' ? `${(err as Error).message} (is the file or its directory read-only?)` : (err as Error).message;
  return new GafferError('DB_UNWRITABLE', `cannot open ${file}: ${reason}${code ? ` [${code}]` : ''}`, { cause: err });
}

/** Brings `db` up to `migrations.length`; refuses a database newer than that. */
export function migrate(db: Db, migrations: readonly string[] = MIGRATIONS): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const target = migrations.length;
  if (current > target) {
    throw new GafferError(
      'SCHEMA_TOO_NEW',
      `database schema version ${current} is newer than this foreman understands (${target}); upgrade gaffer or use another --db`,
    );
  }
  for (let v = current; v < target; v++) {
    db.transaction(() => {
      db.exec(migrations[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export { SCHEMA_VERSION };
