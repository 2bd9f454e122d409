// The foremen sharing the store (several foremen over PostgreSQL): each with its health, and which one
// this page talks to. Hidden with one foreman (SQLite), where there is nothing to choose between.
import { el, setPill, setText, syncList } from './dom.js';
import { fmtMs } from './format.js';

const panel = document.getElementById('foremen');
const tbody = panel.querySelector('tbody');

function createRow(f) {
  return el('tr', { 'data-foreman-id': f.id },
    el('td', {}, el('span', { class: 'mono' }, f.id), el('span', { class: 'muted', 'data-field': 'self' })),
    el('td', {}, el('span', { class: 'pill', 'data-field': 'health' })),
    el('td', { 'data-field': 'where' }),
    el('td', { class: 'num', 'data-field': 'heartbeat' }),
    el('td', { class: 'num', 'data-field': 'workers' }),
  );
}

/** The id of the foreman serving this page, or null with one foreman. */
export function selfForemanId(foremen) {
  return foremen.length > 1 ? (foremen.find((f) => f.self)?.id ?? null) : null;
}

export function renderForemen(foremen, fleet) {
  panel.hidden = foremen.length <= 1;
  const connected = new Map();
  for (const w of fleet) if (w.state !== 'offline' && w.foremanId) connected.set(w.foremanId, (connected.get(w.foremanId) ?? 0) + 1);
  syncList(tbody, foremen, (f) => f.id, createRow, (row, f) => {
    const field = (name) => row.querySelector(`[data-field=${name}]`);
    setText(field('self'), f.self ? ' · this page' : '');
    setPill(field('health'), f.alive ? 'alive' : 'stale');
    const where = [f.host, f.pid ? `pid ${f.pid}` : null].filter(Boolean).join(' · ');
    const cell = field('where');
    if (cell.dataset.url !== String(f.url)) {
      cell.dataset.url = String(f.url);
      cell.replaceChildren(f.url && !f.self ? el('a', { href: f.url, target: '_blank', rel: 'noopener' }, f.url) : el('span', {}, f.url ?? ''), el('div', { class: 'muted' }, where));
    }
    setText(field('heartbeat'), `${fmtMs(f.heartbeatAgeMs)} ago`);
    setText(field('workers'), String(connected.get(f.id) ?? 0));
  });
}
