/** The wire codec: every kind round-trips as plain msgpack, and every kind of malformed frame is refused with a stable code. */
import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeValue, encodeMessage, encodeValue } from '../../shared/codec.js';
import { PartialBatchError, ProtocolError } from '../../shared/errors.js';
import {
  FOREMAN_KINDS,
  MESSAGE_SPECS,
  PROTOCOL_VERSION,
  WORKER_KINDS,
  CLIENT_KINDS,
  FOREMAN_CLIENT_KINDS,
  type MessageKind,
  type MessageOf,
} from '../../shared/protocol.js';
import { DEFAULT_CHECK_LIMITS } from '../../shared/schema.js';

const ALL_KINDS = [...WORKER_KINDS, ...FOREMAN_KINDS, ...CLIENT_KINDS, ...FOREMAN_CLIENT_KINDS.filter((k) => k !== 'error')];

/** One full example of every kind, optional fields included; the mapped type makes a new kind fail to compile here. */
const SAMPLES: { [K in MessageKind]: MessageOf<K> } = {
  hello: {
    kind: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    workerId: 'w-1',
    sessionToken: 'tok',
    authToken: 'secret',
    skills: [{ type: 'echo' }, { type: 'resize', group: 'gpu' }],
    capacity: 4,
    groupLimits: { gpu: 1 },
    running: [{ taskId: 't_1', attempt: 2 }],
    statusUrl: 'http://127.0.0.1:8001/',
    meta: { hostname: 'box', pid: 123, tags: ['a', 'b'], nested: { x: null } },
    hotSkills: ['caption'],
  },
  heartbeat: { kind: 'heartbeat', running: [{ taskId: 't_1', attempt: 1 }], draining: false, hotSkills: ['caption', 'upscale'] },
  'task.result': {
    kind: 'task.result',
    results: [
      { taskId: 't_1', attempt: 1, outcome: 'succeeded', value: { sum: 3, list: [1, 2.5, 'x'], big: 2 ** 40 }, status: 'needs_review', durationMs: 12.5 },
      { taskId: 't_2', attempt: 3, outcome: 'failed', error: { code: 'PERMANENT', message: 'bad input', retryable: false }, durationMs: 0 },
      { taskId: 't_3', attempt: 1, outcome: 'cancelled', durationMs: 7 },
    ],
  },
  'task.progress': { kind: 'task.progress', updates: [{ taskId: 't_1', attempt: 1, fraction: 0.5, message: 'half' }, { taskId: 't_2', attempt: 1, fraction: 1 }] },
  'task.release': { kind: 'task.release', tasks: [{ taskId: 't_1', attempt: 1 }], reason: 'draining' },
  'worker.state': { kind: 'worker.state', state: 'draining' },
  'task.checkpoint': { kind: 'task.checkpoint', checkpoints: [{ taskId: 't_1', attempt: 2, seq: 7, state: { n: 50, rows: [1, 2] } }] },
  'checkpoint.ack': {
    kind: 'checkpoint.ack',
    checkpoints: [{ taskId: 't_1', attempt: 2, seq: 7, accepted: true }, { taskId: 't_2', attempt: 1, seq: 8, accepted: false, reason: 'stale attempt' }],
  },
  welcome: {
    kind: 'welcome',
    sessionId: 's_1',
    sessionToken: 'tok2',
    heartbeatIntervalMs: 5000,
    maxFrameBytes: 16 * 1024 * 1024,
    adopted: [{ taskId: 't_1', attempt: 2 }],
    revoked: [{ taskId: 't_9', attempt: 1 }],
  },
  'task.assign': {
    kind: 'task.assign',
    tasks: [
      { taskId: 't_1', jobId: 'j_1', type: 'echo', attempt: 1, priority: 5, params: { text: 'hé', bytes: [0, 255] }, timeoutMs: 1000, checkpoint: { state: { n: 50 }, savedAt: 1764567890123, attempt: 1 } },
      { taskId: 't_2', jobId: null, type: 'sum', attempt: 2, priority: -1.5, params: null, timeoutMs: null },
    ],
  },
  'task.cancel': { kind: 'task.cancel', tasks: [{ taskId: 't_1', attempt: 1 }], reason: 'revoked' },
  'task.ack': {
    kind: 'task.ack',
    results: [
      { taskId: 't_1', attempt: 1, accepted: true },
      { taskId: 't_2', attempt: 1, accepted: false, reason: 'stale attempt' },
    ],
  },
  'worker.command': { kind: 'worker.command', command: 'restart', mode: 'hard' },
  error: { kind: 'error', code: 'BAD_FRAME', message: 'nope', retryable: false },
  'client.submit': { kind: 'client.submit', tasks: [{ ref: 1, type: 'resize', params: { w: 2 }, priority: 1, maxAttempts: 2, timeoutMs: 500, key: 'k' }] },
  'client.watch': { kind: 'client.watch', taskIds: ['t_1'] },
  'client.unknown': { kind: 'client.unknown', taskIds: ['t_9'] },
  'client.accepted': { kind: 'client.accepted', tasks: [{ ref: 1, taskId: 't_1' }, { ref: 2, error: { code: 'INVALID_REQUEST', message: 'bad', field: 'tasks/0/type' } }] },
  'client.settled': {
    kind: 'client.settled',
    tasks: [
      { taskId: 't_1', state: 'succeeded', status: null, result: { ok: true }, attempt: 1 },
      { taskId: 't_2', state: 'failed', status: null, error: { code: 'PERMANENT', message: 'bad input', retryable: false }, attempt: 2 },
    ],
  },
};

