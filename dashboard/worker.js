// The worker dashboard: `{ status, stats }` messages from this worker's
// /ws, rendered in place; Restart posts to its /restart.
import { command, el, progressBar, setBar, setField, setPill, setText, syncList } from './dom.js';
import { fmtBytes, fmtInt, fmtMs, fmtPercent, fmtRate } from './format.js';
import { api, connectLive } from './live-client.js';
import { drawSparkline } from './plot.js';

const field = (name, text) => setField(document, name, text);

function renderStatus(status) {
  field('workerId', status.workerId);
  document.title = `Gaffer worker ${status.workerId}`;
  setPill(document.getElementById('worker-state'), status.state);
  field('foreman', status.foreman);
  field('restarting', status.restarting ? `${status.restarting} restart under way` : '');
  field('running', fmtInt(status.tasks.length));
  field('slots', `${fmtInt(status.tasks.length)} / ${fmtInt(status.config.concurrency)}`);
  field('held', fmtInt(status.heldResults));
  renderConfig(status);

  const tbody = document.querySelector('#tasks tbody');
  document.querySelector('#tasks [data-empty]').hidden = status.tasks.length > 0;
  const now = Date.now();
  syncList(tbody, status.tasks, (t) => `${t.id}:${t.attempt}`,
    (t) => el('tr', { 'data-task-id': t.id },
      el('td', { class: 'mono' }, t.id), el('td', {}, t.type), el('td', { class: 'num' }, String(t.attempt)),
      el('td', { class: 'num', 'data-field': 'age' }),
      el('td', {}, progressBar(), el('div', { class: 'bar-label', 'data-field': 'progress' }))),
    (row, t) => {
      setText(row.querySelector('[data-field=age]'), fmtMs(now - t.startedAt));
      setBar(row.querySelector('.bar'), t.progress?.fraction ?? 0);
      const label = t.progress ? `${fmtPercent(t.progress.fraction)}${t.progress.message ? ` · ${t.progress.message}` : ''}` : 'no progress reported';
      setText(row.querySelector('[data-field=progress]'), t.cancelling ? `cancelling… ${label}` : label);
    });
}

function renderConfig(status) {
  const entries = [
    ['skills', status.skills.map((s) => (s.group === s.type ? s.type : `${s.type} (group ${s.group})`)).join(', ')],
    // Loaded models (ctx.hotCache) and the task types they make hot.
    ['hot', (status.hotSkills ?? []).length > 0 ? `${status.hotSkills.join(', ')} (loaded: ${status.hotCache.join(', ')})` : (status.hotCache ?? []).length > 0 ? `none (loaded: ${status.hotCache.join(', ')})` : 'none'],
    ...Object.entries(status.config).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]),
    ['status URL', status.statusUrl ?? '–'],
  ];
  const dl = document.getElementById('config');
  const key = JSON.stringify(entries);
  if (dl.dataset.key === key) return;
  dl.dataset.key = key;
  dl.replaceChildren(...entries.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { class: 'mono' }, v)]));
}

function renderStats(stats) {
  field('uptime', fmtMs(stats.uptimeMs));
  field('completed', fmtInt(stats.completed));
  field('failed', fmtInt(stats.failed));
  field('cancelled', fmtInt(stats.cancelled));
  field('meanMs', fmtMs(stats.meanExecutionMs));
  field('reconnects', fmtInt(stats.reconnects));
  field('throughput', fmtRate(stats.throughputLastMinute));
  drawSparkline(document.querySelector('#throughput canvas'), stats.throughputSeries);

  field('cpu', `${stats.process.cpuPercent.toFixed(1)}%`);
  field('rss', fmtBytes(stats.process.rssBytes));
  field('heap', fmtBytes(stats.process.heapUsedBytes));
  field('load', stats.machine.loadavg.map((l) => l.toFixed(2)).join(' '));
  field('cpus', fmtInt(stats.machine.cpus));
  field('memUsed', fmtBytes(stats.machine.totalMemBytes - stats.machine.freeMemBytes));
  field('memTotal', fmtBytes(stats.machine.totalMemBytes));

  const types = Object.entries(stats.perType).map(([type, c]) => ({ type, ...c }));
  document.querySelector('#types [data-empty]').hidden = types.length > 0;
  syncList(document.querySelector('#types tbody'), types, (t) => t.type,
    (t) => el('tr', { 'data-type': t.type }, el('td', { class: 'mono' }, t.type), ...['succeeded', 'failed', 'cancelled', 'mean'].map((f) => el('td', { class: 'num', 'data-field': f }))),
    (row, t) => {
      for (const f of ['succeeded', 'failed', 'cancelled']) setText(row.querySelector(`[data-field=${f}]`), fmtInt(t[f]));
      setText(row.querySelector('[data-field=mean]'), fmtMs(t.meanMs));
    });

  // Newest first; keyed by time and task so a repeated error on a retried task still shows.
  const errors = [...stats.recentErrors].reverse();
  document.querySelector('#errors [data-empty]').hidden = errors.length > 0;
  syncList(document.querySelector('#errors tbody'), errors, (e) => `${e.at}:${e.taskId}`,
    (e) => el('tr', {}, el('td', { 'data-field': 'when' }), el('td', { class: 'mono' }, e.taskId), el('td', { class: 'bad' }, e.code), el('td', {}, e.message)),
    (row, e) => setText(row.querySelector('[data-field=when]'), `${fmtMs(Date.now() - e.at)} ago`));
}

for (const [action, mode] of [['restart', 'graceful'], ['hard-restart', 'hard']]) {
  document.querySelector(`[data-action=${action}]`).addEventListener('click', (e) => {
    if (mode === 'hard' && !confirm('Hard restart: running tasks are aborted and go back to the queue. Continue?')) return;
    command(e.currentTarget, `${mode} restart requested`, () => api('POST', `/restart?mode=${mode}`));
  });
}

connectLive('/ws', {
  onMessage: ({ status, stats }) => {
    renderStatus(status);
    renderStats(stats);
    document.body.dataset.updatedAt = String(Date.now());
  },
  onState: (state) => {
    setPill(document.getElementById('connection'), state);
    const banner = document.getElementById('banner');
    banner.hidden = state !== 'reconnecting';
    banner.textContent = 'Lost the live connection to this worker; reconnecting…';
  },
});
