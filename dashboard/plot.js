// Small canvas line charts: a time chart with axes for the foreman, a
// sparkline for the worker. No library: a few hundred points per series,
// redrawn at most twice a second, is what a plain canvas is good at.

/** Sizes the canvas backing store to its CSS box at the device pixel ratio; returns the 2D context and size in CSS px. */
function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 150;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  return { g, w, h };
}

/** A "nice" axis maximum (1, 2 or 5 × 10^n) at or above `v`. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function shortNumber(v) {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(Math.round(v * 100) / 100);
}

const isGap = (v) => v === null || v === undefined;

/** Strokes `values` as a line broken at gaps; a value alone between gaps is drawn as a dot, or it would not show. */
function trace(g, values, x, y) {
  g.beginPath();
  values.forEach((v, i) => {
    if (isGap(v)) return;
    if (i > 0 && !isGap(values[i - 1])) g.lineTo(x(i), y(v));
    else g.moveTo(x(i), y(v));
  });
  g.stroke();
  g.fillStyle = g.strokeStyle;
  values.forEach((v, i) => {
    if (isGap(v) || !isGap(values[i - 1]) || !isGap(values[i + 1])) return;
    g.beginPath();
    g.arc(x(i), y(v), 2, 0, 2 * Math.PI);
    g.fill();
  });
}

/**
 * Draws series sharing one time axis (one value per `stepMs`, newest last)
 * with a y axis from 0 to a nice maximum.
 * @param {HTMLCanvasElement} canvas
 * @param {{ series: Array<{ values: Array<number|null>, color: string }>, stepMs: number, formatY?: (v: number) => string }} spec
 */
export function drawTimeChart(canvas, { series, stepMs, formatY = shortNumber }) {
  const { g, w, h } = prepare(canvas);
  const left = 44;
  const bottom = 18;
  const top = 6;
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const peak = Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const yMax = niceMax(peak);
  const x = (i) => left + (i / (n - 1)) * (w - left - 4);
  const y = (v) => top + (1 - v / yMax) * (h - top - bottom);

  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#6a7480';
  g.strokeStyle = '#e2e6eb';
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  // Whole-number ticks (a chart of workers online must not show half a worker): 5 or 2 as the axis max says.
  const mantissa = yMax / 10 ** Math.floor(Math.log10(yMax));
  const ticks = yMax <= 2 ? Math.max(1, Math.round(yMax)) : mantissa === 2 ? 4 : 5;
  for (let k = 0; k <= ticks; k++) {
    const v = (yMax * k) / ticks;
    g.beginPath();
    g.moveTo(left, Math.round(y(v)) + 0.5);
    g.lineTo(w - 4, Math.round(y(v)) + 0.5);
    g.stroke();
    g.fillText(formatY(v), left - 5, y(v));
  }
  // Time labels every minute (or every 10 s on short windows), counted back from now.
  g.textAlign = 'center';
  g.textBaseline = 'alphabetic';
  const spanS = ((n - 1) * stepMs) / 1000;
  const everyS = spanS > 120 ? 60 : 10;
  for (let s = 0; s <= spanS; s += everyS) {
    const i = n - 1 - (s * 1000) / stepMs;
    g.fillText(s === 0 ? 'now' : s % 60 === 0 ? `-${s / 60}m` : `-${s}s`, Math.min(w - 14, x(i)), h - 4);
  }
  g.lineWidth = 1.6;
  g.lineJoin = 'round';
  for (const s of series) {
    g.strokeStyle = s.color;
    trace(g, s.values, x, y);
  }
}

/** Draws a filled sparkline of `values` (oldest first) scaled to its own maximum. */
export function drawSparkline(canvas, values, color = '#2f6fd6') {
  const { g, w, h } = prepare(canvas);
  const n = Math.max(2, values.length);
  const yMax = Math.max(1, ...values);
  const x = (i) => (i / (n - 1)) * (w - 2) + 1;
  const y = (v) => h - 2 - (v / yMax) * (h - 6);
  g.fillStyle = `${color}22`;
  g.beginPath();
  g.moveTo(x(0), h);
  values.forEach((v, i) => g.lineTo(x(i), y(v)));
  g.lineTo(x(values.length - 1), h);
  g.closePath();
  g.fill();
  g.strokeStyle = color;
  g.lineWidth = 1.5;
  trace(g, values, x, y);
}
