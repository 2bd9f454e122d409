/**
 * The one codec: msgpack frames for the wire and msgpack blobs for the store.
 * This is the only file that imports msgpackr.
 */
import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import { MESSAGE_SPECS, type Message, type MessageKind } from './protocol.js';
import { check, compile, DEFAULT_CHECK_LIMITS, type CheckLimits, type Validator } from './schema.js';

// Plain msgpack maps (no msgpackr records or extensions), so a worker in any language can read every frame.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

/** Encodes a protocol message into one binary frame. */
export function encodeMessage(message: Message): Buffer {
  return packr.pack(message);
}

/** Compiled validators per kind, one set per limits object (a foreman's limits are fixed at start). */
const validators = new WeakMap<CheckLimits, Map<string, Validator>>();

function validatorFor(kind: MessageKind, limits: CheckLimits): Validator {
  let byKind = validators.get(limits);
  if (!byKind) validators.set(limits, (byKind = new Map()));
  let valid = byKind.get(kind);
  if (!valid) byKind.set(kind, (valid = compile(MESSAGE_SPECS[kind], limits)));
  return valid;
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
  let problem: string | null = null;
  try {
    // The compiled validator answers yes/no cheaply; the checker runs only to name what is wrong.
    if (!validatorFor(kind as K, limits)(value)) problem = check(MESSAGE_SPECS[kind as K], value, kind, limits) ?? `${kind} is invalid`;
  } catch (err) {
    // Deeply nested input can exhaust the stack inside the checker.
    throw new ProtocolError('INVALID_MESSAGE', (err as Error).message, { cause: err });
  }
  if (problem) throw new ProtocolError('INVALID_MESSAGE', problem);
  return value as Extract<Message, { kind: K }>;
}

/** Encodes an arbitrary value (task params, results) for storage. */
export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

/** Decodes a value written by `encodeValue`. */
export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
