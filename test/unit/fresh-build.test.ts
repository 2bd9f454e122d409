import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript beside the CLI's entry point, without types
import { buildIsFresh } from '../../bin/fresh-build.js';

/** A checkout's layout: one source file, and a build stamped at `builtAt` (seconds) unless null. */
function checkout(builtAt: number | null): { root: string; source: string } {
  const root = mkdtempSync(join(tmpdir(), 'gaffer-fresh-'));
  mkdirSync(join(root, 'foreman', 'store'), { recursive: true });
  const source = join(root, 'foreman', 'store', 'deep.ts');
  writeFileSync(source, 'export {};\n');
  utimesSync(source, 1000, 1000);
  utimesSync(join(root, 'foreman', 'store'), 1000, 1000);
  utimesSync(join(root, 'foreman'), 1000, 1000);
  if (builtAt !== null) {
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist', '.built-from-sources'), '');
    utimesSync(join(root, 'dist', '.built-from-sources'), builtAt, builtAt);
  }
  return { root, source };
}

describe('bin/fresh-build.js', () => {
  it('runs the build only while no source file changed after it started', () => {
    expect(buildIsFresh(checkout(null).root)).toBe(false);
    const { root, source } = checkout(2000);
    expect(buildIsFresh(root)).toBe(true);
    // An edit deep in a source folder, after the build started, makes it stale.
    utimesSync(source, 3000, 3000);
    expect(buildIsFresh(root)).toBe(false);
  });
});
