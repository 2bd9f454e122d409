/** The files a foreman writes beside its database (tokens, WAL) never end up in git. */
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('.gitignore', () => {
  it('ignores the foreman database, its WAL files and its tokens file', () => {
    const paths = ['gaffer.db', 'gaffer.db-wal', 'gaffer.db-shm', 'gaffer.db.tokens.json', 'data/jobs.db.tokens.json'];
    // --no-index: judge the patterns, not whether such a file happens to be tracked.
    const out = execFileSync('git', ['check-ignore', '--no-index', ...paths], { cwd: ROOT, encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(paths);
  });
});
