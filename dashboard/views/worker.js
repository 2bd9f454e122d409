// Worker detail (#worker/ID): state, skills with their groups, slots, running
// tasks, its recent tasks and recent failures, a link to its status page;
// Drain, Undrain (a draining worker) and Restart.
import { command, el } from '../dom.js';
import { fmtInt, fmtMs } from '../format.js';
import { api } from '../live-client.js';
import { fmtTime, kv, panel, pill, query, redraw, taskLink, taskTable, refreshEvery } from './common.js';

const RECENT = 20;
const REFRESH_MS = 2000;

export function show(container, id) {
  const enc = encodeURIComponent(id);
  const act = (label, action, path, cls) =>
    el('button', { 'data-write': true, class: cls, 'data-action': action, onclick: (e) => {
      if (cls === 'danger' && !confirm(`${label} ${id}?`)) return;
      command(e.currentTarget, `${label}: ${id}`, async () => { await api('POST', `/workers/${enc}/${path}`); await refresh(); });
    } }, label);
  const buttons = el('div', { class: 'actions push-right' },
    act('Drain', 'drain', 'drain'), act('Undrain', 'undrain', 'undrain'), act('Restart', 'restart', 'restart?mode=graceful'), act('Hard restart', 'hard-restart', 'restart?mode=hard', 'danger'));
  const state = el('span', {});
  const summary = el('div', {});
  const heartbeat = el('span', { 'data-field': 'heartbeat' });
  const recent = el('div', { id: 'worker-recent' });
  const errors = el('div', { id: 'worker-errors' });
  container.replaceChildren(
    el('div', { class: 'view-head' }, el('h2', {}, 'Worker ', el('span', { class: 'mono' }, id)), state, buttons),
    panel('Summary', summary),
    panel(['Recent tasks', el('span', { class: 'sub muted' }, `last ${RECENT}, newest first`)], recent),
    panel(['Recent errors', el('span', { class: 'sub muted' }, 'failed tasks it ran last')], errors),
  );

  async function refresh() {
    const { workers } = await api('GET', '/workers');
    const w = workers.find((x) => x.id === id);
    if (!w) {
      redraw(summary, null, () => el('div', { class: 'empty', 'data-field': 'not-found' }, `The foreman does not know worker ${id} (any more).`));
      buttons.hidden = true;
    } else {
      state.replaceChildren(pill(w.state));
      buttons.hidden = false;
      const online = w.state !== 'offline';
      buttons.querySelector('[data-action=drain]').disabled = !online || w.draining;
      buttons.querySelector('[data-action=undrain]').disabled = !online || !w.draining;
      for (const b of buttons.querySelectorAll('[data-action$=restart]')) b.disabled = !online;
      const groups = new Map();
      for (const s of w.skills) groups.set(s.group ?? '–', [...(groups.get(s.group ?? '–') ?? []), s.type]);
      // Ages change every tick; the rest decides whether the summary is rebuilt.
      redraw(summary, { ...w, lastHeartbeatAgeMs: null, lastSeenAgeMs: null, lastHeartbeatAt: null }, () => kv([
        ['skills', el('div', { class: 'chips', 'data-field': 'skills' }, ...w.skills.map((s) => el('span', { class: 'chip' }, (w.hotSkills ?? []).includes(s.type) ? `🔥${s.type}` : s.type)))],
        ['groups', Object.keys(w.groupLimits ?? {}).length === 0 ? 'none' : Object.entries(w.groupLimits).map(([g, n]) => `${g}: ${fmtInt(w.groupUsage?.[g] ?? 0)} / ${fmtInt(n)} (${(groups.get(g) ?? []).join(', ')})`).join(' · ')],
        ['slots', `${fmtInt(w.slotsInUse)} / ${fmtInt(w.capacity)}`],
        ['draining', w.draining ? 'yes' : 'no'],
        ['running', w.running.length ? el('div', { class: 'chips' }, ...w.running.map((t) => el('span', { class: 'chip' }, taskLink(t.id), t.type))) : 'nothing'],
        ['heartbeat', heartbeat],
        ['connected', fmtTime(w.connectedAt)],
        ['reconnects', fmtInt(w.reconnects)],
        ['address', w.address ?? '–'],
        ['status page', w.statusUrl ? el('a', { href: w.statusUrl, target: '_blank', rel: 'noopener', 'data-field': 'status-link' }, w.statusUrl) : '–'],
        ['browser', w.meta?.browser === true ? String(w.meta.userAgent ?? 'yes') : undefined],
      ]));
      heartbeat.textContent = w.lastHeartbeatAgeMs === null ? '–' : `${fmtMs(w.lastHeartbeatAgeMs)} ago`;
    }
    const [mine, failed] = await Promise.all([
      api('GET', `/tasks?${query({ workerId: id, order: 'desc', limit: RECENT })}`),
      api('GET', `/tasks?${query({ workerId: id, state: 'failed', order: 'desc', limit: RECENT })}`),
    ]);
    redraw(recent, mine.tasks, () => taskTable(mine.tasks));
    redraw(errors, failed.tasks, () => taskTable(failed.tasks));
  }

  return refreshEvery(REFRESH_MS, refresh, (err) => redraw(summary, err.message, () => el('div', { class: 'empty bad' }, err.message)));
}
