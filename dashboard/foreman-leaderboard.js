// The leaderboard panel: workers ranked by the points their quorum results earned,
// with their valid/invalid/error counts and reputation; quarantined workers flagged.
import { el, setText, syncList } from './dom.js';
import { fmtInt } from './format.js';
import { href } from './router.js';

const panel = document.getElementById('leaderboard');
const body = panel.querySelector('tbody');
const empty = panel.querySelector('[data-empty]');

function row(w) {
  return el('tr', { 'data-worker': w.workerId },
    el('td', {}, el('a', { class: 'mono', href: href('worker', w.workerId) }, w.workerId)),
    el('td', { class: 'num', 'data-field': 'points' }),
    el('td', { class: 'num', 'data-field': 'valid' }),
    el('td', { class: 'num', 'data-field': 'invalid' }),
    el('td', { class: 'num', 'data-field': 'errors' }),
    el('td', { class: 'num', 'data-field': 'reputation' }),
    el('td', { 'data-field': 'flag' }),
  );
}

function update(tr, w) {
  for (const k of ['points', 'valid', 'invalid', 'errors']) setText(tr.querySelector(`[data-field=${k}]`), fmtInt(w[k]));
  setText(tr.querySelector('[data-field=reputation]'), w.reputation.toFixed(3));
  const flag = tr.querySelector('[data-field=flag]');
  setText(flag, w.quarantined ? 'quarantined' : '');
  flag.classList.toggle('warn', w.quarantined);
  tr.classList.toggle('quarantined', w.quarantined);
}

/** @param {Array<{workerId: string, points: number, valid: number, invalid: number, errors: number, reputation: number, quarantined: boolean}>} workers */
export function renderLeaderboard(workers) {
  empty.hidden = workers.length > 0;
  syncList(body, workers, (w) => w.workerId, row, update);
}
