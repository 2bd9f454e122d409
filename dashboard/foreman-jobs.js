// The jobs table: progress (succeeded / failed / cancelled as one stacked
// bar), rate and ETA, failures by error code, and a Cancel button.
import { command, el, setText, syncList } from './dom.js';
import { fmtInt, fmtMs, fmtPercent, fmtRate } from './format.js';
import { api } from './live-client.js';
import { href } from './router.js';

const tbody = document.querySelector('#jobs tbody');
const empty = document.querySelector('#jobs [data-empty]');

function createRow(job) {
  return el('tr', { 'data-job-id': job.id },
    el('td', {}, el('a', { class: 'mono', href: href('job', job.id), 'data-job-link': job.id }, job.id), el('div', { class: 'muted', 'data-field': 'when' })),
    el('td', { class: 'progress-cell' },
      el('div', { class: 'bar stacked' }, el('span', { class: 'ok' }), el('span', { class: 'bad' }), el('span', { class: 'gone' })),
      el('div', { class: 'bar-label' },
        el('b', { 'data-field': 'settled' }), ' / ', el('span', { 'data-field': 'total' }), ' ', el('span', { 'data-field': 'percent' }),
        ' · ', el('span', { 'data-field': 'counts' })),
    ),
    el('td', { class: 'num', 'data-field': 'rate' }),
    el('td', { class: 'num', 'data-field': 'eta' }),
    el('td', { 'data-field': 'failures' }),
    el('td', {}, el('button', {
      class: 'danger',
      'data-write': true,
      'data-action': 'cancel-job',
      onclick: (e) => {
        if (!confirm(`Cancel every unfinished task of job ${job.id}?`)) return;
        command(e.currentTarget, `Cancel job ${job.id}`, () => api('POST', `/jobs/${encodeURIComponent(job.id)}/cancel`));
      },
    }, 'Cancel')),
  );
}

function setWidth(span, fraction) {
  const w = `${Math.round(fraction * 1000) / 10}%`;
  if (span.style.width !== w) span.style.width = w;
}

function updateRow(row, job) {
  const f = (name) => row.querySelector(`[data-field=${name}]`);
  const { counts, total } = job;
  const [ok, bad, gone] = row.querySelectorAll('.bar.stacked > span');
  setWidth(ok, total ? counts.succeeded / total : 0);
  setWidth(bad, total ? counts.failed / total : 0);
  setWidth(gone, total ? counts.cancelled / total : 0);
  const state = job.complete ? 'complete' : job.cancelledAt ? 'cancelling' : job.closedAt === null ? 'open' : 'running';
  setText(f('when'), `${state} · ${fmtMs(Date.now() - job.createdAt)} ago`);
  setText(f('settled'), fmtInt(job.settled));
  setText(f('total'), fmtInt(total));
  setText(f('percent'), `(${fmtPercent(job.progress)})`);
  setText(f('counts'), `✓ ${fmtInt(counts.succeeded)}  ✗ ${fmtInt(counts.failed)}  ⊘ ${fmtInt(counts.cancelled)}  ▶ ${fmtInt(counts.running + counts.cancelling)}  ⋯ ${fmtInt(counts.queued)}`);
  setText(f('rate'), job.complete ? '–' : fmtRate(job.ratePerS));
  setText(f('eta'), job.complete ? 'done' : job.etaMs === null || job.etaMs === undefined ? '–' : fmtMs(job.etaMs));

  // Codes are counted since the foreman started; older failures show as "earlier".
  const codes = Object.entries(job.failuresByCode ?? {}).sort((a, b) => b[1] - a[1]);
  const known = codes.reduce((a, [, n]) => a + n, 0);
  if (counts.failed > known) codes.push(['earlier', counts.failed - known]);
  const key = codes.map(([c, n]) => `${c}:${n}`).join(',');
  const cell = f('failures');
  if (cell.dataset.key !== key) {
    cell.dataset.key = key;
    cell.replaceChildren(
      ...(codes.length === 0 ? [el('span', { class: 'muted' }, 'none')] : codes.map(([code, n]) => el('span', { class: 'chip bad', 'data-code': code }, `${code} ×${fmtInt(n)}`))),
    );
  }
  const button = row.querySelector('[data-action=cancel-job]');
  const finished = job.complete || job.cancelledAt !== null;
  if (!button.dataset.busy && button.disabled !== finished) button.disabled = finished;
}

export function renderJobs(jobs) {
  empty.hidden = jobs.length > 0;
  syncList(tbody, jobs, (j) => j.id, createRow, updateRow);
}
