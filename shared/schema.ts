/**
 * A tiny declarative schema language for wire messages: one spec gives both
 * the TypeScript type (via `Infer`) and the runtime check (via `check`), so a
 * message is typed once.
 *
 * Spec grammar:
 * - a primitive name: `'string' | 'id' | 'uint' | 'number' | 'boolean' | 'any'`,
 *   optionally `'|null'`-suffixed (`'string|null'`);
 * - `[spec]`: an array of spec;
 * - `{ '*': spec }`: a record of spec values;
 * - `{ key: spec, 'key?': spec }`: an object; a `?` suffix marks an optional key;
 * - `{ enum: ['a', 'b'] }`: one of the listed strings.
 */

type PrimitiveTypes = {
  string: string;
  id: string;
  uint: number;
  number: number;
  boolean: boolean;
  any: unknown;
};
type Primitive = keyof PrimitiveTypes;
type NullablePrimitive = `${Primitive}|null`;

export type Spec =
  | Primitive
  | NullablePrimitive
  | readonly [Spec]
  | { readonly enum: readonly string[] }
  | { readonly '*': Spec }
  | { readonly [key: string]: Spec };

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S> = { [K in keyof S]: K extends `${string}?` ? never : K }[keyof S];
type OptionalKeys<S> = { [K in keyof S]: K extends `${infer N}?` ? N : never }[keyof S];

/** The TypeScript type a spec describes. */
export type Infer<S> = S extends Primitive
  ? PrimitiveTypes[S]
  : S extends `${infer P extends Primitive}|null`
    ? PrimitiveTypes[P] | null
    : S extends readonly [infer E]
      ? Infer<E>[]
      : S extends { readonly enum: readonly (infer E)[] }
        ? E
        : S extends { readonly '*': infer V }
          ? Record<string, Infer<V>>
          : Simplify<
              { [K in RequiredKeys<S> & keyof S]: Infer<S[K]> } & {
                [K in OptionalKeys<S>]?: Infer<S[`${K}?` & keyof S]>;
              }
            >;

/** Limits the checker enforces on every value, so a peer cannot make us hold huge strings. */
export interface CheckLimits {
  /** Longest `id` string, in characters. */
  maxIdLength: number;
  /** Longest `string`, in characters. */
  maxStringLength: number;
  /** Most items in one array. */
  maxArrayLength: number;
}

export const DEFAULT_CHECK_LIMITS: CheckLimits = Object.freeze({
  maxIdLength: 200,
  maxStringLength: 64 * 1024,
  maxArrayLength: 100_000,
});

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkPrimitive(name: string, value: unknown, path: string, limits: CheckLimits): string | null {
  switch (name) {
    case 'any':
      return null;
    case 'string':
      if (typeof value !== 'string') return `${path} must be a string`;
      return value.length > limits.maxStringLength ? `${path} is longer than ${limits.maxStringLength} characters` : null;
    case 'id':
      if (typeof value !== 'string' || value.length === 0) return `${path} must be a non-empty string`;
      return value.length > limits.maxIdLength ? `${path} is longer than ${limits.maxIdLength} characters` : null;
    case 'uint':
      return Number.isSafeInteger(value) && (value as number) >= 0 ? null : `${path} must be a non-negative integer`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : `${path} must be a finite number`;
    case 'boolean':
      return typeof value === 'boolean' ? null : `${path} must be a boolean`;
    default:
      return `${path} has an unknown spec ${name}`;
  }
}

