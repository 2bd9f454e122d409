/**
 * The one codec: msgpack frames for the wire and msgpack blobs for the store.
 * This is the only file that imports msgpackr.
 */
import { Packr } from 'msgpackr';
import { PartialBatchError, ProtocolError } from './errors.js';
import { BATCH_FIELDS, MESSAGE_SPECS, type Message, type MessageKind } from './protocol.js';
import { compile, DEFAULT_CHECK_LIMITS, explain, type Checker, type CheckLimits, type Spec } from './schema.js';

// Plain msgpack maps (no msgpackr records or extensions), so a worker in any language can read every frame.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

/** Encodes a protocol message into one binary frame. */
export function encodeMessage(message: Message): Buffer {
  return packr.pack(message);
}

/**
 * Builds the frame `{ kind, [field]: items }` from items encoded one by one (`encodeValue`):
 * it decodes to the same message `encodeMessage` would send, without encoding the items again: the outbox uses it to pack an oversized batch into frames under a byte limit.
 */
export function encodeBatchFrame(kind: string, field: string, encodedItems: readonly Uint8Array[]): Buffer {
  const n = encodedItems.length;
  // A msgpack array header: fixarray up to 15 items, array16 up to 65,535, array32 beyond.
  const arrayHeader = n < 16 ? Buffer.from([0x90 | n]) : n < 0x10000 ? Buffer.from([0xdc, n >> 8, n & 0xff]) : Buffer.from([0xdd, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  // A two-entry map: fixmap header, then each key and value.
  const head = Buffer.concat([Buffer.from([0x82]), packr.pack('kind'), packr.pack(kind), packr.pack(field), arrayHeader]);
  return Buffer.concat([head, ...encodedItems]);
}

/** Bytes a batch frame adds around its items' own bytes (the map, `kind`, the field name, an array32 header): at most this. */
export const BATCH_FRAME_OVERHEAD_BYTES = 64;

/** Compiled checkers per kind, one set per limits object (a foreman's limits are fixed at start). */
const checkers = new WeakMap<CheckLimits, Map<string, Checker>>();

function checkerFor(key: string, spec: Spec, limits: CheckLimits): Checker {
  let byKey = checkers.get(limits);
  if (!byKey) checkers.set(limits, (byKey = new Map()));
  let checker = byKey.get(key);
  if (!checker) byKey.set(key, (checker = compile(spec, limits)));
  return checker;
}

/**
 * Decodes one frame and checks it against the spec of its kind.
 * @param allowed kinds this peer may send; others are `UNKNOWN_KIND`.
 * @throws ProtocolError with code BAD_FRAME, UNKNOWN_KIND or INVALID_MESSAGE.
 */
export function decodeMessage<K extends MessageKind>(
  bytes: Uint8Array,
  allowed: readonly K[],
  limits: CheckLimits = DEFAULT_CHECK_LIMITS,
): Extract<Message, { kind: K }> {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (err) {
    throw new ProtocolError('BAD_FRAME', (err as Error).message, { cause: err });
  }
  // Only a plain map is a message: binary blobs, timestamps and extensions decode to other objects.
  const proto = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new ProtocolError('BAD_FRAME', 'a frame must be a map');
  }
  const kind = (value as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(allowed as readonly string[]).includes(kind)) {
    throw new ProtocolError('UNKNOWN_KIND', `kind ${JSON.stringify(String(kind)).slice(0, 64)}`);
  }
  let problem: string | null;
  try {
    problem = explain(checkerFor(kind, MESSAGE_SPECS[kind as K], limits), value, kind);
  } catch (err) {
    // A checker that throws costs this frame, never the process.
    throw new ProtocolError('INVALID_MESSAGE', (err as Error).message, { cause: err });
  }
  if (problem) throw salvageBatch(kind as MessageKind, value as Record<string, unknown>, problem, limits) ?? new ProtocolError('INVALID_MESSAGE', problem);
  return value as Extract<Message, { kind: K }>;
}

/**
 * For a batched kind whose only faults are in some of its items: a PartialBatchError carrying the
 * message with the valid items, naming the first bad item and the task it is about, so one bad
 * item never drops the good ones around it. Null when the fault is elsewhere (the whole frame is refused).
 */
function salvageBatch(kind: MessageKind, value: Record<string, unknown>, problem: string, limits: CheckLimits): PartialBatchError | null {
  if (!(kind in BATCH_FIELDS)) return null;
  const field = BATCH_FIELDS[kind as keyof typeof BATCH_FIELDS];
  const items = value[field];
  if (!Array.isArray(items) || items.length > limits.maxArrayLength || !problem.startsWith(`${kind}.${field}[`)) return null;
  const itemChecker = checkerFor(`${kind}/item`, (MESSAGE_SPECS[kind] as Record<string, readonly [Spec]>)[field][0], limits);
  const good: unknown[] = [];
  let first: string | null = null;
  for (let i = 0; i < items.length; i++) {
    const itemProblem = explain(itemChecker, items[i], `${kind}.${field}[${i}]`);
    if (itemProblem === null) {
      good.push(items[i]);
    } else if (first === null) {
      const ref = items[i] as { taskId?: unknown; attempt?: unknown } | null;
      const about = typeof ref?.taskId === 'string' ? ` (task ${ref.taskId.slice(0, 200)}${typeof ref.attempt === 'number' ? ` attempt ${ref.attempt}` : ''})` : '';
      first = `${itemProblem}${about}`;
    }
  }
  const rejected = items.length - good.length;
  const salvaged = { ...value, [field]: good };
  // The rest of the message must be valid on its own.
  if (first === null || explain(checkerFor(kind, MESSAGE_SPECS[kind], limits), salvaged, kind) !== null) return null;
  return new PartialBatchError(`${first}; ${rejected} of ${items.length} items refused, the other ${good.length} accepted`, salvaged, rejected);
}

/** Encodes an arbitrary value (task params, results) for storage. */
export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

/** Decodes a value written by `encodeValue`. */
export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
