// Whether dist/ was built from the sources as they are now, and (run as a script) the build itself: tsc, the
// files tsc does not emit, and the stamp. In a checkout, bin/gaffer.js runs the build when it is fresh and the
// TypeScript sources through tsx otherwise: the same code, but a process starts ~0.4 s sooner without tsx's
// loader hooks (every test and every worker start pays that).
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What tsconfig.build.json compiles: a change to any file under these makes the build stale. */
const SOURCES = ['shared', 'foreman', 'worker', 'cli', 'client', 'dashboard', 'index.ts'];
/** Files the code reads beside itself that tsc does not copy. */
const ASSETS = ['worker/sandbox/sandbox-thread-boot.mjs', 'foreman/store/wal-checkpoint-thread.mjs', 'worker/browser/join.html', 'worker/browser/join.css'];
/** Written by the build, with the time the build started as its modification time. */
const STAMP = join('dist', '.built-from-sources');

function newestChange(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestChange(join(path, name)));
  return newest;
}

/** True when `root`/dist holds a build no older than every source file under `root`. */
export function buildIsFresh(root = ROOT) {
  const built = statSync(join(root, STAMP), { throwIfNoEntry: false });
  if (!built) return false;
  return SOURCES.every((name) => newestChange(join(root, name)) <= built.mtimeMs);
}

// `node bin/fresh-build.js` (npm run build): compiles with tsc, copies the assets and stamps the build with
// the time it started, so that a file edited while tsc ran leaves it stale.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const startedAt = Date.now();
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  for (const asset of ASSETS) copyFileSync(join(ROOT, asset), join(ROOT, 'dist', asset));
  writeFileSync(join(ROOT, STAMP), '');
  utimesSync(join(ROOT, STAMP), startedAt / 1000, startedAt / 1000);
}
