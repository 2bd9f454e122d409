/** Blob references in values, and byte ranges of blob downloads. */
import { describe, expect, it } from 'vitest';
import { digestsIn } from '../../foreman/blobs/blob-collector.js';
import { parseRange } from '../../foreman/blobs/blob-routes.js';
import { encodeValue } from '../../shared/codec.js';
import { blobDigest, containsBlobRef, findBlobRefs, mapStrings } from '../../shared/blob-ref.js';

const ref = (c: string) => `blob:sha256:${c.repeat(64)}`;

describe('blob references', () => {
  it('are found at any depth, only in their exact form', () => {
    const value = { a: [ref('a'), { b: ref('b') }], c: ref('a'), d: `${ref('c')}x`, e: 'blob:sha256:XYZ', f: 3 };
    expect(findBlobRefs(value).sort()).toEqual([ref('a'), ref('b')]);
    expect(containsBlobRef(value)).toBe(true);
    expect(containsBlobRef({ d: `${ref('c')}x`, n: [1, 'x'] })).toBe(false);
    expect(blobDigest(ref('f'))).toBe('f'.repeat(64));
    expect(blobDigest(ref('F'))).toBeNull();
  });

  it('are replaced without copying what does not change', () => {
    const untouched = { x: [1, 'a'] };
    const value = { keep: untouched, swap: [ref('a')] };
    const out = mapStrings(value, (s) => (s === ref('a') ? '/tmp/file' : s)) as typeof value;
    expect(out).toEqual({ keep: untouched, swap: ['/tmp/file'] });
    expect(out.keep).toBe(untouched);
    expect(mapStrings(untouched, (s) => s)).toBe(untouched);
  });

  it('are found in msgpack bytes by the retention sweep', () => {
    const found = new Set<string>();
    digestsIn(encodeValue({ params: [ref('1'), { deep: ref('2') }], text: 'blob:sha256:short' }), found);
    expect([...found].sort()).toEqual(['1'.repeat(64), '2'.repeat(64)]);
  });
});

describe('Range headers', () => {
  it('take one range, clamp its end and refuse what lies outside', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=2-5', 10)).toEqual({ start: 2, end: 5 });
    expect(parseRange('bytes=2-', 10)).toEqual({ start: 2, end: 9 });
    expect(parseRange('bytes=5-100', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    for (const bad of ['bytes=10-', 'bytes=5-2', 'bytes=-0', 'bytes=0-1,3-4', 'items=0-1', 'bytes=-']) expect(parseRange(bad, 10)).toBe('bad');
  });
});
