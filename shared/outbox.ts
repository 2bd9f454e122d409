/**
 * Per-socket batching of the high-volume message kinds: items queued during
 * one event-loop turn leave as one frame per kind (at most `maxItems` each).
 * At idle a turn holds one item, so latency stays one frame; under load many
 * items share a frame, which is what makes the wire cheap.
 */
import type { Message, Payloads } from './protocol.js';

/** Each batchable kind and the array field that carries its items. */
export const BATCH_FIELDS = {
  'task.assign': 'tasks',
  'task.ack': 'results',
  'task.result': 'results',
  'task.progress': 'updates',
} as const;

export type BatchKind = keyof typeof BATCH_FIELDS;
export type BatchItem<K extends BatchKind> =
  Payloads[K] extends Record<(typeof BATCH_FIELDS)[K], Array<infer I>> ? I : never;
type BatchMessage = Extract<Message, { kind: BatchKind }>;

/**
 * Outboxes with items waiting, flushed together by one setImmediate per turn:
 * a foreman with 1,000 busy sessions would otherwise queue 1,000 immediates
 * (and their closures) every turn.
 */
const dirty = new Set<Outbox>();
let flushScheduled = false;

function flushDirty(): void {
  flushScheduled = false;
  // A snapshot: should one send throw, the others are not left marked dirty with nothing scheduled.
  const boxes = [...dirty];
  dirty.clear();
  for (const box of boxes) box.flush();
}

/** The stream under a socket, when the owner can reach it: frames of one flush then leave in one write. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

export class Outbox {
  private readonly pending = new Map<BatchKind, unknown[]>();

  /**
   * @param send writes one message to the socket.
   * @param maxItems most items in one frame, so a frame stays under the peer's payload limit.
   * @param stream corked while a flush sends several frames, so they share one syscall.
   */
  constructor(
    private readonly send: (message: BatchMessage) => void,
    private readonly maxItems = 1000,
    private readonly stream: Corkable | null = null,
  ) {}

  /** Queues one item for the next frame of its kind. */
  add<K extends BatchKind>(kind: K, item: BatchItem<K>): void {
    let list = this.pending.get(kind);
    if (!list) {
      list = [];
      this.pending.set(kind, list);
    }
    list.push(item);
    if (dirty.has(this)) return;
    dirty.add(this);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushDirty);
    }
  }

  /** Sends everything queued now. */
  flush(): void {
    dirty.delete(this);
    if (this.pending.size === 0) return;
    // An assignment and an acknowledgement for the same worker often leave in one turn: one write, not two.
    const cork = this.stream !== null && (this.pending.size > 1 || this.size > this.maxItems);
    if (cork) this.stream?.cork();
    try {
      for (const [kind, items] of this.pending) {
        for (let i = 0; i < items.length; i += this.maxItems) {
          const chunk = items.length <= this.maxItems ? items : items.slice(i, i + this.maxItems);
          this.send({ kind, [BATCH_FIELDS[kind]]: chunk } as unknown as BatchMessage);
        }
      }
    } finally {
      this.pending.clear();
      if (cork) this.stream?.uncork();
    }
  }

  /** Drops everything queued (the socket is gone). */
  clear(): void {
    dirty.delete(this);
    this.pending.clear();
  }

  get size(): number {
    let n = 0;
    for (const items of this.pending.values()) n += items.length;
    return n;
  }
}
