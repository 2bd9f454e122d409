// The foreman's three charts over the last minutes, drawn from the
// per-second series that foreman/live-metrics.ts keeps.
import { setField } from './dom.js';
import { fmtInt, fmtMs } from './format.js';
import { drawTimeChart } from './plot.js';

const canvas = (id) => document.querySelector(`#${id} canvas`);
const last = (values) => {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
};

/** Seconds always shown, even when the foreman has run for less. */
const MIN_POINTS = 60;

/**
 * Drops the leading seconds from before the foreman started (all null), keeping
 * at least a minute, so a young foreman's charts are not squeezed into one edge.
 */
function trimmed(full) {
  const n = full.workersOnline.length;
  let first = full.workersOnline.findIndex((v) => v !== null);
  if (first < 0) first = n;
  const from = Math.max(0, Math.min(first, n - MIN_POINTS));
  const out = { stepMs: full.stepMs };
  for (const [k, v] of Object.entries(full)) if (Array.isArray(v)) out[k] = v.slice(from);
  return out;
}

/** @param {{ stepMs: number, completed: Array<number|null>, failed: Array<number|null>, latencyP50: Array<number|null>, latencyP99: Array<number|null>, workersOnline: Array<number|null> }} full */
export function renderCharts(full) {
  const series = trimmed(full);
  const { stepMs } = series;
  drawTimeChart(canvas('chart-throughput'), {
    stepMs,
    series: [
      { values: series.completed, color: '#1f9d55' },
      { values: series.failed, color: '#d64545' },
    ],
  });
  drawTimeChart(canvas('chart-latency'), {
    stepMs,
    formatY: (ms) => (ms < 1000 ? `${ms}ms` : `${ms / 1000}s`),
    series: [
      { values: series.latencyP50, color: '#2f6fd6' },
      { values: series.latencyP99, color: '#d98b12' },
    ],
  });
  drawTimeChart(canvas('chart-workers'), { stepMs, series: [{ values: series.workersOnline, color: '#6b4fd6' }] });

  // Legends show the newest complete second.
  setField(document, 'chart.completed', `${fmtInt(last(series.completed))}/s`);
  setField(document, 'chart.failed', `${fmtInt(last(series.failed))}/s`);
  setField(document, 'chart.p50', fmtMs(last(series.latencyP50)));
  setField(document, 'chart.p99', fmtMs(last(series.latencyP99)));
  setField(document, 'chart.workers', fmtInt(last(series.workersOnline)));
}
