/**
 * Hostile worker sockets against a live foreman while real workers keep
 * completing tasks. Bounded: a few thousand frames, loopback only, seeded
 * (set GAFFER_FUZZ_SEED to replay a failure).
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeValue, encodeValue } from '../../shared/codec.js';
import { PROTOCOL_ERRORS } from '../../shared/errors.js';
import { CLOSE_CODES, WORKER_WS_PATH } from '../../shared/protocol.js';
import { FrameFuzzer, prng, type Frame } from '../helpers/fuzz-frames.js';
import { spawnWorker, startForeman, type ForemanProcess } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { settled, submit, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

const SEED = Number(process.env.GAFFER_FUZZ_SEED ?? Date.now() % 1_000_000);
const SOCKETS = 150;
/** Frames per socket vary around maxProtocolErrors, so some sockets are closed for abuse and others reach their sentinel. */
const MAX_FRAMES_PER_SOCKET = 45;
const PARALLEL = 8;
const DOCUMENTED_CLOSES = new Set<number>([1009, ...Object.values(CLOSE_CODES)]);
const LIMITS = ['--max-protocol-errors', '30', '--max-frame-bytes', '262144', '--max-params-bytes', '65536', '--max-result-bytes', '65536', '--hello-timeout-ms', '1500'];


let sent = 0;

interface Outcome {
  errors: string[];
  closeCode: number | null;
}