const hb = (extra: Record<string, unknown> = {}) => encodeValue({ kind: 'heartbeat', running: [], ...extra });

/** Calls `fn` and returns the ProtocolError it threw (failing the test if it threw anything else or nothing). */
function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError, but decoding succeeded');
}

const decodeFromWorker = (bytes: Uint8Array) => decodeMessage(bytes, WORKER_KINDS);

/**
 * A strict, independent msgpack reader that knows only the plain types (nil, bool, int, float,
 * str, bin, array, map) and throws on anything else: ext types, records, reserved bytes. Decoding
 * every frame with it proves a worker in another language needs nothing msgpackr-specific.
 */
function strictMsgpack(buf: Uint8Array): unknown {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new Error('truncated');
  };
  const str = (n: number) => {
    need(n);
    const s = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const arr = (n: number): unknown[] => Array.from({ length: n }, () => read());
  const map = (n: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = read();
      if (typeof k !== 'string') throw new Error(`map key ${String(k)} is not a string`);
      out[k] = read();
    }
    return out;
  };
  const u = (bytes: 1 | 2 | 4 | 8): number => {
    need(bytes);
    const v = bytes === 1 ? view.getUint8(pos) : bytes === 2 ? view.getUint16(pos) : bytes === 4 ? view.getUint32(pos) : Number(view.getBigUint64(pos));
    pos += bytes;
    return v;
  };
  const i = (bytes: 1 | 2 | 4 | 8): number => {
    need(bytes);
    const v = bytes === 1 ? view.getInt8(pos) : bytes === 2 ? view.getInt16(pos) : bytes === 4 ? view.getInt32(pos) : Number(view.getBigInt64(pos));
    pos += bytes;
    return v;
  };
  function read(): unknown {
    need(1);
    const b = buf[pos++];
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return map(b & 0x0f);
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f);
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return buf.slice(pos, (pos += u(1)));
      case 0xc5: return buf.slice(pos, (pos += u(2)));
      case 0xc6: return buf.slice(pos, (pos += u(4)));
      case 0xca: need(4); pos += 4; return view.getFloat32(pos - 4);
      case 0xcb: need(8); pos += 8; return view.getFloat64(pos - 8);
      case 0xcc: return u(1);
      case 0xcd: return u(2);
      case 0xce: return u(4);
      case 0xcf: return u(8);
      case 0xd0: return i(1);
      case 0xd1: return i(2);
      case 0xd2: return i(4);
      case 0xd3: return i(8);
      case 0xd9: return str(u(1));
      case 0xda: return str(u(2));
      case 0xdb: return str(u(4));
      case 0xdc: return arr(u(2));
      case 0xdd: return arr(u(4));
      case 0xde: return map(u(2));
      case 0xdf: return map(u(4));
      default: throw new Error(`byte 0x${b.toString(16)} is not plain msgpack (ext, record or reserved)`);
    }
  }
  const value = read();
  if (pos !== buf.length) throw new Error('trailing bytes');
  return value;
}

