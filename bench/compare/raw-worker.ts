/**
 * The raw transport's worker for the `compare` scenario: one `ws` client that
 * answers every msgpack frame with a result frame echoing its params, as soon
 * as it arrives. No durability, no protocol checks, no slots: it is the floor
 * that Gaffer's transport (same libraries, two processes) could reach.
 * This benchmark baseline imports msgpackr directly on purpose; Gaffer's own
 * code goes through shared/codec.ts.
 *
 *   node --import tsx bench/compare/raw-worker.ts ws://127.0.0.1:PORT
 */
import { Packr } from 'msgpackr';
import WebSocket from 'ws';

// The same settings as shared/codec.ts: plain maps, no records.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });
const ws = new WebSocket(process.argv[2]);
ws.on('message', (data: Buffer) => {
  const task = packr.unpack(data) as { id: number; params: unknown };
  ws.send(packr.pack({ kind: 'task.result', id: task.id, result: task.params }));
});
ws.on('close', () => process.exit(0));
ws.on('error', (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
