/**
 * A process of its own that sends GET /health about every millisecond on one kept-alive connection until
 * told to stop, then reports each round trip. The import-stall scenario probes from here rather than from
 * the bench's own event loop: that loop also builds and posts a 7.5 MB body, and whatever it does between
 * a response's arrival and its timing stamp would count as the foreman's latency. Paced, not back to
 * back: unpaced from a free event loop it sent ~25,000 requests a second, and the foreman's time went to
 * them rather than to the import.
 *
 * Messages (IPC): it sends {type: 'ready'} once connected; on {type: 'stop'} it sends
 * {type: 'rounds', rounds: number[]} (ms) and exits.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RawHttpConnection } from './raw-http.js';

const url = process.argv[2];
const probe = await RawHttpConnection.open(url);
let probing = true;
const rounds: number[] = [];
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') probing = false;
});
process.send?.({ type: 'ready' });
while (probing) {
  const t = performance.now();
  await probe.request('GET', '/health');
  rounds.push(performance.now() - t);
  await sleep(1);
}
probe.close();
process.send?.({ type: 'rounds', rounds }, () => process.exit(0));