describe('encodeMessage / decodeMessage round trip', () => {
  it('has a sample for every kind, and the two directions cover every kind exactly once', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(MESSAGE_SPECS).sort());
    expect([...ALL_KINDS].sort()).toEqual(Object.keys(MESSAGE_SPECS).sort());
    expect(new Set(ALL_KINDS).size).toBe(ALL_KINDS.length);
  });

  it.each(Object.values(SAMPLES).map((m) => [m.kind, m] as const))('%s survives encode and decode unchanged', (kind, message) => {
    const allowed = [WORKER_KINDS, FOREMAN_KINDS, CLIENT_KINDS, FOREMAN_CLIENT_KINDS].find((kinds) => (kinds as readonly string[]).includes(kind)) ?? [];
    const bytes = encodeMessage(message);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(decodeMessage(bytes, allowed)).toEqual(message);
  });

  it.each(Object.values(SAMPLES).map((m) => [m.kind, m] as const))('%s is a plain msgpack map with a string kind', (_kind, message) => {
    const plain = strictMsgpack(encodeMessage(message));
    expect(plain).toEqual(message);
  });

  it('decodes a frame written by another encoder (fields in any order, floats for integers)', () => {
    // Built by hand: map of 2 {"running": [], "kind": "heartbeat"}, keys in the "wrong" order.
    const bytes = Buffer.from([0x82, 0xa7, ...Buffer.from('running'), 0x90, 0xa4, ...Buffer.from('kind'), 0xa9, ...Buffer.from('heartbeat')]);
    expect(decodeFromWorker(bytes)).toEqual({ kind: 'heartbeat', running: [] });
    // A uint written as a float64 with an integral value is still a uint.
    const floatAttempt = Buffer.concat([
      Buffer.from([0x83, 0xa4, ...Buffer.from('kind'), 0xac, ...Buffer.from('task.release')]),
      Buffer.from([0xa6, ...Buffer.from('reason'), 0xa1, 0x78]),
      Buffer.from([0xa5, ...Buffer.from('tasks'), 0x91, 0x82, 0xa6, ...Buffer.from('taskId'), 0xa1, 0x74, 0xa7, ...Buffer.from('attempt'), 0xcb]),
      (() => {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(3);
        return b;
      })(),
    ]);
    expect(decodeFromWorker(floatAttempt)).toEqual({ kind: 'task.release', reason: 'x', tasks: [{ taskId: 't', attempt: 3 }] });
  });

  it('ignores unknown extra fields, so a newer peer may add optional ones', () => {
    expect(decodeFromWorker(hb({ futureField: { a: 1 } }))).toMatchObject({ kind: 'heartbeat', running: [] });
  });

  it('round-trips stored values, including binary and nested data', () => {
    const value = { a: [1, 'two', null, true], b: Buffer.from([1, 2, 3]), c: { d: -1.25 } };
    expect(decodeValue(encodeValue(value))).toEqual(value);
  });
});

