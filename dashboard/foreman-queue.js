// The queue panel: depth by type and by priority, the oldest waiting task,
// and a warning for tasks that wait for a skill no connected worker has.
import { el, setField, setText, syncList } from './dom.js';
import { fmtInt, fmtMs } from './format.js';

const types = document.getElementById('queue-types');
const priorities = document.getElementById('queue-priorities');
const emptyTypes = document.querySelector('#queue [data-empty-types]');
const unrunnable = document.getElementById('unrunnable');

function typeRow(entry) {
  return el('tr', { 'data-type': entry.type },
    el('td', { class: 'mono' }, entry.type),
    el('td', { class: 'num', 'data-field': 'depth' }),
    el('td', { class: 'num', 'data-field': 'skill' }),
  );
}

function updateTypeRow(row, entry) {
  setText(row.querySelector('[data-field=depth]'), fmtInt(entry.depth));
  const skill = row.querySelector('[data-field=skill]');
  setText(skill, entry.workersWithSkill === 0 ? 'none — no worker has this skill' : fmtInt(entry.workersWithSkill));
  skill.classList.toggle('warn', entry.workersWithSkill === 0);
}

function priorityRow(entry) {
  return el('tr', { 'data-priority': entry.priority }, el('td', {}, entry.priority), el('td', { class: 'num', 'data-field': 'depth' }));
}

/** @param {{ depth: number, oldestQueuedAgeMs: number|null, byType: Record<string, {depth: number, workersWithSkill: number}>, byPriority: Record<string, number> }} queue */
export function renderQueue(queue) {
  setField(document, 'queue.depth', fmtInt(queue.depth));
  setField(document, 'queue.oldest', queue.oldestQueuedAgeMs === null ? '–' : fmtMs(queue.oldestQueuedAgeMs));

  const byType = Object.entries(queue.byType)
    .map(([type, v]) => ({ type, ...v }))
    .sort((a, b) => b.depth - a.depth || a.type.localeCompare(b.type));
  emptyTypes.hidden = byType.length > 0;
  syncList(types, byType, (e) => e.type, typeRow, updateTypeRow);

  const stuck = byType.filter((e) => e.workersWithSkill === 0);
  unrunnable.hidden = stuck.length === 0;
  const n = stuck.reduce((a, e) => a + e.depth, 0);
  setText(unrunnable, `${fmtInt(n)} ${n === 1 ? 'task waits' : 'tasks wait'} for a skill no connected worker has: ${stuck.map((e) => `${e.type} (${fmtInt(e.depth)})`).join(', ')}`);

  const byPriority = Object.entries(queue.byPriority)
    .map(([priority, depth]) => ({ priority, depth }))
    .sort((a, b) => Number(b.priority) - Number(a.priority));
  syncList(priorities, byPriority, (e) => e.priority, priorityRow, (row, e) => setText(row.querySelector('[data-field=depth]'), fmtInt(e.depth)));
}
