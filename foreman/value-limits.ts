/**
 * Checks on user values (task params, results, worker meta) before they are
 * stored or served. Depth comes first: msgpack and JSON encoders recurse, so
 * a value nested a few thousand levels deep would overflow the stack inside
 * the store or a response instead of being refused at the door.
 */
import { encodeValue } from '../shared/codec.js';

/**
 * Whether `value` nests arrays or objects more than `maxDepth` levels deep.
 * Iterative, so it is safe on any input; byte arrays count as leaves.
 */
export function nestingExceeds(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    if (depth >= maxDepth) return true;
    if (Array.isArray(v)) for (const item of v) stack.push([item, depth + 1]);
    else for (const key of Object.keys(v)) stack.push([(v as Record<string, unknown>)[key], depth + 1]);
  }
  return false;
}

/** Why a value was refused: nested too deep, or too big; `message` names the value and the limit. */
export interface ValueProblem {
  kind: 'depth' | 'size';
  message: string;
}

/**
 * What is wrong with `value` against the limits, naming it `what`, or null when it is fine.
 * Its size is measured as msgpack, the form in which it is stored and sent.
 */
export function valueProblem(what: string, value: unknown, limits: { maxBytes: number; maxDepth: number; bytesOption: string }): ValueProblem | null {
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return null;
  // A string of n UTF-16 units encodes to at most 3n + 5 bytes: short strings need no encoding to be judged.
  if (typeof value === 'string' && value.length * 3 + 5 <= limits.maxBytes) return null;
  if (nestingExceeds(value, limits.maxDepth)) return { kind: 'depth', message: `${what} is nested deeper than ${limits.maxDepth} levels (maxValueDepth)` };
  const bytes = encodeValue(value).length;
  if (bytes <= limits.maxBytes) return null;
  return { kind: 'size', message: `${what} is ${bytes} bytes encoded; the limit is ${limits.maxBytes} (${limits.bytesOption})` };
}
