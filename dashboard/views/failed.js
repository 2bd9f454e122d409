// Failed tasks (#failed), the dead-letter list: newest first, filtered by type
// and error code; retry one, or every task matching the filter (POST /tasks/retry).
import { command, el } from '../dom.js';
import { fmtInt } from '../format.js';
import { api } from '../live-client.js';
import { pager, panel, query, taskTable } from './common.js';

const PAGE_SIZE = 50;

export function show(container) {
  const filter = el('form', { class: 'filters', id: 'failed-filter' },
    el('input', { name: 'type', placeholder: 'task type', 'aria-label': 'task type' }),
    el('input', { name: 'code', placeholder: 'error code, e.g. PERMANENT', 'aria-label': 'error code' }),
    el('button', { type: 'submit' }, 'Filter'),
    el('button', { type: 'button', 'data-write': true, 'data-action': 'retry-all', onclick: (e) => retryAll(e.currentTarget) }, 'Retry all matching'),
  );
  const list = el('div', { id: 'failed-list' });
  const pages = el('div', { class: 'pager' });
  container.replaceChildren(panel(['Failed tasks', el('span', { class: 'sub muted' }, 'the dead-letter list, newest first')], filter, list, pages));

  const current = () => ({ type: filter.type.value.trim(), code: filter.code.value.trim() });
  const retryOne = (button, id) =>
    command(button, `Retry task ${id}`, async () => {
      await api('POST', `/tasks/${encodeURIComponent(id)}/retry`);
      await paging.load();
    });
  const retryAll = (button) => {
    const f = current();
    if (!confirm(`Retry every failed task${f.type ? ` of type ${f.type}` : ''}${f.code ? ` with code ${f.code}` : ''}?`)) return;
    command(button, 'Retry all matching', async () => {
      const { requeued } = await api('POST', '/tasks/retry', Object.fromEntries(Object.entries(f).filter(([, v]) => v)));
      button.title = `${fmtInt(requeued)} requeued`;
      await paging.reset();
    });
  };

  const paging = pager(
    (after) => api('GET', `/tasks?${query({ state: 'failed', order: 'desc', limit: PAGE_SIZE, after, ...current() })}`),
    (tasks, { hasPrev, hasNext, pageNo }) => {
      list.replaceChildren(taskTable(tasks, (t) => el('button', { 'data-write': true, 'data-action': 'retry-task', onclick: (e) => retryOne(e.currentTarget, t.id) }, 'Retry')));
      pages.replaceChildren(
        el('button', { disabled: !hasPrev, onclick: () => void paging.prev() }, '‹ Newer'),
        el('span', { class: 'muted' }, `page ${pageNo}`),
        el('button', { disabled: !hasNext, onclick: () => void paging.next() }, 'Older ›'),
      );
    },
  );
  filter.addEventListener('submit', (e) => {
    e.preventDefault();
    void paging.reset();
  });
  void paging.load();
}
