// Pieces shared by the drill-down views: links, times, JSON blocks, task tables, pager.
import { el } from '../dom.js';
import { fmtMs } from '../format.js';
import { href } from '../router.js';

export const SETTLED = new Set(['succeeded', 'failed', 'cancelled']);

export const taskLink = (id) => el('a', { href: href('task', id), class: 'mono', 'data-task-link': id }, id);
export const jobLink = (id) => (id ? el('a', { href: href('job', id), class: 'mono' }, id) : el('span', { class: 'muted' }, '–'));
export const workerLink = (id) => (id ? el('a', { href: href('worker', id), class: 'mono' }, id) : el('span', { class: 'muted' }, '–'));
export const pill = (state) => el('span', { class: `pill ${state}`, 'data-field': 'state' }, state);

/** A wall-clock time with its age, or how far ahead it is: `07:12:03 (4.1 s ago)`, `07:12:09 (in 1.9 s)`. */
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return '–';
  const age = Date.now() - ms;
  return `${new Date(ms).toLocaleTimeString('en-GB')} (${age < 0 ? `in ${fmtMs(-age)}` : `${fmtMs(age)} ago`})`;
}

/** A value as indented JSON in a scrollable block. */
export function jsonBlock(value, field) {
  return el('pre', { class: 'json', 'data-field': field }, value === undefined ? '–' : JSON.stringify(value, null, 2));
}

/** A `<dl>` of label → node or text pairs (rows whose value is undefined are left out). */
export function kv(pairs) {
  const dl = el('dl', { class: 'kv' });
  for (const [label, value] of pairs) if (value !== undefined) dl.append(el('dt', {}, label), el('dd', {}, value ?? '–'));
  return dl;
}

/** A titled panel. */
export function panel(title, ...children) {
  return el('section', { class: 'panel' }, el('h2', {}, ...[].concat(title)), ...children);
}

/** A table of tasks (id, type, state, attempt, worker, error, finished), each row leading to its detail. */
export function taskTable(tasks, extra = () => null) {
  if (tasks.length === 0) return el('div', { class: 'empty' }, 'No tasks.');
  return el('div', { class: 'scroll' }, el('table', { class: 'tasks' },
    el('thead', {}, el('tr', {}, ...['task', 'type', 'state', 'attempt', 'worker', 'error', 'finished', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...tasks.map((t) => el('tr', { 'data-task-id': t.id },
      el('td', {}, taskLink(t.id)),
      el('td', {}, t.type),
      el('td', {}, pill(t.state)),
      el('td', { class: 'num' }, String(t.attempt)),
      el('td', {}, workerLink(t.workerId)),
      el('td', { class: 'error-cell' }, t.error ? el('span', {}, el('b', { class: 'bad', 'data-field': 'code' }, t.error.code), ' ', t.error.message) : ''),
      el('td', {}, t.finishedAt ? fmtTime(t.finishedAt) : '–'),
      el('td', {}, extra(t)),
    ))),
  ));
}

/**
 * Replaces `node`'s children with `build()` only when `data` differs from what it shows:
 * a view refreshed every few seconds must not rebuild the link or button under the mouse.
 */
export function redraw(node, data, build) {
  const key = JSON.stringify(data);
  if (node._drawn === key) return;
  node._drawn = key;
  node.replaceChildren(build());
}

/**
 * Runs `refresh` now and every `intervalMs` after each run ends (so runs never overlap); a failed run
 * goes to `onError` and the next one is still made. Returns the view's stop().
 */
export function refreshEvery(intervalMs, refresh, onError) {
  let timer = 0;
  let stopped = false;
  const tick = async () => {
    try {
      await refresh();
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Query string of the set values only. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  return q.toString();
}

/**
 * Pages through `GET /tasks` with `next` cursors: `load()` fetches the first page,
 * `next()`/`prev()` move. `onPage(tasks, { hasPrev, hasNext })` draws it.
 */
export function pager(fetchPage, onPage) {
  const cursors = [undefined];
  let next = null;
  const load = async () => {
    const page = await fetchPage(cursors[cursors.length - 1]);
    next = page.next;
    onPage(page.tasks, { hasPrev: cursors.length > 1, hasNext: next !== null, pageNo: cursors.length });
  };
  return {
    load,
    reset: () => { cursors.length = 1; return load(); },
    next: () => { if (next !== null) cursors.push(next); return load(); },
    prev: () => { if (cursors.length > 1) cursors.pop(); return load(); },
  };
}
