/**
 * Generators of hostile worker frames for the fuzz tests: valid messages
 * mutated byte by byte, random bytes, wrong kinds, wrong field types, huge
 * strings, deep nesting and truncation. Deterministic for a given seed.
 */
import { encodeMessage, encodeValue } from '../../shared/codec.js';
import { PROTOCOL_VERSION, type WorkerMessage } from '../../shared/protocol.js';

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Frame = { bytes: Buffer | string; what: string };

export class FrameFuzzer {
  constructor(private readonly rand: () => number) {}

  int(max: number): number {
    return Math.floor(this.rand() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A well-formed worker message of a random kind. */
  validMessage(workerId = 'fuzz'): WorkerMessage {
    const ref = { taskId: `t_${this.int(1e6)}`, attempt: this.int(5) };
    return this.pick<() => WorkerMessage>([
      () => ({ kind: 'hello', protocolVersion: PROTOCOL_VERSION, workerId, skills: [{ type: 'fuzz-none' }], capacity: 1, groupLimits: {}, running: [] }),
      () => ({ kind: 'heartbeat', running: [ref], draining: false }),
      () => ({ kind: 'task.result', results: [{ ...ref, outcome: 'succeeded', value: { n: this.int(100) }, durationMs: 3 }] }),
      () => ({ kind: 'task.progress', updates: [{ ...ref, fraction: this.rand(), message: 'half' }] }),
      () => ({ kind: 'task.release', tasks: [ref], reason: 'fuzz' }),
      () => ({ kind: 'worker.state', state: 'ready' }),
    ])();
  }

  /** 1-4 random edits of an encoded valid message: bit flips, byte sets, inserts, deletes, truncation, duplication. */
  mutated(): Frame {
    const bytes = [...encodeMessage(this.validMessage())];
    const edits = 1 + this.int(4);
    for (let i = 0; i < edits && bytes.length > 0; i++) {
      const at = this.int(bytes.length);
      switch (this.int(6)) {
        case 0: bytes[at] ^= 1 << this.int(8); break;
        case 1: bytes[at] = this.int(256); break;
        case 2: bytes.splice(at, 0, this.int(256)); break;
        case 3: bytes.splice(at, 1); break;
        case 4: bytes.length = at; break;
        default: bytes.splice(at, 0, ...bytes.slice(at, at + 1 + this.int(8)));
      }
    }
    return { bytes: Buffer.from(bytes), what: 'mutated' };
  }

  randomBytes(): Frame {
    return { bytes: Buffer.from(Array.from({ length: this.int(256) }, () => this.int(256))), what: 'random bytes' };
  }

  wrongKind(): Frame {
    const kind = this.pick<unknown>(['welcome', 'task.assign', 'error', 'task.explode', '', 42, null, ['hello'], { k: 1 }, 'x'.repeat(5000)]);
    return { bytes: encodeValue({ kind, running: [] }), what: 'wrong kind' };
  }

  /** A valid message with one field replaced by a value of another type. */
  wrongType(): Frame {
    const m = this.validMessage() as unknown as Record<string, unknown>;
    const keys = Object.keys(m).filter((k) => k !== 'kind');
    m[this.pick(keys)] = this.pick<unknown>([null, -1, 1.5, 'str', true, [], {}, [[1]], { taskId: 5 }, Number.MAX_SAFE_INTEGER * 4]);
    return { bytes: encodeValue(m), what: 'wrong type' };
  }

  hugeString(): Frame {
    const s = 'x'.repeat(70_000 + this.int(100_000));
    return this.pick<() => Frame>([
      () => ({ bytes: encodeValue({ kind: 'heartbeat', running: [{ taskId: s, attempt: 1 }] }), what: 'huge id' }),
      () => ({ bytes: encodeValue({ kind: 'task.release', tasks: [], reason: s }), what: 'huge string' }),
      () => ({ bytes: encodeValue({ kind: s }), what: 'huge kind' }),
    ])();
  }

  /** Arrays nested `depth` deep, as a whole frame or spliced into a field typed `any` or typed otherwise. */
  deepNesting(): Frame {
    const depth = 50 + this.int(20_000);
    const deep = Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])]);
    const host = this.pick([
      { kind: 'task.result', results: [{ taskId: 't_1', attempt: 1, outcome: 'succeeded', value: 'DEEP', durationMs: 1 }] },
      { kind: 'heartbeat', running: 'DEEP' },
      { kind: 'hello', protocolVersion: PROTOCOL_VERSION, workerId: 'deep', skills: [], capacity: 1, groupLimits: {}, running: [], meta: { x: 'DEEP' } },
    ]);
    if (this.int(3) === 0) return { bytes: deep, what: 'deep frame' };
    const encoded = encodeValue(host);
    const marker = encodeValue('DEEP');
    const at = encoded.indexOf(marker);
    return { bytes: Buffer.concat([encoded.subarray(0, at), deep, encoded.subarray(at + marker.length)]), what: `deep ${host.kind}` };
  }

  truncated(): Frame {
    const bytes = encodeMessage(this.validMessage());
    return { bytes: bytes.subarray(0, this.int(bytes.length)), what: 'truncated' };
  }

  text(): Frame {
    return { bytes: this.pick(['{"kind":"hello"}', '', 'hello', '\u0000\uffff']), what: 'text frame' };
  }

  /** One frame of a random category. */
  next(): Frame {
    return this.pick<() => Frame>([
      () => this.mutated(), () => this.mutated(), () => this.mutated(), () => this.randomBytes(), () => this.wrongKind(),
      () => this.wrongType(), () => this.wrongType(), () => this.truncated(), () => this.deepNesting(), () => this.text(),
      () => (this.int(8) === 0 ? this.hugeString() : this.mutated()),
    ])();
  }
}
