/**
 * `npm run bench`: runs the named scenarios against real foreman and worker
 * processes on loopback, several times each, and prints the median with
 * min–max per metric; writes every run to bench/results/ as JSON.
 *
 *   npm run bench -- [--quick] [--scenario NAME[,NAME]] [--runs N] [--profile] [--redis-server PATH]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAll } from './harness.js';
import { printTable, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import { backlog } from './scenarios/backlog.js';
import { clientTransport } from './scenarios/client-transport.js';
import { browser } from './scenarios/browser.js';
import { code } from './scenarios/code.js';
import { quorum } from './scenarios/quorum.js';
import { compare } from './scenarios/compare.js';
import { fanout } from './scenarios/fanout.js';
import { hotModels } from './scenarios/hot-models.js';
import { importStall } from './scenarios/import-stall.js';
import { latency } from './scenarios/latency.js';
import { recovery } from './scenarios/recovery.js';
import { postgres, postgres2, postgresLarge } from './scenarios/postgres.js';
import { sessions } from './scenarios/sessions.js';
import { throughput, throughput10kb } from './scenarios/throughput.js';
import { summarize } from './stats.js';

const SCENARIOS: Scenario[] = [compare, throughput, throughput10kb, latency, fanout, sessions, backlog, recovery, code, browser, quorum, hotModels, importStall, clientTransport, postgres, postgres2, postgresLarge];
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string', multiple: true },
    runs: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'redis-server': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(`usage: npm run bench -- [--quick] [--scenario NAME[,NAME]] [--runs N] [--profile] [--redis-server PATH]\n`);
  process.stdout.write(`  --redis-server PATH  the redis-server compare starts for BullMQ (default: found on PATH; '' skips BullMQ)\nscenarios:\n`);
  for (const s of SCENARIOS) process.stdout.write(`  ${s.name.padEnd(16)} ${s.description}\n`);
  process.exit(0);
}

const names = (values.scenario ?? []).flatMap((s) => s.split(',')).filter(Boolean);
const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario ${unknown.join(', ')}; one of ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
  process.exit(2);
}
const selected = names.length > 0 ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
const runsFlag = values.runs === undefined ? null : Number(values.runs);
if (runsFlag !== null && (!Number.isInteger(runsFlag) || runsFlag < 1 || runsFlag > 50)) {
  process.stderr.write('--runs must be an integer from 1 to 50\n');
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const profileDir = values.profile ? join(RESULTS_DIR, `profiles-${stamp}`) : null;
const log = (m: string) => process.stderr.write(`${m}\n`);

// Children must not outlive an interrupted run.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => void killAll().finally(() => process.exit(130)));
}

const started = performance.now();
const reports: ScenarioReport[] = [];
const skipped: { name: string; reason: string }[] = [];
for (const scenario of selected) {
  const reason = scenario.unavailable?.() ?? null;
  if (reason !== null) {
    log(`[${scenario.name}] skipped: ${reason}`);
    skipped.push({ name: scenario.name, reason });
    continue;
  }
  const runs = runsFlag ?? (values.quick ? scenario.defaultRuns.quick : scenario.defaultRuns.full);
  const report: ScenarioReport = { scenario, runs: [], summary: {}, error: null };
  for (let r = 1; r <= runs; r++) {
    const load = loadavg()[0];
    log(`[${scenario.name}] run ${r}/${runs} (load ${load.toFixed(2)})`);
    try {
      const dir = profileDir ? join(profileDir, `${scenario.name}-${r}`) : null;
      const res = await scenario.run({
        quick: values.quick,
        profileDir: dir,
        redisServer: values['redis-server'] ?? null,
        log: (m) => log(`[${scenario.name}]   ${m}`),
      });
      report.runs.push({ ...res, loadBefore: load, loadAfter: loadavg()[0] });
    } catch (err) {
      report.error = (err as Error).stack ?? String(err);
      log(`[${scenario.name}] failed: ${report.error}`);
      await killAll();
      break;
    }
  }
  for (const m of scenario.metrics) report.summary[m.key] = summarize(report.runs.map((x) => x.metrics[m.key]));
  reports.push(report);
}

const elapsedSec = (performance.now() - started) / 1000;
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: process.platform };
printTable(reports, { quick: values.quick, elapsedSec, machine });
mkdirSync(RESULTS_DIR, { recursive: true });
const file = join(RESULTS_DIR, `bench-${stamp}${values.quick ? '-quick' : ''}.json`);
const json = {
  startedAt: new Date(Date.now() - elapsedSec * 1000).toISOString(),
  quick: values.quick,
  elapsedSec,
  machine,
  profileDir,
  skipped,
  scenarios: reports.map((r) => ({
    name: r.scenario.name,
    description: r.scenario.description,
    error: r.error,
    summary: r.summary,
    metrics: r.scenario.metrics,
    runs: r.runs,
  })),
};
writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
log(`wrote ${file}`);
await killAll();
process.exit(reports.some((r) => r.error) ? 1 : 0);