/** Returns a message naming the first field that does not match `spec`, or null when `value` matches. */
export function check(spec: Spec, value: unknown, path = 'message', limits: CheckLimits = DEFAULT_CHECK_LIMITS): string | null {
  if (typeof spec === 'string') {
    if (spec.endsWith('|null')) {
      return value === null ? null : checkPrimitive(spec.slice(0, -5), value, path, limits);
    }
    return checkPrimitive(spec, value, path, limits);
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(value)) return `${path} must be an array`;
    if (value.length > limits.maxArrayLength) return `${path} has more than ${limits.maxArrayLength} items`;
    for (let i = 0; i < value.length; i++) {
      const err = check(spec[0], value[i], `${path}[${i}]`, limits);
      if (err) return err;
    }
    return null;
  }
  const obj = spec as Record<string, Spec | readonly string[]>;
  if ('enum' in obj && Array.isArray(obj.enum)) {
    return (obj.enum as readonly string[]).includes(value as string)
      ? null
      : `${path} must be one of ${(obj.enum as readonly string[]).join(', ')}`;
  }
  if (!isPlainObject(value)) return `${path} must be an object`;
  if ('*' in obj) {
    const keys = Object.keys(value);
    if (keys.length > limits.maxArrayLength) return `${path} has more than ${limits.maxArrayLength} keys`;
    for (const k of keys) {
      const err = check(obj['*'] as Spec, value[k], `${path}.${k}`, limits);
      if (err) return err;
    }
    return null;
  }
  for (const [rawKey, sub] of Object.entries(obj)) {
    const optional = rawKey.endsWith('?');
    const key = optional ? rawKey.slice(0, -1) : rawKey;
    const v = value[key];
    if (v === undefined) {
      if (optional) continue;
      return `${path}.${key} is required`;
    }
    const err = check(sub as Spec, v, `${path}.${key}`, limits);
    if (err) return err;
  }
  return null;
}

/** A spec turned into nested closures: a yes/no answer without building paths or messages. */
export type Validator = (value: unknown) => boolean;

/**
 * Compiles `spec` into a validator that accepts exactly what `check` accepts.
 * `check` walks the spec and builds a path string per value; on the hot path
 * (every item of every frame) that costs more than the decoding, so receivers
 * validate with this and call `check` only to explain a rejection.
 */
export function compile(spec: Spec, limits: CheckLimits = DEFAULT_CHECK_LIMITS): Validator {
  if (typeof spec === 'string') {
    if (spec.endsWith('|null')) {
      const inner = compilePrimitive(spec.slice(0, -5), limits);
      return (v) => v === null || inner(v);
    }
    return compilePrimitive(spec, limits);
  }
  if (Array.isArray(spec)) {
    const item = compile(spec[0], limits);
    const max = limits.maxArrayLength;
    return (v) => {
      if (!Array.isArray(v) || v.length > max) return false;
      for (let i = 0; i < v.length; i++) if (!item(v[i])) return false;
      return true;
    };
  }
  const obj = spec as Record<string, Spec | readonly string[]>;
  if ('enum' in obj && Array.isArray(obj.enum)) {
    const allowed = new Set<unknown>(obj.enum as readonly string[]);
    return (v) => allowed.has(v);
  }
  if ('*' in obj) {
    const value = compile(obj['*'] as Spec, limits);
    const max = limits.maxArrayLength;
    return (v) => {
      if (!isPlainObject(v)) return false;
      const keys = Object.keys(v);
      if (keys.length > max) return false;
      for (const k of keys) if (!value(v[k])) return false;
      return true;
    };
  }
  const fields = Object.entries(obj).map(([rawKey, sub]) => {
    const optional = rawKey.endsWith('?');
    return { key: optional ? rawKey.slice(0, -1) : rawKey, optional, valid: compile(sub as Spec, limits) };
  });
  return (v) => {
    if (!isPlainObject(v)) return false;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const x = v[f.key];
      if (x === undefined) {
        if (f.optional) continue;
        return false;
      }
      if (!f.valid(x)) return false;
    }
    return true;
  };
}

function compilePrimitive(name: string, limits: CheckLimits): Validator {
  const { maxIdLength, maxStringLength } = limits;
  switch (name) {
    case 'any':
      return () => true;
    case 'string':
      return (v) => typeof v === 'string' && v.length <= maxStringLength;
    case 'id':
      return (v) => typeof v === 'string' && v.length > 0 && v.length <= maxIdLength;
    case 'uint':
      return (v) => Number.isSafeInteger(v) && (v as number) >= 0;
    case 'number':
      return (v) => typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return (v) => typeof v === 'boolean';
    default:
      throw new Error(`unknown spec ${name}`);
  }
}
