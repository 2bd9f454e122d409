/** The per-socket outbox: items queued in one turn leave as one frame per kind, split at maxItems and at maxFrameBytes. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeBatchFrame, encodeMessage, encodeValue } from '../../shared/codec.js';
import { BATCH_FIELDS, Outbox } from '../../shared/outbox.js';
import type { Message } from '../../shared/protocol.js';

/** Resolves after the current turn's setImmediate callbacks (the outbox's flush among them) have run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const ack = (n: number) => ({ taskId: `t${n}`, attempt: 1, accepted: true });
const progress = (n: number) => ({ taskId: `t${n}`, attempt: 1, fraction: n / 10 });

function recorder() {
  const sent: Message[] = [];
  const sizes: number[] = [];
  return { sent, sizes, send: (frame: Buffer) => void (sent.push(decodeValue(frame) as Message), sizes.push(frame.length)) };
}

describe('Outbox', () => {
  it('sends nothing synchronously, then one frame per kind at the end of the turn', async () => {
    const { sent, send } = recorder();
    const box = new Outbox(send);
    box.add('task.ack', ack(1));
    box.add('task.ack', ack(2));
    box.add('task.progress', progress(1));
    box.add('task.ack', ack(3));
    expect(sent).toEqual([]);
    expect(box.size).toBe(4);
    await nextTurn();
    expect(sent).toEqual([
      { kind: 'task.ack', results: [ack(1), ack(2), ack(3)] },
      { kind: 'task.progress', updates: [progress(1)] },
    ]);
    expect(box.size).toBe(0);
  });

  it('at idle a single item leaves alone in its own frame, in the next turn', async () => {
    const { sent, send } = recorder();
    const box = new Outbox(send);
    box.add('task.ack', ack(1));
    await nextTurn();
    expect(sent).toEqual([{ kind: 'task.ack', results: [ack(1)] }]);
    box.add('task.ack', ack(2));
    await nextTurn();
    expect(sent).toEqual([
      { kind: 'task.ack', results: [ack(1)] },
      { kind: 'task.ack', results: [ack(2)] },
    ]);
  });

  it('splits a large batch into frames of at most maxItems, keeping order', async () => {
    const { sent, send } = recorder();
    const box = new Outbox(send, { maxItems: 3 });
    for (let i = 1; i <= 8; i++) box.add('task.ack', ack(i));
    await nextTurn();
    expect(sent.map((m) => (m as { results: unknown[] }).results)).toEqual([
      [ack(1), ack(2), ack(3)],
      [ack(4), ack(5), ack(6)],
      [ack(7), ack(8)],
    ]);
  });

  it('sends exactly maxItems in one frame', async () => {
    const { sent, send } = recorder();
    const box = new Outbox(send, { maxItems: 3 });
    for (let i = 1; i <= 3; i++) box.add('task.ack', ack(i));
    await nextTurn();
    expect(sent).toHaveLength(1);
  });

  it('defaults to 1000 items per frame', async () => {
    const { sent, send } = recorder();
    const box = new Outbox(send);
    for (let i = 0; i < 2500; i++) box.add('task.progress', progress(i));
    await nextTurn();
    expect(sent.map((m) => (m as { updates: unknown[] }).updates.length)).toEqual([1000, 1000, 500]);
  });

  it('flush() sends at once, and the scheduled flush then has nothing left to send', async () => {
    const { sent, send } = recorder();
    const box = new Outbox(send);
    box.add('task.ack', ack(1));
    box.flush();
    expect(sent).toEqual([{ kind: 'task.ack', results: [ack(1)] }]);
    await nextTurn();
    expect(sent).toHaveLength(1);
  });

  it('clear() drops what is queued (the socket is gone)', async () => {
    const { sent, send } = recorder();
    const box = new Outbox(send);
    box.add('task.ack', ack(1));
    box.clear();
    expect(box.size).toBe(0);
    await nextTurn();
    expect(sent).toEqual([]);
  });

  it('uses the right array field for every batchable kind', async () => {
    const { sent, send } = recorder();
    const box = new Outbox(send);
    box.add('task.assign', { taskId: 't', jobId: null, type: 'echo', attempt: 1, priority: 0, params: null, timeoutMs: null });
    box.add('task.ack', ack(1));
    box.add('task.result', { taskId: 't', attempt: 1, outcome: 'succeeded', value: 1, durationMs: 1 });
    box.add('task.progress', progress(1));
    await nextTurn();
    expect(sent.map((m) => m.kind).sort()).toEqual(Object.keys(BATCH_FIELDS).sort());
    for (const m of sent) {
      const field = BATCH_FIELDS[m.kind as keyof typeof BATCH_FIELDS];
      expect((m as unknown as Record<string, unknown[]>)[field], m.kind).toHaveLength(1);
    }
  });

  it('corks the stream while a flush writes several frames, so they reach it in one write', () => {
    const writes: number[] = [];
    const stream = new Writable({
      write: (_chunk, _enc, done) => (writes.push(1), done()),
      writev: (chunks, done) => (writes.push(chunks.length), done()),
    });
    const box = new Outbox((frame) => void stream.write(frame), { maxItems: 2, stream });
    box.add('task.ack', ack(1));
    box.flush();
    expect(writes).toEqual([1]);
    for (let n = 2; n <= 4; n++) box.add('task.ack', ack(n));
    box.add('task.progress', progress(1));
    box.flush();
    // Three frames (two acks, split at maxItems, and one progress) in one write.
    expect(writes).toEqual([1, 3]);
  });

  it('splits by bytes too: no frame over maxFrameBytes, order kept, nothing lost', async () => {
    const { sent, sizes, send } = recorder();
    const box = new Outbox(send, { maxFrameBytes: 10_000 });
    const result = (n: number) => ({ taskId: `t${n}`, attempt: 1, outcome: 'succeeded' as const, value: 'v'.repeat(3000), durationMs: 1 });
    for (let i = 0; i < 10; i++) box.add('task.result', result(i));
    await nextTurn();
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10_000);
    expect(sent.flatMap((m) => (m as { results: unknown[] }).results)).toEqual(Array.from({ length: 10 }, (_, i) => result(i)));
  });

  it('hands an item too large for any frame to onTooLarge instead of sending it, and sends the rest', async () => {
    const { sent, sizes, send } = recorder();
    const tooLarge: Array<[string, unknown, number]> = [];
    const box = new Outbox(send, { maxFrameBytes: 4096, onTooLarge: (kind, item, bytes) => void tooLarge.push([kind, item, bytes]) });
    const assign = (n: number, bytes: number) => ({ taskId: `t${n}`, jobId: null, type: 'big', attempt: 1, priority: 0, params: 'p'.repeat(bytes), timeoutMs: null });
    box.add('task.assign', assign(1, 10));
    box.add('task.assign', assign(2, 5000));
    box.add('task.assign', assign(3, 10));
    await nextTurn();
    expect(tooLarge.map(([kind, item, bytes]) => [kind, (item as { taskId: string }).taskId, bytes > 4096])).toEqual([['task.assign', 't2', true]]);
    expect(sent.flatMap((m) => (m as { tasks: Array<{ taskId: string }> }).tasks.map((t) => t.taskId))).toEqual(['t1', 't3']);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
  });

  it('builds a frame from separately encoded items that decodes to the same message', () => {
    for (const n of [0, 1, 15, 16, 65_535, 65_536]) {
      const items = Array.from({ length: n }, (_, i) => ack(i));
      const built = encodeBatchFrame('task.ack', 'results', items.map((i) => encodeValue(i)));
      expect(decodeValue(built), `${n} items`).toEqual({ kind: 'task.ack', results: items });
    }
  });
});
