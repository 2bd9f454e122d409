/**
 * Checks on user values (task params, results, worker meta) before they are
 * stored or served. Depth comes first: msgpack and JSON encoders recurse, so
 * a value nested a few thousand levels deep would overflow the stack inside
 * the store or a response instead of being refused at the door.
 */
import { encodeValue } from '../shared/codec.js';

/**
 * One walk over `value`: whether it nests arrays or objects more than `maxDepth` levels deep
 * (`depthExceeded`), and else an upper bound of its msgpack size (`maxBytes`; Infinity for
 * objects the bound does not know, such as dates). Iterative, so it is safe on any input;
 * byte arrays count as leaves.
 */
export function measureValue(value: unknown, maxDepth: number): { depthExceeded: boolean; maxBytes: number } {
  let bytes = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    // msgpack: a string or byte array costs at most a 5-byte header plus 3 bytes per UTF-16 unit or 1 per byte; scalars at most 9.
    if (typeof v === 'string') bytes += 5 + 3 * v.length;
    else if (v === null || typeof v !== 'object') bytes += 9;
    else if (ArrayBuffer.isView(v)) bytes += 5 + v.byteLength;
    else if (depth >= maxDepth) return { depthExceeded: true, maxBytes: Infinity };
    else if (Array.isArray(v)) {
      bytes += 5;
      for (const item of v) stack.push([item, depth + 1]);
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) bytes = Infinity;
      bytes += 5;
      for (const key of Object.keys(v)) {
        bytes += 5 + 3 * key.length;
        stack.push([(v as Record<string, unknown>)[key], depth + 1]);
      }
    }
  }
  return { depthExceeded: false, maxBytes: bytes };
}

/** Why a value was refused: nested too deep, or too big; `message` names the value and the limit. */
export interface ValueProblem {
  kind: 'depth' | 'size';
  message: string;
}

/**
 * What is wrong with `value` against the limits (`sizeHint` is appended to a size problem's message), naming it `what`, or null when it is fine.
 * Its size is measured as msgpack, the form in which it is stored and sent.
 */
export function valueProblem(what: string, value: unknown, limits: { maxBytes: number; maxDepth: number; bytesOption: string; sizeHint?: string }): ValueProblem | null {
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return null;
  // A string of n UTF-16 units encodes to at most 3n + 5 bytes: short strings need no encoding to be judged.
  if (typeof value === 'string' && value.length * 3 + 5 <= limits.maxBytes) return null;
  const measured = measureValue(value, limits.maxDepth);
  if (measured.depthExceeded) return { kind: 'depth', message: `${what} is nested deeper than ${limits.maxDepth} levels (maxValueDepth)` };
  // Encoding a big value only to measure it costs as much as storing it: do it only when the bound says it might not fit.
  if (measured.maxBytes <= limits.maxBytes) return null;
  const bytes = encodeValue(value).length;
  if (bytes <= limits.maxBytes) return null;
  return { kind: 'size', message: `${what} is ${bytes} bytes encoded; the limit is ${limits.maxBytes} (${limits.bytesOption})${limits.sizeHint ?? ''}` };
}
