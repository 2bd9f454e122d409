/** Gaffer's version, read from its package.json whether it runs from the sources or from the build in dist/. */
import { readFileSync } from 'node:fs';

let version: string | null = null;

/** The `version` of the nearest package.json named gaffer above this file; `0.0.0` when none is found. */
export function packageVersion(): string {
  if (version !== null) return version;
  version = '0.0.0';
  // shared/ in the sources, dist/shared/ in the build: the package root is one or two levels up.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gaffer' && typeof pkg.version === 'string') return (version = pkg.version);
    } catch {
      // Not there: try the next level.
    }
  }
  return version;
}
