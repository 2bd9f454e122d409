/** The benchmark's printed table: one row per metric, median (min–max) over runs, beside the target. */
import type { Scenario } from './scenario.js';
import { fmtSummary, type Summary } from './stats.js';

export interface ScenarioReport {
  scenario: Scenario;
  runs: Array<{ metrics: Record<string, number>; sizes: Record<string, number | string>; loadBefore: number; loadAfter: number }>;
  summary: Record<string, Summary>;
  error: string | null;
}

export function printTable(
  reports: ScenarioReport[],
  meta: { quick: boolean; elapsedSec: number; machine: { cpus: number; cpuModel: string; node: string } },
): void {
  const rows: string[][] = [['scenario', 'metric', 'median (min–max)', 'unit', 'target']];
  for (const r of reports) {
    if (r.error && r.runs.length === 0) {
      rows.push([r.scenario.name, 'FAILED', r.error.split('\n')[0].slice(0, 80), '', '']);
      continue;
    }
    const sizes = r.runs[0]?.sizes ?? {};
    const sizeText = Object.entries(sizes).map(([k, v]) => `${k}=${v}`).join(' ');
    r.scenario.metrics.forEach((m, i) => {
      rows.push([i === 0 ? `${r.scenario.name} ×${r.runs.length}` : '', m.label, fmtSummary(r.summary[m.key]), m.unit, m.target ?? '']);
    });
    rows.push(['', `(${sizeText})`, '', '', '']);
    if (r.error) rows.push(['', 'a later run FAILED', r.error.split('\n')[0].slice(0, 80), '', '']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => (c === 1 && row[1].startsWith('(') ? 0 : row[c].length))));
  const line = (row: string[]) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const out = [
    `gaffer bench${meta.quick ? ' --quick' : ''}: ${meta.machine.cpus} × ${meta.machine.cpuModel}, Node ${meta.machine.node}, ${meta.elapsedSec.toFixed(0)} s`,
    line(rows[0]),
    ...rows.slice(1).map(line),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
