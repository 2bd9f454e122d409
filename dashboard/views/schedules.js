// Recurring schedules (#schedules): each schedule's cron expression and time
// zone, the task type it submits, its next tick, when it last fired and how
// often (GET /schedules); add or replace one (POST /schedules), delete one
// (DELETE /schedules/:name). The same list on every foreman of a shared store.
import { command, el, setText } from '../dom.js';
import { fmtInt } from '../format.js';
import { api } from '../live-client.js';
import { fmtTime, panel, redraw, refreshEvery } from './common.js';

const REFRESH_MS = 2000;

/** The add-or-replace form: the task's params are JSON (empty: none). */
function scheduleForm(onDone) {
  const input = (name, placeholder, extra = {}) => el('input', { name, placeholder, 'aria-label': placeholder, ...extra });
  const f = {
    name: input('name', 'name', { required: true }),
    cron: input('cron', 'cron, e.g. 0 2 * * *', { required: true, class: 'mono' }),
    timezone: input('timezone', 'time zone (foreman\'s)'),
    type: input('type', 'task type', { required: true }),
    params: input('params', 'params (JSON)', { class: 'mono' }),
    catchUp: el('select', { name: 'catchUp', 'aria-label': 'missed ticks' }, el('option', { value: 'once' }, 'fire once'), el('option', { value: 'skip' }, 'skip')),
  };
  const save = el('button', { type: 'submit', 'data-write': true, 'data-action': 'save-schedule' }, 'Save');
  const form = el('form', { class: 'filters', 'data-schedule-form': '' },
    f.name, f.cron, f.timezone, f.type, f.params, el('label', {}, 'missed ticks ', f.catchUp), save);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = f.name.value.trim();
    command(save, `Schedule ${name} saved`, async () => {
      const params = f.params.value.trim();
      const timezone = f.timezone.value.trim();
      const task = { type: f.type.value.trim(), ...(params ? { params: JSON.parse(params) } : {}) };
      await api('POST', '/schedules', { name, cron: f.cron.value.trim(), ...(timezone ? { timezone } : {}), catchUp: f.catchUp.value, task });
      await onDone();
    });
  });
  return form;
}

export function show(container) {
  const list = el('div', { id: 'schedules-list' });
  container.replaceChildren(
    panel(['Schedules', el('span', { class: 'sub muted' }, 'recurring tasks: each tick of the cron expression submits the task once')], list),
    el('div', { 'data-write': true }, panel('Add or replace a schedule', scheduleForm(() => refresh()))),
  );

  const remove = (button, name) => {
    if (!confirm(`Delete the schedule ${name}? The tasks it submitted stay.`)) return;
    command(button, `Schedule ${name} deleted`, async () => {
      await api('DELETE', `/schedules/${encodeURIComponent(name)}`);
      await refresh();
    });
  };

  async function refresh() {
    const { schedules } = await api('GET', '/schedules');
    // Rows are rebuilt only when a schedule itself changes; its times and count are updated in place.
    const shape = schedules.map(({ name, cron, timezone, catchUp, task }) => ({ name, cron, timezone, catchUp, type: task.type }));
    redraw(list, shape, () => (schedules.length === 0
      ? el('div', { class: 'empty' }, 'No schedules.')
      : el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, ...['name', 'cron', 'time zone', 'task type', 'next run', 'last fired', 'firings', ''].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...shape.map((s) => el('tr', { 'data-schedule': s.name },
          el('td', { class: 'mono', 'data-field': 'name' }, s.name),
          el('td', { class: 'mono', 'data-field': 'cron' }, s.cron),
          el('td', { 'data-field': 'timezone' }, s.timezone ?? 'foreman\'s'),
          el('td', { class: 'mono', 'data-field': 'type', title: `missed ticks: ${s.catchUp === 'once' ? 'fire once' : 'skip'}` }, s.type),
          el('td', { 'data-field': 'next-run' }),
          el('td', { 'data-field': 'last-fired' }),
          el('td', { class: 'num', 'data-field': 'firings' }),
          el('td', {}, el('button', { type: 'button', class: 'danger', 'data-write': true, 'data-action': 'delete-schedule', onclick: (e) => remove(e.currentTarget, s.name) }, 'Delete')),
        ))),
      ))));
    for (const s of schedules) {
      const row = list.querySelector(`tr[data-schedule="${CSS.escape(s.name)}"]`);
      if (!row) continue;
      setText(row.querySelector('[data-field=next-run]'), s.nextRunAt === null ? 'none' : fmtTime(s.nextRunAt));
      setText(row.querySelector('[data-field=last-fired]'), fmtTime(s.lastFiredAt));
      setText(row.querySelector('[data-field=firings]'), fmtInt(s.firings));
    }
  }

  return refreshEvery(REFRESH_MS, refresh, (err) => redraw(list, err.message, () => el('div', { class: 'empty bad' }, err.message)));
}
