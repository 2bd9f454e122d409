/**
 * The join page (`/join#token=…`): turns the tab into a worker and shows the
 * volunteer what it does. Its settings live in localStorage, so a reopened tab
 * comes back as the same worker and its points keep adding up.
 */
import { SandboxPool } from '../sandbox/sandbox-pool.js';
import { BrowserWorker } from './browser-worker.js';
import { webSandboxThreads } from './web-sandbox-threads.js';

/** Limits of code run in this tab: the Node worker's defaults (worker/sandbox/code-options.ts). */
const CEILING = { memoryBytes: 64 * 1024 * 1024, cpuMs: 30_000, timeoutMs: 60_000, resultBytes: 1024 * 1024 };
const LEADERBOARD_EVERY_MS = 5000;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const base = location.href.replace(/[^/]*([?#].*)?$/, '');

function storedWorkerId(): string {
  let id = localStorage.getItem('gaffer.workerId');
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(6));
    id = `browser-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem('gaffer.workerId', id);
  }
  return id;
}

function storedSlots(): number {
  const fallback = Math.max(1, Math.floor((navigator.hardwareConcurrency || 2) / 2));
  const n = Number(localStorage.getItem('gaffer.slots'));
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}

let pool: SandboxPool | null = null;
let worker: BrowserWorker | null = null;

function startWorker(): void {
  const slots = storedSlots();
  pool = new SandboxPool({ threads: slots, spawn: webSandboxThreads(new URL('sandbox.js', base).href) });
  const wsUrl = new URL('/ws/worker', location.href);
  wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  worker = new BrowserWorker({
    url: wsUrl.href,
    token,
    workerId: storedWorkerId(),
    slots,
    runner: pool,
    ceiling: CEILING,
    meta: { browser: true, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency ?? null },
  });
  worker.addEventListener('update', render);
  worker.start();
  render();
}

async function refreshScore(): Promise<void> {
  if (!worker || worker.state === 'stopped' || worker.state === 'refused') return;
  try {
    const res = await fetch('/leaderboard?limit=1000', token ? { headers: { authorization: `Bearer ${token}` } } : {});
    if (!res.ok) return;
    const body = (await res.json()) as { workers?: Array<{ workerId: string; points: number }> };
    const rows = body.workers ?? [];
    const i = rows.findIndex((r) => r.workerId === worker?.options.workerId);
    $('points').textContent = i < 0 ? '0' : String(rows[i].points);
    $('rank').textContent = i < 0 ? '–' : `${i + 1} of ${rows.length}`;
  } catch {
    // The score is a nicety: the next refresh tries again.
  }
}

function render(): void {
  if (!worker) return;
  const w = worker;
  const label = { connecting: 'connecting…', ready: 'connected', paused: 'paused', refused: 'refused', stopped: 'stopped' }[w.state];
  $('state').textContent = label;
  $('state').className = `state ${w.state}`;
  $('error').textContent = w.refusal ?? '';
  $('error').hidden = w.refusal === null;
  $('foreman').textContent = location.host;
  $('worker-id').textContent = w.options.workerId;
  $('done').textContent = String(w.done);
  $('failed').textContent = String(w.failed);
  $('slots-used').textContent = `${w.running.size} of ${w.options.slots}`;
  const now = Date.now();
  $('running').replaceChildren(
    ...[...w.running.values()].map((r) => {
      const li = document.createElement('li');
      li.textContent = `${r.type} ${r.ref.taskId} · attempt ${r.ref.attempt} · ${((now - r.startedAt) / 1000).toFixed(1)} s`;
      return li;
    }),
  );
  ($('pause') as HTMLButtonElement).textContent = w.state === 'paused' ? 'Resume' : 'Pause';
  ($('pause') as HTMLButtonElement).disabled = w.state === 'stopped' || w.state === 'refused';
  ($('stop') as HTMLButtonElement).disabled = w.state === 'stopped' || w.state === 'refused';
}

$('pause').addEventListener('click', () => (worker?.state === 'paused' ? worker.resume() : worker?.pause()));
$('stop').addEventListener('click', () => {
  worker?.stop();
  void pool?.close();
});
const slotsInput = $<HTMLInputElement>('slots');
slotsInput.max = String(navigator.hardwareConcurrency || 2);
slotsInput.value = String(storedSlots());
slotsInput.addEventListener('change', () => {
  const n = Number(slotsInput.value);
  if (!Number.isInteger(n) || n < 1) return;
  localStorage.setItem('gaffer.slots', String(n));
  // The foreman learns a new capacity at hello: hand the running tasks back and join again.
  worker?.stop();
  void pool?.close();
  startWorker();
});

startWorker();
setInterval(render, 1000);
setInterval(() => void refreshScore(), LEADERBOARD_EVERY_MS);
void refreshScore();
