// The dashboard's chart plotter against uPlot in real Chromium: ms per redraw of one
// 420×150 chart with two 300-point series (the foreman's charts hold up to 300 seconds),
// each draw awaited, and the bytes each adds to the page. `node bench/dashboard-plot.mjs`.
import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
const W = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const files = {
  '/plot.js': [`${W}/dashboard/plot.js`, 'text/javascript'],
  '/uplot.js': [`${W}/node_modules/uplot/dist/uPlot.esm.js`, 'text/javascript'],
  '/uplot.css': [`${W}/node_modules/uplot/dist/uPlot.min.css`, 'text/css'],
};
const html = `<!doctype html><link rel=stylesheet href=/uplot.css><div style="width:420px"><canvas id=c style="width:420px;height:150px"></canvas><div id=u></div></div>
<script type=module>
import { drawTimeChart } from '/plot.js';
import uPlot from '/uplot.js';
const N = 300, RUNS = 2000;
const mk = (k) => Array.from({ length: N }, (_, i) => Math.round(500 + 400 * Math.sin((i + k) / 17)));
const canvas = document.getElementById('c');
let t0 = performance.now();
for (let r = 0; r < RUNS; r++) { drawTimeChart(canvas, { stepMs: 1000, series: [{ values: mk(r), color: "#1f9d55" }, { values: mk(r + 5), color: "#d64545" }] }); await null; }
const plotMs = (performance.now() - t0) / RUNS;
const xs = Array.from({ length: N }, (_, i) => i);
const u = new uPlot({ width: 420, height: 150, series: [{}, { stroke: '#1f9d55' }, { stroke: '#d64545' }] }, [xs, mk(0), mk(5)], document.getElementById('u'));
t0 = performance.now();
for (let r = 0; r < RUNS; r++) { u.setData([xs, mk(r), mk(r + 5)]); await null; }
const uplotMs = (performance.now() - t0) / RUNS;
let draws = 0; const u2 = new uPlot({ width: 420, height: 150, hooks: { draw: [() => draws++] }, series: [{}, { stroke: "#1f9d55" }, { stroke: "#d64545" }] }, [xs, mk(0), mk(5)], document.getElementById("u")); draws = 0; for (let r = 0; r < 100; r++) { u2.setData([xs, mk(r), mk(r + 5)]); await null; } window.result = { plotMs, uplotMs, uplotDrawsPer100: draws };
</script>`;
const server = createServer((req, res) => {
  if (req.url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  const f = files[req.url];
  if (!f) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': f[1] }).end(readFileSync(f[0]));
}).listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const p = await b.newPage();
p.on('pageerror', (e) => console.error('pageerror', e.message));
await p.goto(`http://127.0.0.1:${server.address().port}/`);
await p.waitForFunction(() => window.result, null, { timeout: 120000 });
const r = await p.evaluate(() => window.result);
const size = (f) => ({ bytes: statSync(f).size, gzip: gzipSync(readFileSync(f)).length });
console.log(JSON.stringify({ perDrawMs: r, plotJs: size(`${W}/dashboard/plot.js`), uPlotMin: size(`${W}/node_modules/uplot/dist/uPlot.iife.min.js`) }));
await b.close();
server.close();
