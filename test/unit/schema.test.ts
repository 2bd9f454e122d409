/** The spec language: one spec gives the type (Infer) and the runtime check (compile, check). */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { check, DEFAULT_CHECK_LIMITS, type CheckLimits, type Infer, type Spec } from '../../shared/schema.js';

const ok = (spec: Spec, value: unknown, limits?: CheckLimits) => expect(check(spec, value, 'v', limits)).toBeNull();
const bad = (spec: Spec, value: unknown, contains: string, limits?: CheckLimits) => {
  const problem = check(spec, value, 'v', limits);
  expect(problem, `${JSON.stringify(value)} should fail ${JSON.stringify(spec)}`).not.toBeNull();
  expect(problem).toContain(contains);
};

describe('check: primitives', () => {
  it('string: any string up to the length limit', () => {
    ok('string', '');
    ok('string', 'x'.repeat(DEFAULT_CHECK_LIMITS.maxStringLength));
    bad('string', 'x'.repeat(DEFAULT_CHECK_LIMITS.maxStringLength + 1), 'v is longer than');
    bad('string', 5, 'v must be a string');
    bad('string', null, 'v must be a string');
  });

  it('id: a non-empty string up to the id limit', () => {
    ok('id', 'a');
    ok('id', 'a'.repeat(DEFAULT_CHECK_LIMITS.maxIdLength));
    bad('id', '', 'non-empty');
    bad('id', 'a'.repeat(DEFAULT_CHECK_LIMITS.maxIdLength + 1), `longer than ${DEFAULT_CHECK_LIMITS.maxIdLength}`);
    bad('id', 1, 'non-empty string');
  });

  it('uint: a non-negative safe integer', () => {
    for (const v of [0, 1, 2 ** 53 - 1, 3.0]) ok('uint', v);
    for (const v of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '1', null, true]) bad('uint', v, 'non-negative integer');
  });

  it('number: any finite number', () => {
    for (const v of [0, -1.5, 1e300, Number.MIN_VALUE]) ok('number', v);
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '1', null]) bad('number', v, 'finite number');
  });

  it('boolean: only true and false', () => {
    ok('boolean', true);
    ok('boolean', false);
    for (const v of [0, 1, 'true', null]) bad('boolean', v, 'must be a boolean');
  });

  it('any: everything except a missing value', () => {
    for (const v of [null, 0, '', [], {}, new Date(0), Buffer.from([1])]) ok('any', v);
    expect(check({ x: 'any' }, {}, 'v')).toBe('v.x is required');
  });

  it('|null: the base type or null, but not undefined where required', () => {
    ok('id|null', null);
    ok('id|null', 'j_1');
    bad('id|null', '', 'non-empty');
    ok('uint|null', null);
    bad('uint|null', -1, 'non-negative');
    expect(check({ x: 'uint|null' }, {}, 'v')).toBe('v.x is required');
  });

  it('reports an unknown primitive name rather than accepting anything', () => {
    expect(check('float' as Spec, 1, 'v')).toContain('unknown spec float');
  });
});

describe('check: composites', () => {
  it('arrays: every item, with its index in the path, up to the array limit', () => {
    ok(['uint'], []);
    ok(['uint'], [1, 2, 3]);
    expect(check(['uint'], [1, -2, 3], 'v')).toBe('v[1] must be a non-negative integer');
    bad(['uint'], { 0: 1, length: 1 }, 'v must be an array');
    const limits = { ...DEFAULT_CHECK_LIMITS, maxArrayLength: 3 };
    ok(['uint'], [1, 2, 3], limits);
    bad(['uint'], [1, 2, 3, 4], 'more than 3 items', limits);
  });

  it('enums: only the listed strings', () => {
    const spec = { enum: ['ready', 'draining'] } as const;
    ok(spec, 'ready');
    ok(spec, 'draining');
    bad(spec, 'READY', 'must be one of ready, draining');
    bad(spec, 1, 'must be one of');
  });

  it('records: every value, with the key in the path, up to the key limit', () => {
    ok({ '*': 'uint' }, {});
    ok({ '*': 'uint' }, { gpu: 1, cpu: 4 });
    expect(check({ '*': 'uint' }, { gpu: 1, cpu: 'x' }, 'v')).toBe('v.cpu must be a non-negative integer');
    bad({ '*': 'uint' }, [1], 'must be an object');
    bad({ '*': 'uint' }, { a: 1, b: 2, c: 3 }, 'more than 2 keys', { ...DEFAULT_CHECK_LIMITS, maxArrayLength: 2 });
  });

  it('objects: required keys must be present, optional keys may be absent but not null', () => {
    const spec = { a: 'uint', 'b?': 'string' } as const;
    ok(spec, { a: 1 });
    ok(spec, { a: 1, b: 'x' });
    expect(check(spec, { b: 'x' }, 'v')).toBe('v.a is required');
    expect(check(spec, { a: 1, b: null }, 'v')).toBe('v.b must be a string');
    expect(check(spec, { a: 1, b: undefined }, 'v')).toBeNull();
  });

  it('objects: extra keys are allowed, so a newer peer can add optional fields', () => {
    ok({ a: 'uint' }, { a: 1, later: { anything: true } });
  });

  it('objects: only plain objects (not arrays, null, class instances, dates or buffers)', () => {
    const spec = { 'a?': 'uint' } as const;
    ok(spec, {});
    ok(spec, Object.create(null));
    for (const v of [null, [], new Date(0), Buffer.from([1]), new (class X {})(), new Map(), 'x', 1]) bad(spec, v, 'must be an object');
  });

  it('names the path of a nested problem', () => {
    const spec = { tasks: [{ taskId: 'id', attempt: 'uint' }] } as const;
    expect(check(spec, { tasks: [{ taskId: 't', attempt: 1 }, { taskId: 't' }] }, 'task.cancel')).toBe('task.cancel.tasks[1].attempt is required');
    expect(check(spec, { tasks: [{ taskId: 't', attempt: 1 }] })).toBeNull();
    expect(check(spec, {})).toBe('message.tasks is required');
  });

  it('reports the first problem, in spec order', () => {
    expect(check({ a: 'uint', b: 'uint' }, { a: 'x', b: 'y' }, 'v')).toBe('v.a must be a non-negative integer');
  });
});

describe('Infer', () => {
  it('derives the TypeScript type of a spec', () => {
    const spec = {
      id: 'id',
      n: 'uint|null',
      tags: ['string'],
      limits: { '*': 'uint' },
      state: { enum: ['ready', 'draining'] },
      'note?': 'string',
      any: 'any',
    } as const;
    type T = Infer<typeof spec>;
    expectTypeOf<T['id']>().toEqualTypeOf<string>();
    expectTypeOf<T['n']>().toEqualTypeOf<number | null>();
    expectTypeOf<T['tags']>().toEqualTypeOf<string[]>();
    expectTypeOf<T['limits']>().toEqualTypeOf<Record<string, number>>();
    expectTypeOf<T['state']>().toEqualTypeOf<'ready' | 'draining'>();
    expectTypeOf<T['note']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<T['any']>().toEqualTypeOf<unknown>();
    // The runtime check agrees with the type on a value of that type.
    const value: T = { id: 'x', n: null, tags: [], limits: { a: 1 }, state: 'ready', any: 1 };
    expect(check(spec, value)).toBeNull();
  });
});
