/** A TaskManager over a real SQLite file, for unit tests; every ledger opened is closed by `closeLedgers()`. */
import { vi } from 'vitest';
import { openDatabase, type Db } from '../../foreman/store/database.js';
import { GroupCommit } from '../../foreman/store/group-commit.js';
import { TaskStore } from '../../foreman/store/task-store.js';
import { TaskManager, type SettledTask, type TaskManagerHooks } from '../../foreman/task-manager.js';

export interface Ledger {
  tm: TaskManager;
  store: TaskStore;
  commit: GroupCommit;
  db: Db;
  hooks: { onReady: ReturnType<typeof vi.fn>; onCancel: ReturnType<typeof vi.fn>; onSettled: ReturnType<typeof vi.fn> };
  /** Every task announced as settled, in order. */
  settled: SettledTask[];
}

const open: Ledger[] = [];

/** Opens (or reopens) a ledger on `file` and loads what the file holds. */
export function openLedger(file: string, options: ConstructorParameters<typeof TaskManager>[2]): Ledger {
  const db = openDatabase(file, 'normal');
  const store = new TaskStore(db);
  const commit = new GroupCommit(db);
  const settled: SettledTask[] = [];
  const hooks = { onReady: vi.fn(), onCancel: vi.fn(), onSettled: vi.fn((t: SettledTask) => void settled.push(t)) };
  const tm = new TaskManager(store, commit, options, hooks as TaskManagerHooks);
  tm.load(Date.now());
  const ledger = { tm, store, commit, db, hooks, settled };
  open.push(ledger);
  return ledger;
}

/** Closes every ledger opened so far (commits what is pending first). */
export function closeLedgers(): void {
  for (const { tm, commit, db } of open.splice(0)) {
    tm.close();
    commit.close();
    if (db.open) db.close();
  }
}
