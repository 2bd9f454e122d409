/**
 * Per-socket batching of the high-volume message kinds: items queued during
 * one event-loop turn leave as one frame per kind, split so that no frame holds
 * more than `maxItems` items or more than `maxFrameBytes` bytes. At idle a turn
 * holds one item, so latency stays one frame; under load many items share a
 * frame, which is what makes the wire cheap.
 */
import { BATCH_FRAME_OVERHEAD_BYTES, encodeBatchFrame, encodeMessage, encodeValue } from './codec.js';
import { BATCH_FIELDS, type Message, type Payloads } from './protocol.js';

export { BATCH_FIELDS };

export type BatchKind = keyof typeof BATCH_FIELDS;
export type BatchItem<K extends BatchKind> =
  Payloads[K] extends Record<(typeof BATCH_FIELDS)[K], Array<infer I>> ? I : never;

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

export interface OutboxOptions {
  /** Most items in one frame. Default 1000. */
  maxItems?: number;
  /** Largest frame sent, in bytes: the peer's limit (the foreman's `maxFrameBytes`). Default: none until `setMaxFrameBytes`. */
  maxFrameBytes?: number;
  /** Corked while a flush sends several frames, so they share one syscall. */
  stream?: Corkable | null;
  /**
   * An item that does not fit in a frame even alone: it is not sent, and the owner decides its fate
   * (the foreman fails the task, the worker reports the result as failed). Default: dropped.
   */
  onTooLarge?: <K extends BatchKind>(kind: K, item: BatchItem<K>, bytes: number) => void;
}

export class Outbox {
  private readonly pending = new Map<BatchKind, unknown[]>();
  private readonly maxItems: number;
  private maxFrameBytes: number;
  private readonly stream: Corkable | null;
  private readonly onTooLarge: NonNullable<OutboxOptions['onTooLarge']>;

  /** @param sendFrame writes one encoded frame to the socket. */
  constructor(
    private readonly sendFrame: (frame: Buffer) => void,
    options: OutboxOptions = {},
  ) {
    this.maxItems = options.maxItems ?? 1000;
    this.maxFrameBytes = options.maxFrameBytes ?? Number.MAX_SAFE_INTEGER;
    this.stream = options.stream ?? null;
    this.onTooLarge = options.onTooLarge ?? (() => {});
  }

  /** Sets the largest frame to send (a worker learns the foreman's limit from `welcome`). */
  setMaxFrameBytes(bytes: number): void {
    this.maxFrameBytes = bytes;
  }

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
    // Taken first: an onTooLarge callback may queue a replacement item for the next flush.
    const pending = [...this.pending];
    this.pending.clear();
    try {
      for (const [kind, items] of pending) {
        for (let i = 0; i < items.length; i += this.maxItems) {
          const chunk = items.length <= this.maxItems ? items : items.slice(i, i + this.maxItems);
          this.sendChunk(kind, chunk);
        }
      }
    } finally {
      if (cork) this.stream?.uncork();
    }
  }

  /**
   * One frame when it fits (the usual case: one encode, no extra work). When it does not, each
   * item is encoded alone and the items are packed greedily, in order, into frames under the limit.
   */
  private sendChunk(kind: BatchKind, items: unknown[]): void {
    const field = BATCH_FIELDS[kind];
    const frame = encodeMessage({ kind, [field]: items } as unknown as Message);
    if (frame.length <= this.maxFrameBytes) return this.sendFrame(frame);
    const room = this.maxFrameBytes - BATCH_FRAME_OVERHEAD_BYTES;
    let batch: Uint8Array[] = [];
    let bytes = 0;
    const send = () => {
      if (batch.length > 0) this.sendFrame(encodeBatchFrame(kind, field, batch));
      batch = [];
      bytes = 0;
    };
    for (const item of items) {
      const encoded = encodeValue(item);
      if (encoded.length > room) {
        this.onTooLarge(kind, item as never, encoded.length + BATCH_FRAME_OVERHEAD_BYTES);
        continue;
      }
      if (bytes + encoded.length > room) send();
      batch.push(encoded);
      bytes += encoded.length;
    }
    send();
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
