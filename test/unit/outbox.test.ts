/** The per-socket outbox: items queued in one turn leave as one frame per kind, split at maxItems. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../shared/codec.js';
import { BATCH_FIELDS, Outbox } from '../../shared/outbox.js';
import type { Message } from '../../shared/protocol.js';

/** Resolves after the current turn's setImmediate callbacks (the outbox's flush among them) have run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const ack = (n: number) => ({ taskId: `t${n}`, attempt: 1, accepted: true });
const progress = (n: number) => ({ taskId: `t${n}`, attempt: 1, fraction: n / 10 });

function recorder() {
  const sent: Message[] = [];
  return { sent, send: (m: Message) => void sent.push(m) };
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
    const box = new Outbox(send, 3);
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
    const box = new Outbox(send, 3);
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
    const box = new Outbox((m) => void stream.write(encodeMessage(m)), 2, stream);
    box.add('task.ack', ack(1));
    box.flush();
    expect(writes).toEqual([1]);
    for (let n = 2; n <= 4; n++) box.add('task.ack', ack(n));
    box.add('task.progress', progress(1));
    box.flush();
    // Three frames (two acks, split at maxItems, and one progress) in one write.
    expect(writes).toEqual([1, 3]);
  });
});