/** One hostile socket: maybe a valid hello first, then fuzz frames, then a sentinel whose error proves everything before it was handled. */
async function hostileSession(url: string, fuzz: FrameFuzzer, n: number): Promise<Outcome> {
  const socket = new WebSocket(`${url}${WORKER_WS_PATH}`);
  const errors: string[] = [];
  const sentinel = `sentinel-${n}`;
  let sawSentinel = false;
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  const settledOrClosed = new Promise<void>((resolve) => {
    socket.on('message', (data) => {
      const m = decodeValue(data as Buffer) as { kind: string; code: string; message: string };
      if (m.kind !== 'error') return;
      errors.push(m.code);
      if (m.message.includes(sentinel)) {
        sawSentinel = true;
        resolve();
      }
    });
    void closed.then(() => resolve());
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  if (fuzz.int(2) === 0) socket.send(encodeValue(fuzz.validMessage(`fuzz-${SEED}-${n}`)));
  const frames: Frame[] = Array.from({ length: 10 + fuzz.int(MAX_FRAMES_PER_SOCKET - 10) }, () => fuzz.next());
  for (const f of frames) if (socket.readyState === socket.OPEN) socket.send(f.bytes);
  sent += frames.length;
  if (socket.readyState === socket.OPEN) socket.send(encodeValue({ kind: sentinel }));
  await settledOrClosed;
  const closeCode = sawSentinel ? null : await closed;
  socket.terminate();
  return { errors, closeCode };
}

function tally(values: Array<string | number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

async function rssBytes(foreman: ForemanProcess): Promise<number> {
  const text = await fetch(`${foreman.url}/metrics`).then((r) => r.text());
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1]);
}

describe(`worker socket fuzzing (seed ${SEED})`, () => {
  it('keeps serving good workers while thousands of hostile frames get documented codes, with bounded memory', async () => {
    const foreman = await startForeman(LIMITS);
    await Promise.all([spawnWorker(foreman.wsUrl), spawnWorker(foreman.wsUrl)]);
    const before = await rssBytes(foreman);
    const fuzz = new FrameFuzzer(prng(SEED));

    // Good traffic runs alongside the fuzzing for its whole length.
    let fuzzing = true;
    const submitted: string[] = [];
    const producer = (async () => {
      for (let i = 0; fuzzing || i < 5; i++) {
        submitted.push(await submit(foreman.api, { type: 'reverse', params: { text: `good ${i}` } }));
        await waitForTask(foreman.api, submitted[submitted.length - 1], settled, `good task ${i}`);
      }
    })();

    const outcomes: Outcome[] = [];
    for (let start = 0; start < SOCKETS; start += PARALLEL) {
      const batch = Array.from({ length: Math.min(PARALLEL, SOCKETS - start) }, (_, i) => hostileSession(foreman.wsUrl, fuzz, start + i));
      outcomes.push(...(await Promise.all(batch)));
    }
    fuzzing = false;
    await producer;

    const codes = outcomes.flatMap((o) => o.errors);
    const unknown = codes.filter((c) => !(c in PROTOCOL_ERRORS));
    expect(unknown, `seed ${SEED}`).toEqual([]);
    for (const expected of ['BAD_FRAME', 'UNKNOWN_KIND', 'INVALID_MESSAGE']) expect(codes, `seed ${SEED}`).toContain(expected);
    const closes = outcomes.map((o) => o.closeCode).filter((c): c is number => c !== null);
    expect(closes.filter((c) => !DOCUMENTED_CLOSES.has(c)), `seed ${SEED}`).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(3000);

    // Every good task completed, the foreman is healthy, and no hostile socket was leaked.
    expect(submitted.length).toBeGreaterThan(5);
    for (const id of submitted) expect((await waitForTask(foreman.api, id, settled, 'good task')).state).toBe('succeeded');
    expect((await foreman.api.request('GET', '/health')).ok).toBe(true);
    await waitFor(async () => /^gaffer_worker_sockets 2$/m.test(await fetch(`${foreman.url}/metrics`).then((r) => r.text())), 'only the good workers connected');
    const after = await rssBytes(foreman);
    // FUZZ_DEBUG=1 prints what a seed exercised, to judge whether the generators still reach every code.
    if (process.env.FUZZ_DEBUG) console.log(JSON.stringify({ seed: SEED, sent, good: submitted.length, before, after, closes: tally(closes), codes: tally(codes) }));
    expect(after - before, `rss ${before} → ${after}`).toBeLessThan(200 * 1024 * 1024);
  });

  it('answers each kind of abuse with its documented error and close code', async () => {
    const foreman = await startForeman(LIMITS);
    const peer = () => RawPeer.connect(foreman.wsUrl);
    // Registered first: a socket that has not said hello is closed at its first bad frame (see pre-hello.test.ts).
    const one = await peer();
    one.hello('one', { skills: [{ type: 'none' }] });
    await one.next((m) => m.kind === 'welcome');
    one.sendRaw(Buffer.from([0xc1]));
    one.sendRaw('{"kind":"hello"}');
    one.sendRaw(encodeValue({ kind: 'welcome' }));
    one.sendRaw(encodeValue({ kind: 'heartbeat', running: [{ taskId: 'x'.repeat(300), attempt: 1 }] }));
    one.sendRaw(Buffer.concat([Buffer.alloc(20_000, 0x91), Buffer.from([0xc0])]));
    await one.next((m) => m.kind === 'error' && m.code === 'INVALID_MESSAGE');
    const errors = () => one.received.filter((m) => m.kind === 'error');
    await waitFor(() => errors().length >= 5, 'five errors');
    expect(errors().map((m) => m.code)).toEqual(['BAD_FRAME', 'BAD_FRAME', 'UNKNOWN_KIND', 'INVALID_MESSAGE', 'BAD_FRAME']);

    // Over the frame limit: the WebSocket layer closes with 1009.
    const big = await peer();
    big.sendRaw(Buffer.alloc(300_000, 0xa1));
    expect(await big.closed).toBe(1009);

    // Error after error: TOO_MANY_ERRORS and 4000.
    const abusive = await peer();
    abusive.hello('abusive', { skills: [{ type: 'none' }] });
    await abusive.next((m) => m.kind === 'welcome');
    for (let i = 0; i < 30; i++) abusive.sendRaw(Buffer.from([0xc1]));
    expect(await abusive.closed).toBe(CLOSE_CODES.protocolAbuse);
    expect(abusive.received.at(-1)?.code).toBe('TOO_MANY_ERRORS');

    // A flood of valid frames past maxMessagesPerSecond: RATE_LIMITED and 4008. A low limit on a foreman of its
    // own, so that a loaded machine (which reads frames slower than the default 10,000 a second) still trips it.
    const strict = await startForeman(['--max-messages-per-second', '500']);
    const flood = await RawPeer.connect(strict.wsUrl);
    flood.hello('flooder', { skills: [{ type: 'none' }] });
    await flood.next((m) => m.kind === 'welcome');
    const heartbeat = encodeValue({ kind: 'heartbeat', running: [] });
    for (let i = 0; i < 15_000 && flood.closeCode === null; i++) flood.sendRaw(heartbeat);
    expect(await flood.closed).toBe(CLOSE_CODES.rateLimited);
    expect(flood.received.some((m) => m.code === 'RATE_LIMITED')).toBe(true);

    // Silence: HELLO_TIMEOUT and 4002.
    const silent = await peer();
    expect(await silent.closed).toBe(CLOSE_CODES.helloTimeout);
    expect((await foreman.api.request('GET', '/health')).ok).toBe(true);
  });
});
