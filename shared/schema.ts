/**
 * A tiny declarative schema language for wire messages: one spec gives both
 * the TypeScript type (via `Infer`) and the runtime check (`compile` it once,
 * or `check` a single value), so a message is typed once.
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
  /** Longest `id` string, in UTF-16 code units (what JavaScript's `length` counts). */
  maxIdLength: number;
  /** Longest `string`, in UTF-16 code units. */
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

/** What is wrong, and where below the value checked (`.tasks[1].attempt`; empty for the value itself). */
interface Problem {
  at: string;
  what: string;
}

/**
 * A spec compiled into nested closures. It returns null for a valid value without allocating
 * anything, which matters on the hot path (every item of every frame); only a failure builds
 * its path, on the way back up.
 */
export type Checker = (value: unknown) => Problem | null;

const problem = (what: string): Problem => ({ at: '', what });

/** Compiles `spec` once; run the result on many values (see `check` for the message). */
export function compile(spec: Spec, limits: CheckLimits = DEFAULT_CHECK_LIMITS): Checker {
  if (typeof spec === 'string') {
    if (spec.endsWith('|null')) {
      const inner = compilePrimitive(spec.slice(0, -5), limits);
      return (v) => (v === null ? null : inner(v));
    }
    return compilePrimitive(spec, limits);
  }
  if (Array.isArray(spec)) {
    const item = compile(spec[0], limits);
    const max = limits.maxArrayLength;
    return (v) => {
      if (!Array.isArray(v)) return problem('must be an array');
      if (v.length > max) return problem(`has more than ${max} items`);
      for (let i = 0; i < v.length; i++) {
        const p = item(v[i]);
        if (p) return { at: `[${i}]${p.at}`, what: p.what };
      }
      return null;
    };
  }
  const obj = spec as Record<string, Spec | readonly string[]>;
  if ('enum' in obj && Array.isArray(obj.enum)) {
    const listed = obj.enum as readonly string[];
    const allowed = new Set<unknown>(listed);
    return (v) => (allowed.has(v) ? null : problem(`must be one of ${listed.join(', ')}`));
  }
  if ('*' in obj) {
    const value = compile(obj['*'] as Spec, limits);
    const max = limits.maxArrayLength;
    return (v) => {
      if (!isPlainObject(v)) return problem('must be an object');
      const keys = Object.keys(v);
      if (keys.length > max) return problem(`has more than ${max} keys`);
      for (const k of keys) {
        const p = value(v[k]);
        if (p) return { at: `.${k}${p.at}`, what: p.what };
      }
      return null;
    };
  }
  const fields = Object.entries(obj).map(([rawKey, sub]) => {
    const optional = rawKey.endsWith('?');
    return { key: optional ? rawKey.slice(0, -1) : rawKey, optional, check: compile(sub as Spec, limits) };
  });
  return (v) => {
    if (!isPlainObject(v)) return problem('must be an object');
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const x = v[f.key];
      if (x === undefined) {
        if (f.optional) continue;
        return { at: `.${f.key}`, what: 'is required' };
      }
      const p = f.check(x);
      if (p) return { at: `.${f.key}${p.at}`, what: p.what };
    }
    return null;
  };
}

/**
 * What an id may not contain: a lone UTF-16 surrogate (not valid Unicode, cannot be UTF-8) or
 * U+FFFD, which is what invalid UTF-8 on the wire (e.g. a lone surrogate some encoder wrote anyway)
 * decodes to: an id changed in transit would silently name another task or type.
 */
const NOT_UNICODE = /[\p{Cs}\uFFFD]/u;

function compilePrimitive(name: string, limits: CheckLimits): Checker {
  const { maxIdLength, maxStringLength } = limits;
  switch (name) {
    case 'any':
      return () => null;
    case 'string':
      return (v) => {
        if (typeof v !== 'string') return problem('must be a string');
        return v.length > maxStringLength ? problem(`is longer than ${maxStringLength} characters`) : null;
      };
    case 'id':
      return (v) => {
        if (typeof v !== 'string' || v.length === 0) return problem('must be a non-empty string');
        if (v.length > maxIdLength) return problem(`is longer than ${maxIdLength} characters`);
        return NOT_UNICODE.test(v) ? problem('must be valid Unicode (no lone UTF-16 surrogates, no U+FFFD)') : null;
      };
    case 'uint':
      return (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? null : problem('must be a non-negative integer'));
    case 'number':
      return (v) => (typeof v === 'number' && Number.isFinite(v) ? null : problem('must be a finite number'));
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? null : problem('must be a boolean'));
    default:
      return () => problem(`has an unknown spec ${name}`);
  }
}

/** Runs a compiled checker; returns a message naming the first field that does not match, or null. */
export function explain(checker: Checker, value: unknown, path = 'message'): string | null {
  const p = checker(value);
  return p ? `${path}${p.at} ${p.what}` : null;
}

/** Returns a message naming the first field that does not match `spec`, or null when `value` matches. */
export function check(spec: Spec, value: unknown, path = 'message', limits: CheckLimits = DEFAULT_CHECK_LIMITS): string | null {
  return explain(compile(spec, limits), value, path);
}
