// Job detail (#job/ID): its counts, its tasks paged and filtered by state,
// Retry failed and Cancel.
import { command, el } from '../dom.js';
import { fmtInt, fmtPercent } from '../format.js';
import { api } from '../live-client.js';
import { fmtTime, kv, pager, panel, pill, query, redraw, taskTable } from './common.js';

const PAGE_SIZE = 50;
const STATES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
/** How often the counts refresh while the view is open, in ms. */
const REFRESH_MS = 2000;

export function show(container, id) {
  const path = `/jobs/${encodeURIComponent(id)}`;
  const summary = el('div', {});
  const head = el('div', { class: 'view-head' },
    el('h2', {}, 'Job ', el('span', { class: 'mono' }, id)),
    el('span', { 'data-field': 'job-state' }),
    el('div', { class: 'actions push-right' },
      el('button', { 'data-write': true, 'data-action': 'retry-failed', onclick: (e) => command(e.currentTarget, `Retry failed tasks of job ${id}`, async () => { await api('POST', `${path}/retry-failed`); await refresh(); await paging.load(); }) }, 'Retry failed'),
      el('button', { 'data-write': true, class: 'danger', 'data-action': 'cancel-job', onclick: (e) => {
        if (!confirm(`Cancel every unfinished task of job ${id}?`)) return;
        command(e.currentTarget, `Cancel job ${id}`, async () => { await api('POST', `${path}/cancel`); await refresh(); await paging.load(); });
      } }, 'Cancel'),
    ),
  );
  const stateFilter = el('select', { 'aria-label': 'state', 'data-field': 'state-filter', onchange: () => void paging.reset() },
    ...STATES.map((s) => el('option', { value: s }, s || 'every state')));
  const list = el('div', { id: 'job-tasks' });
  const pages = el('div', {});
  container.replaceChildren(head, panel('Summary', summary), panel('Tasks', el('div', { class: 'filters' }, stateFilter), list, pages));

  const paging = pager(
    (after) => api('GET', `/tasks?${query({ jobId: id, state: stateFilter.value, limit: PAGE_SIZE, after })}`),
    (tasks, { hasPrev, hasNext, pageNo }) => {
      redraw(list, tasks, () => taskTable(tasks));
      redraw(pages, [hasPrev, hasNext, pageNo], () => el('div', { class: 'pager' },
        el('button', { disabled: !hasPrev, onclick: () => void paging.prev() }, '‹ Previous'),
        el('span', { class: 'muted' }, `page ${pageNo}`),
        el('button', { disabled: !hasNext, onclick: () => void paging.next() }, 'Next ›'),
      ));
    },
  );

  async function refresh() {
    const job = await api('GET', path);
    const state = job.complete ? 'complete' : job.cancelledAt ? 'cancelling' : job.closedAt === null ? 'open' : 'running';
    head.querySelector('[data-field=job-state]').replaceChildren(pill(state));
    const c = job.counts;
    summary.replaceChildren(kv([
      ['created', fmtTime(job.createdAt)],
      ['key', job.key ?? '–'],
      ['settled', `${fmtInt(job.settled)} / ${fmtInt(job.total)} (${fmtPercent(job.progress)})`],
      ['counts', el('span', { 'data-field': 'counts' }, `succeeded ${fmtInt(c.succeeded)} · failed ${fmtInt(c.failed)} · cancelled ${fmtInt(c.cancelled)} · running ${fmtInt(c.running + c.cancelling)} · queued ${fmtInt(c.queued)}`)],
    ]));
    head.querySelector('[data-action=retry-failed]').disabled = c.failed === 0;
    head.querySelector('[data-action=cancel-job]').disabled = job.complete || job.cancelledAt !== null;
    return job;
  }

  let timer = 0;
  let stopped = false;
  const tick = async () => {
    try {
      const job = await refresh();
      // The visible page of tasks moves with the job until it is complete.
      await paging.load();
      if (!job.complete && !stopped) timer = setTimeout(tick, REFRESH_MS);
    } catch (err) {
      summary.replaceChildren(el('div', { class: 'empty bad' }, err.message));
    }
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
