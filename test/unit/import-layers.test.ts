/**
 * The import graph runs one way: shared/ ← foreman/, worker/, client/ ← cli/ (the entry points).
 * Nothing imports cli/, foreman/ and worker/ never import each other, shared/ imports none of ours,
 * and only cli/ touches process.env or process.exit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ROOMS = ['shared', 'foreman', 'worker', 'client', 'cli', 'dashboard'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** The top-level folder each relative import of `file` lands in. */
function importedRooms(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const rooms: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), m[1]));
    rooms.push(target.split(/[\\/]/)[0]);
  }
  return rooms;
}

const ALLOWED: Record<string, string[]> = {
  shared: ['shared'],
  // The foreman and the worker's status server serve the dashboard's pages and assets.
  foreman: ['foreman', 'shared', 'dashboard'],
  worker: ['worker', 'shared', 'dashboard'],
  client: ['client', 'shared'],
  dashboard: ['dashboard', 'shared'],
  cli: ['cli', 'foreman', 'worker', 'client', 'shared'],
};

describe('import layers', () => {
  for (const room of ROOMS) {
    it(`${room}/ imports only ${ALLOWED[room].join(', ')}`, () => {
      const offences: string[] = [];
      for (const file of sourceFiles(room)) {
        for (const target of importedRooms(file)) if (ROOMS.includes(target) && !ALLOWED[room].includes(target)) offences.push(`${file} → ${target}/`);
      }
      expect(offences).toEqual([]);
    });
  }

  it('index.ts (the package entry) does not export from cli/', () => {
    expect(importedRooms('index.ts').filter((r) => r === 'cli')).toEqual([]);
  });

  it('only cli/ reads process.env or calls process.exit (and the worker SDK reads GAFFER_* for options not passed)', () => {
    const offences: string[] = [];
    for (const room of ROOMS.filter((r) => r !== 'cli')) {
      for (const file of sourceFiles(room)) {
        const text = readFileSync(join(ROOT, file), 'utf8');
        // The client library's entry point is the user's program: it takes the CLI's GAFFER_* defaults in this one file.
        if (file === join('client', 'environment.ts')) continue;
        // The SDK is an entry point too: `new Worker()` reads the same variables the CLI does (its `env` option).
        const allowed = file === join('worker', 'worker.ts') ? /process\.exit\b/ : /process\.(env|exit)\b/;
        if (allowed.test(text)) offences.push(file);
      }
    }
    expect(offences).toEqual([]);
  });
});
