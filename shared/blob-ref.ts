/**
 * Blob references: `blob:sha256:<64 hex digits>`, the content address of a
 * blob in the foreman's blob store. Params and results carry these strings in
 * place of large data; workers and clients turn them back into bytes.
 */

/** Prefix of every blob reference. */
export const BLOB_REF_PREFIX = 'blob:sha256:';

/** Appended to the errors for params and results over the inline limits: where big data goes instead. */
export const BLOB_HINT = '; put large data in a blob instead (PUT /blobs, `@path` in gaffer submit, or a file returned from the worker\'s payload directory) and pass its blob:sha256: reference (README: Blobs)';

const REF = /^blob:sha256:([0-9a-f]{64})$/;

/** The hex digest a reference names, or null when `value` is not a blob reference. */
export function blobDigest(value: unknown): string | null {
  if (typeof value !== 'string' || value.length !== BLOB_REF_PREFIX.length + 64) return null;
  return REF.exec(value)?.[1] ?? null;
}

/** The reference of a hex SHA-256 digest. */
export function blobRef(digest: string): string {
  return `${BLOB_REF_PREFIX}${digest}`;
}

/**
 * Whether some string inside a JSON-like value passes `test`; allocates nothing of its own (it runs on
 * every task's params and result in the worker).
 */
export function someString(v: unknown, test: (s: string) => boolean, depth = 0): boolean {
  if (typeof v === 'string') return test(v);
  // Past the depth limit values are refused at the door anyway; the bound only guards the recursion.
  if (v === null || typeof v !== 'object' || depth > 200 || ArrayBuffer.isView(v)) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (someString(v[i], test, depth + 1)) return true;
    return false;
  }
  for (const k in v) if (someString((v as Record<string, unknown>)[k], test, depth + 1)) return true;
  return false;
}

const isBlobRef = (s: string): boolean => s.length === BLOB_REF_PREFIX.length + 64 && s.startsWith(BLOB_REF_PREFIX) && REF.test(s);

/** Whether a JSON-like value holds a blob reference anywhere. */
export function containsBlobRef(v: unknown): boolean {
  return someString(v, isBlobRef);
}

/**
 * Every blob reference inside a JSON-like value (strings at any depth), without duplicates.
 * Iterative, so any input is safe; non-plain objects are not entered.
 */
export function findBlobRefs(value: unknown): string[] {
  const found = new Set<string>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (blobDigest(v) !== null) found.add(v);
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      for (const item of Object.values(v)) stack.push(item);
    }
  }
  return [...found];
}

/**
 * A copy of `value` with every string replaced by `replace(string)` (which returns it unchanged when there is
 * nothing to do). Objects and arrays are copied only when something inside them changed.
 */
export function mapStrings(value: unknown, replace: (s: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return replace(value);
  // Values come from msgpack or JSON with a depth limit already enforced; this bound only guards the recursion.
  if (depth > 200 || value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = mapStrings(value[i], replace, depth + 1);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | null = null;
  for (const [k, item] of Object.entries(value)) {
    const v = mapStrings(item, replace, depth + 1);
    if (v !== item) (out ??= { ...(value as Record<string, unknown>) })[k] = v;
  }
  return out ?? value;
}