describe('decodeMessage rejects malformed frames', () => {
  it.each([
    ['an empty frame', new Uint8Array()],
    ['text bytes', Buffer.from('{"kind":"heartbeat","running":[]}')],
    ['two msgpack values in one frame', Buffer.concat([hb(), hb()])],
  ])('%s is BAD_FRAME', (_name, bytes) => {
    expect(protocolError(() => decodeFromWorker(bytes)).code).toBe('BAD_FRAME');
  });

  it('refuses every truncation of a valid frame with BAD_FRAME', () => {
    const full = encodeMessage(SAMPLES.hello);
    for (let n = 0; n < full.length; n++) {
      const err = protocolError(() => decodeFromWorker(full.subarray(0, n)));
      expect(err.code, `prefix of ${n} bytes`).toBe('BAD_FRAME');
    }
  });

  it.each([
    ['nil', encodeValue(null)],
    ['a number', encodeValue(42)],
    ['a string', encodeValue('heartbeat')],
    ['a boolean', encodeValue(true)],
    ['an array of messages', encodeValue([{ kind: 'heartbeat', running: [] }])],
    ['a binary blob', Buffer.from([0xc4, 0x03, 0x01, 0x02, 0x03])],
  ])('a frame that is %s, not a map, is BAD_FRAME', (_name, bytes) => {
    const err = protocolError(() => decodeFromWorker(bytes));
    expect(err.code).toBe('BAD_FRAME');
    expect(err.closeCode).toBeNull();
  });

  it.each([
    ['no kind', encodeValue({ running: [] })],
    ['a numeric kind', encodeValue({ kind: 1, running: [] })],
    ['an unknown kind', encodeValue({ kind: 'task.steal', running: [] })],
    ['a kind differing in case', encodeValue({ kind: 'Heartbeat', running: [] })],
    ['an inherited property name as kind', encodeValue({ kind: 'constructor' })],
  ])('a map with %s is UNKNOWN_KIND', (_name, bytes) => {
    expect(protocolError(() => decodeFromWorker(bytes)).code).toBe('UNKNOWN_KIND');
  });

  it('refuses a foreman kind from a worker and a worker kind from the foreman (UNKNOWN_KIND)', () => {
    for (const kind of FOREMAN_KINDS) {
      expect(protocolError(() => decodeMessage(encodeMessage(SAMPLES[kind]), WORKER_KINDS)).code, kind).toBe('UNKNOWN_KIND');
    }
    for (const kind of WORKER_KINDS) {
      expect(protocolError(() => decodeMessage(encodeMessage(SAMPLES[kind]), FOREMAN_KINDS)).code, kind).toBe('UNKNOWN_KIND');
    }
  });

  it.each([
    ['hello without workerId', { ...SAMPLES.hello, workerId: undefined }, 'hello.workerId is required'],
    ['hello without running', { ...SAMPLES.hello, running: undefined }, 'hello.running is required'],
    ['a result item without attempt', { kind: 'task.result', results: [{ taskId: 't', outcome: 'succeeded', durationMs: 1 }] }, 'task.result.results[0].attempt is required'],
  ])('%s is INVALID_MESSAGE naming the field', (_name, message, detail) => {
    const err = protocolError(() => decodeFromWorker(encodeValue(message)));
    expect(err.code).toBe('INVALID_MESSAGE');
    expect(err.message).toContain(detail);
  });

  it.each([
    ['a string capacity', { ...SAMPLES.hello, capacity: '4' }, 'hello.capacity'],
    ['a negative capacity', { ...SAMPLES.hello, capacity: -1 }, 'hello.capacity'],
    ['a fractional attempt', { kind: 'heartbeat', running: [{ taskId: 't', attempt: 1.5 }] }, 'heartbeat.running[0].attempt'],
    ['a numeric workerId', { ...SAMPLES.hello, workerId: 7 }, 'hello.workerId'],
    ['an empty workerId', { ...SAMPLES.hello, workerId: '' }, 'hello.workerId'],
    ['running as a map', { kind: 'heartbeat', running: { 0: { taskId: 't', attempt: 1 } } }, 'heartbeat.running'],
    ['an outcome outside its enum', { kind: 'task.result', results: [{ taskId: 't', attempt: 1, outcome: 'done', durationMs: 1 }] }, 'outcome'],
    ['a NaN duration', { kind: 'task.result', results: [{ taskId: 't', attempt: 1, outcome: 'succeeded', durationMs: Number.NaN }] }, 'durationMs'],
    ['nil for an optional boolean', { kind: 'heartbeat', running: [], draining: null }, 'heartbeat.draining'],
    ['a non-uint group limit', { ...SAMPLES.hello, groupLimits: { gpu: 'one' } }, 'hello.groupLimits.gpu'],
    ['a worker.state outside its enum', { kind: 'worker.state', state: 'sleeping' }, 'worker.state.state'],
  ])('%s is INVALID_MESSAGE naming the field', (_name, message, field) => {
    const err = protocolError(() => decodeFromWorker(encodeValue(message)));
    expect(err.code).toBe('INVALID_MESSAGE');
    expect(err.message).toContain(field);
  });

  it('refuses an id longer than the limit, and accepts one exactly at it', () => {
    const max = DEFAULT_CHECK_LIMITS.maxIdLength;
    expect(decodeFromWorker(encodeMessage({ ...SAMPLES.hello, workerId: 'w'.repeat(max) })).kind).toBe('hello');
    const err = protocolError(() => decodeFromWorker(encodeMessage({ ...SAMPLES.hello, workerId: 'w'.repeat(max + 1) })));
    expect(err.code).toBe('INVALID_MESSAGE');
    expect(err.message).toContain(`hello.workerId is longer than ${max}`);
    const inRef = protocolError(() => decodeFromWorker(hb({ running: [{ taskId: 't'.repeat(max + 1), attempt: 1 }] })));
    expect(inRef.code).toBe('INVALID_MESSAGE');
    // Lengths are UTF-16 code units, as PROTOCOL.md says: an emoji counts 2.
    const emoji = '\u{1F600}';
    expect(decodeFromWorker(encodeMessage({ ...SAMPLES.hello, workerId: emoji.repeat(max / 2) })).kind).toBe('hello');
    expect(protocolError(() => decodeFromWorker(encodeMessage({ ...SAMPLES.hello, workerId: `${emoji.repeat(max / 2)}w` }))).code).toBe('INVALID_MESSAGE');
  });

  it('refuses an id that is not valid Unicode (INVALID_MESSAGE naming it) instead of letting it change in transit', () => {
    // A lone surrogate cannot be UTF-8; msgpackr writes it as the bytes ED A0 80, which any decoder turns into U+FFFD.
    const lone = protocolError(() => decodeFromWorker(encodeMessage({ ...SAMPLES.hello, skills: [{ type: 'a\ud800b' }] })));
    expect(lone.code).toBe('INVALID_MESSAGE');
    expect(lone.message).toContain('hello.skills[0].type must be valid Unicode');
    const replaced = protocolError(() => decodeFromWorker(hb({ running: [{ taskId: 't\ufffd', attempt: 1 }] })));
    expect(replaced.message).toContain('heartbeat.running[0].taskId must be valid Unicode');
    // Pairs are fine: an emoji survives unchanged.
    expect(decodeFromWorker(encodeMessage({ ...SAMPLES.hello, workerId: 'w-\u{1F600}' }))).toMatchObject({ workerId: 'w-\u{1F600}' });
  });

  it('refuses only the bad items of a batch (PartialBatchError carrying the good ones), and the whole frame when the fault is elsewhere', () => {
    const good = (n: number) => ({ taskId: `t_${n}`, attempt: 1, accepted: true });
    const frame = encodeValue({ kind: 'task.ack', results: [good(1), { taskId: 't_2', attempt: 'x', accepted: true }, good(3), { nope: 1 }] });
    let err: unknown;
    try {
      decodeMessage(frame, FOREMAN_KINDS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PartialBatchError);
    const partial = err as PartialBatchError;
    expect(partial.code).toBe('INVALID_MESSAGE');
    expect(partial.message).toContain('task.ack.results[1].attempt must be a non-negative integer (task t_2)');
    expect(partial.message).toContain('2 of 4 items refused, the other 2 accepted');
    expect(partial.salvaged).toEqual({ kind: 'task.ack', results: [good(1), good(3)] });
    // Not a batched kind, or a fault outside the items: the whole frame is refused as before.
    expect(protocolError(() => decodeFromWorker(hb({ running: [{ taskId: 't', attempt: -1 }] })))).not.toBeInstanceOf(PartialBatchError);
    expect(protocolError(() => decodeMessage(encodeValue({ kind: 'task.release', tasks: [{ taskId: 't', attempt: 1 }] }), WORKER_KINDS))).not.toBeInstanceOf(PartialBatchError);
  });

  it('applies caller-supplied limits', () => {
    const limits = { maxIdLength: 3, maxStringLength: 5, maxArrayLength: 2 };
    const bytes = encodeMessage({ kind: 'task.release', tasks: [{ taskId: 'abcd', attempt: 1 }], reason: 'x' });
    expect(decodeFromWorker(bytes).kind).toBe('task.release');
    expect(protocolError(() => decodeMessage(bytes, WORKER_KINDS, limits)).code).toBe('INVALID_MESSAGE');
    const longReason = encodeMessage({ kind: 'task.release', tasks: [], reason: 'abcdef' });
    expect(protocolError(() => decodeMessage(longReason, WORKER_KINDS, limits)).message).toContain('longer than 5');
  });

  it('refuses a huge array with INVALID_MESSAGE', () => {
    const refs = Array.from({ length: DEFAULT_CHECK_LIMITS.maxArrayLength + 1 }, () => ({ taskId: 't', attempt: 1 }));
    const err = protocolError(() => decodeFromWorker(hb({ running: refs })));
    expect(err.code).toBe('INVALID_MESSAGE');
    expect(err.message).toContain(`more than ${DEFAULT_CHECK_LIMITS.maxArrayLength} items`);
  });

  it('refuses a record with more keys than the array limit with INVALID_MESSAGE', () => {
    const limits = { ...DEFAULT_CHECK_LIMITS, maxArrayLength: 2 };
    const bytes = encodeValue({ ...SAMPLES.hello, skills: [], running: [], groupLimits: { a: 1, b: 2, c: 3 } });
    const err = protocolError(() => decodeMessage(bytes, WORKER_KINDS, limits));
    expect(err.code).toBe('INVALID_MESSAGE');
    expect(err.message).toContain('hello.groupLimits has more than 2 keys');
  });

  it.each([
    ['array', 0xdd],
    ['map', 0xdf],
    ['string', 0xdb],
    ['binary', 0xc6],
  ])('refuses a %s header that claims 4 billion items without sending them (BAD_FRAME)', (_name, header) => {
    const bytes = Buffer.concat([Buffer.from([0x82, 0xa4, ...Buffer.from('kind'), 0xa9, ...Buffer.from('heartbeat'), 0xa7, ...Buffer.from('running')]), Buffer.from([header, 0xff, 0xff, 0xff, 0xff])]);
    expect(protocolError(() => decodeFromWorker(bytes)).code).toBe('BAD_FRAME');
  });

  it('refuses a deeply nested value with a ProtocolError instead of a stack overflow', () => {
    // {"kind":"hello","meta":{"x":[[[[…]]]]}}: the nesting sits in a field typed `any`, so only the decoder sees it.
    const depth = 200_000;
    const nested = Buffer.alloc(depth + 1, 0x91);
    nested[depth] = 0xc0;
    const prefix = Buffer.from([0x82, 0xa4, ...Buffer.from('kind'), 0xa5, ...Buffer.from('hello'), 0xa4, ...Buffer.from('meta'), 0x81, 0xa1, 0x78]);
    const err = protocolError(() => decodeFromWorker(Buffer.concat([prefix, nested])));
    expect(err.code).toBe('BAD_FRAME');
    expect(err.closeCode).toBeNull();
  });

  it('refuses deep nesting where the spec wants a flat shape (INVALID_MESSAGE)', () => {
    let deep: unknown = [];
    for (let i = 0; i < 500; i++) deep = [deep];
    const err = protocolError(() => decodeFromWorker(hb({ running: deep })));
    expect(err.code).toBe('INVALID_MESSAGE');
    expect(err.message).toContain('heartbeat.running[0]');
  });

  it('keeps the cause of a decoder failure', () => {
    const err = protocolError(() => decodeFromWorker(Buffer.from([0x82])));
    expect(err.cause).toBeInstanceOf(Error);
  });
});
