/** The README's HTTP error table lists every API_ERRORS code with its status, and nothing else. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ERRORS } from '../../shared/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split('\n');

describe('README HTTP errors', () => {
  it('lists every API_ERRORS code with its status', () => {
    const start = readme.indexOf('### Errors');
    expect(start).toBeGreaterThan(0);
    const rows = readme.slice(start).filter((l) => /^\| \d{3} \| `[A-Z_]+` \|/.test(l));
    const listed = Object.fromEntries(rows.map((l) => [l.split('|')[2].trim().replace(/`/g, ''), Number(l.split('|')[1])]));
    expect(listed).toEqual(Object.fromEntries(Object.entries(API_ERRORS).map(([code, e]) => [code, e.status])));
  });
});
