// Type limits (#limits): the fleet-wide maxRunning and ratePerSecond of each
// limited task type (GET /types/limits), what runs and what holds it now; set,
// change or remove them (PUT / DELETE /types/:type/limits).
import { command, el } from '../dom.js';
import { fmtInt } from '../format.js';
import { api } from '../live-client.js';
import { fmtTime, panel, redraw, refreshEvery } from './common.js';

const REFRESH_MS = 2000;
const path = (type) => `/types/${encodeURIComponent(type)}/limits`;
/** A number input's value as the API wants it: empty is null (no limit). */
const valueOf = (input) => (input.value.trim() === '' ? null : Number(input.value));

function limitForm(type, limit, onDone) {
  const maxRunning = el('input', { name: 'maxRunning', type: 'number', min: 1, step: 1, placeholder: 'no cap', value: limit?.maxRunning ?? undefined, 'aria-label': 'max running' });
  const rate = el('input', { name: 'ratePerSecond', type: 'number', min: 0, step: 'any', placeholder: 'no rate', value: limit?.ratePerSecond ?? undefined, 'aria-label': 'rate per second' });
  const typeInput = type === null ? el('input', { name: 'type', placeholder: 'task type', required: true, 'aria-label': 'task type' }) : null;
  const save = el('button', { type: 'submit', 'data-write': true, 'data-action': 'save-limit' }, type === null ? 'Add' : 'Save');
  const form = el('form', { class: 'filters', 'data-limit-form': type ?? '' },
    typeInput, el('label', {}, 'max running ', maxRunning), el('label', {}, 'per second ', rate), save,
    type === null ? null : el('button', { type: 'button', class: 'danger', 'data-write': true, 'data-action': 'remove-limit', onclick: (e) => {
      if (!confirm(`Remove the limits of ${type}?`)) return;
      command(e.currentTarget, `Limits of ${type} removed`, async () => { await api('DELETE', path(type)); await onDone(); });
    } }, 'Remove'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = type ?? typeInput.value.trim();
    command(save, `Limits of ${t} saved`, async () => {
      await api('PUT', path(t), { maxRunning: valueOf(maxRunning), ratePerSecond: valueOf(rate) });
      await onDone();
    });
  });
  return form;
}

export function show(container) {
  const list = el('div', { id: 'limits-list' });
  container.replaceChildren(
    panel(['Type limits', el('span', { class: 'sub muted' }, 'fleet-wide, per task type: at most maxRunning at once, at most ratePerSecond starts')], list),
    el('div', { 'data-write': true }, panel('Limit another type', limitForm(null, null, () => refresh()))),
  );

  async function refresh() {
    const { types } = await api('GET', '/types/limits');
    // The forms are rebuilt only when the limits themselves change, so typing is not interrupted by the refresh.
    const limits = types.map(({ type, maxRunning, ratePerSecond }) => ({ type, maxRunning, ratePerSecond }));
    redraw(list, limits, () => (types.length === 0
      ? el('div', { class: 'empty' }, 'No task type is limited.')
      : el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, ...['type', 'running now', 'held by', 'paused until', 'limits'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...types.map((t) => el('tr', { 'data-type': t.type },
          el('td', { class: 'mono' }, t.type),
          el('td', { class: 'num', 'data-field': 'running' }),
          el('td', { 'data-field': 'held-by' }),
          el('td', { 'data-field': 'paused' }),
          el('td', {}, el('div', { class: 'muted', 'data-field': 'limits' }, `max running ${t.maxRunning ?? '–'} · per second ${t.ratePerSecond ?? '–'}`), limitForm(t.type, t, () => refresh())),
        ))),
      ))));
    for (const t of types) {
      const row = list.querySelector(`tr[data-type="${CSS.escape(t.type)}"]`);
      if (!row) continue;
      row.querySelector('[data-field=running]').textContent = fmtInt(t.running);
      row.querySelector('[data-field=held-by]').textContent = t.heldBy ?? '–';
      row.querySelector('[data-field=paused]').textContent = t.pausedUntil ? fmtTime(t.pausedUntil) : '–';
    }
  }

  return refreshEvery(REFRESH_MS, refresh, (err) => redraw(list, err.message, () => el('div', { class: 'empty bad' }, err.message)));
}
