// The fleet table: one row per worker, with its state as the foreman judges
// it, slots, running tasks (each cancellable), heartbeat age, a link to its
// own status page when this browser can reach it, and Drain / Restart.
import { command, el, progressBar, setBar, setPill, setText, syncList } from './dom.js';
import { fmtInt, fmtMs } from './format.js';
import { api } from './live-client.js';
import { href } from './router.js';

const tbody = document.querySelector('#fleet tbody');
const empty = document.querySelector('#fleet [data-empty]');

/** statusUrl → { reachable: boolean|null, checkedAt } — probed from the browser, since only it knows what it can reach. */
const probes = new Map();
const PROBE_EVERY_MS = 30_000;

function probe(workerId, url, onResult) {
  const known = probes.get(url);
  if (known && Date.now() - known.checkedAt < PROBE_EVERY_MS) return;
  const entry = { reachable: known?.reachable ?? null, checkedAt: Date.now() };
  probes.set(url, entry);
  fetch(new URL('/health', url), { signal: AbortSignal.timeout(3000) })
    .then((res) => res.json())
    // The same address may now be someone else's status server: check whose it is.
    .then((body) => body.workerId === workerId)
    .catch(() => false)
    .then((ok) => {
      entry.reachable = ok;
      onResult();
    });
}

/** A short name for a user agent string ("Chrome 156", "Firefox 140", …). */
function browserName(ua) {
  const m = /(Firefox|Edg|OPR|Chrome|Safari)\/(\d+)/.exec(String(ua ?? ''));
  return m ? `${m[1] === 'Edg' ? 'Edge' : m[1]} ${m[2]}` : 'unknown';
}

function createRow(w) {
  const act = (label, path, cls) =>
    el('button', {
      class: cls,
      'data-write': true,
      'data-action': label.toLowerCase().replace(' ', '-'),
      onclick: (e) => {
        if (cls === 'danger' && !confirm(`${label} ${w.id}? Its running tasks go back to the queue.`)) return;
        command(e.currentTarget, `${label}: ${w.id}`, () => api('POST', `/workers/${encodeURIComponent(w.id)}/${path}`));
      },
    }, label);
  const row = el('tr', { 'data-worker-id': w.id },
    el('td', {}, el('a', { class: 'mono', href: href('worker', w.id), 'data-worker-link': w.id }, w.id), el('div', { class: 'muted', 'data-field': 'skills' }), el('div', { class: 'muted', 'data-field': 'foreman' })),
    el('td', {}, el('span', { class: 'pill', 'data-field': 'state' })),
    el('td', {}, progressBar(), el('div', { class: 'bar-label', 'data-field': 'slots' })),
    el('td', {}, el('div', { class: 'chips', 'data-field': 'tasks' }), el('div', { class: 'muted', 'data-field': 'more' })),
    el('td', { class: 'num', 'data-field': 'heartbeat' }),
    el('td', { class: 'num', 'data-field': 'reconnects' }),
    el('td', { 'data-field': 'link' }),
    el('td', {}, el('div', { class: 'actions' }, act('Drain', 'drain'), act('Restart', 'restart?mode=graceful'), act('Hard restart', 'restart?mode=hard', 'danger'))),
  );
  return row;
}

function createChip(t) {
  return el('span', { class: 'chip', 'data-task-id': t.id, title: t.id },
    el('a', { class: 'chip-link', href: href('task', t.id), 'data-field': 'type' }),
    progressBar(),
    el('button', {
      class: 'x',
      'data-write': true,
      title: `cancel task ${t.id}`,
      'data-action': 'cancel-task',
      onclick: (e) => command(e.currentTarget, `Cancel task ${t.id}`, () => api('POST', `/tasks/${encodeURIComponent(t.id)}/cancel`)),
    }, '×'),
  );
}

function updateChip(chip, t) {
  setText(chip.querySelector('[data-field=type]'), t.attempt > 1 ? `${t.type} #${t.attempt}` : t.type);
  setBar(chip.querySelector('.bar'), t.progress?.fraction ?? 0);
  chip.title = `${t.id} · ${t.state}${t.progress?.message ? ` · ${t.progress.message}` : ''}`;
}

function updateLink(cell, w, rerender) {
  if (!w.statusUrl) return setText(cell, '–');
  probe(w.id, w.statusUrl, rerender);
  const reachable = probes.get(w.statusUrl)?.reachable;
  const key = `${w.statusUrl}|${reachable}`;
  if (cell.dataset.key === key) return;
  cell.dataset.key = key;
  cell.replaceChildren(
    reachable
      ? el('a', { href: w.statusUrl, target: '_blank', rel: 'noopener' }, 'open')
      : el('span', { class: 'muted', title: w.statusUrl }, reachable === false ? 'unreachable' : 'checking…'),
  );
}

let lastFleet = [];
let lastSelf = null;

/** `self`: the id of the foreman serving this page when there are several (null with one). */
export function renderFleet(fleet, self = null) {
  lastFleet = fleet;
  lastSelf = self;
  empty.hidden = fleet.length > 0;
  syncList(tbody, fleet, (w) => w.id, createRow, (row, w) => {
    const f = (name) => row.querySelector(`[data-field=${name}]`);
    // Long skill lists would push the table wide: show a few, the rest on hover.
    // A hot skill (its model loaded on the worker) is marked with a flame.
    const hot = new Set(w.hotSkills ?? []);
    const skills = w.skills.map((s) => (hot.has(s.type) ? `🔥${s.type}` : s.type));
    // A browser worker (the /join page) says so, with its browser, in front of its skills.
    const browser = w.meta?.browser === true ? `browser (${browserName(w.meta.userAgent)}) · ` : '';
    setText(f('skills'), browser + (skills.length > 4 ? `${skills.slice(0, 4).join(', ')} +${skills.length - 4} more` : skills.join(', ')));
    f('skills').title = skills.join(', ');
    setPill(f('state'), w.state);
    setBar(row.querySelector('td:nth-child(3) .bar'), w.capacity ? w.slotsInUse / w.capacity : 0);
    setText(f('slots'), `${fmtInt(w.slotsInUse)} / ${fmtInt(w.capacity)}`);
    syncList(f('tasks'), w.running, (t) => t.id, createChip, updateChip);
    const hidden = w.slotsInUse - w.running.length;
    setText(f('more'), hidden > 0 ? `+${fmtInt(hidden)} more` : '');
    setText(f('heartbeat'), w.lastHeartbeatAgeMs === null ? '–' : `${fmtMs(w.lastHeartbeatAgeMs)} ago`);
    setText(f('reconnects'), fmtInt(w.reconnects));
    updateLink(f('link'), w, () => renderFleet(lastFleet, lastSelf));
    // With several foremen: which one holds its session. Commands go through that one's socket, so
    // they are offered only for workers connected here.
    const elsewhere = self !== null && w.foremanId !== undefined && w.foremanId !== self;
    setText(f('foreman'), self === null || w.foremanId === undefined ? '' : elsewhere ? `on foreman ${w.foremanId}` : 'on this foreman');
    const off = w.state === 'offline' || elsewhere;
    for (const b of row.querySelectorAll('.actions button')) {
      if (b.disabled !== off && !b.dataset.busy) b.disabled = off;
      b.title = elsewhere ? `connected to foreman ${w.foremanId}: use its dashboard` : '';
    }
  });
}
