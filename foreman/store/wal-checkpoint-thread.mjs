// The thread of wal-checkpointer.ts: runs SQLite's PASSIVE WAL checkpoint on a connection of its own,
// off the foreman's event loop, each time it is asked, and answers with SQLite's figures.
// Plain JavaScript: it needs nothing of the TypeScript sources, so it runs the same in a checkout and a build.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file, { fileMustExist: true });
// The checkpoint's fsyncs follow this connection's setting: the same as the foreman's.
db.pragma(`synchronous = ${workerData.sync === 'full' ? 'FULL' : 'NORMAL'}`);

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    // Ends this thread only, whatever else its loop still holds.
    process.exit(0);
  }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ busy: row.busy, log: row.log, checkpointed: row.checkpointed });
  } catch (err) {
    parentPort.postMessage({ error: String(err?.message ?? err) });
  }
});
