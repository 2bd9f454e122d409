/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --profile`):
 * the functions and the files with the most self time.
 *
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  options: {
    top: { type: 'string', default: '25' },
    callers: { type: 'string' },
    depth: { type: 'string', default: '3' },
    inclusive: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const top = Number(values.top);
// Piped into head: stop quietly when the reader goes away.
process.stdout.on('error', () => process.exit(0));

/** Shortens a URL to the part a reader recognises: our files relative to the repo, packages by name. */
function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const repo = /\/(foreman|worker|shared|bench|cli)\//.exec(url);
  return repo ? url.slice(repo.index + 1) : url.replace(/^node:/, 'node:');
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Sample i lasted timeDeltas[i + 1] µs (V8 records the delta before each sample).
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const totalUs = profile.endTime - profile.startTime;
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id) as ProfileNode;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    const where = shortUrl(n.callFrame.url);
    const key = `${name}  ${where}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    files.set(where, (files.get(where) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  process.stdout.write(`\n${file}\n  ${(totalUs / 1000).toFixed(0)} ms profiled, ${(busyUs / 1000).toFixed(0)} ms busy (percentages of busy)\n  top functions by self time:\n`);
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`  ${pct(us)}  ${k}\n`);
  }
  process.stdout.write('  top files by self time:\n');
  for (const [k, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
  if (values.inclusive) {
    // Time spent in each function including what it calls; a function on the stack twice counts once.
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const incl = new Map<string, number>();
    for (const [id, us] of selfUs) {
      if ((byId.get(id) as ProfileNode).callFrame.functionName === '(idle)') continue;
      const seen = new Set<string>();
      for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) {
        const f = (byId.get(p) as ProfileNode).callFrame;
        const key = `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        incl.set(key, (incl.get(key) ?? 0) + us);
      }
    }
    process.stdout.write('  top functions by inclusive time:\n');
    for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
  }
  if (values.callers) {
    // Self time of every node named --callers, attributed up its stack (--depth frames), to show who pays for it.
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const stacks = new Map<string, number>();
    for (const [id, us] of selfUs) {
      const n = byId.get(id) as ProfileNode;
      if (n.callFrame.functionName !== values.callers) continue;
      const frames: string[] = [];
      for (let p = parent.get(id); p !== undefined && frames.length < Number(values.depth); p = parent.get(p)) {
        const f = (byId.get(p) as ProfileNode).callFrame;
        frames.push(`${f.functionName || '(anonymous)'}@${shortUrl(f.url)}`);
      }
      const key = frames.join(' < ');
      stacks.set(key, (stacks.get(key) ?? 0) + us);
    }
    process.stdout.write(`  callers of ${values.callers}:\n`);
    for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 12)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
  }
}
