// Task detail (#task/ID): params, result, state and status, timeline, attempts
// with their worker, outcome and error, logs, live progress; Cancel and Retry.
// While the task is unsettled it follows it with GET /tasks/:id/wait (long poll, no busy polling).
import { command, el, progressBar, setBar, toast } from '../dom.js';
import { fmtMs } from '../format.js';
import { api } from '../live-client.js';
import { fmtTime, jobLink, jsonBlock, kv, panel, pill, query, SETTLED, taskLink, workerLink } from './common.js';

const WAIT_MS = 25_000;

/** The task with this id, else the one with this idempotency key; null when neither exists. */
async function find(idOrKey) {
  try {
    return await api('GET', `/tasks/${encodeURIComponent(idOrKey)}`);
  } catch (err) {
    if (!/^404 /.test(err.message)) throw err;
  }
  const { tasks } = await api('GET', `/tasks?${query({ key: idOrKey, limit: 1 })}`);
  return tasks[0] ? api('GET', `/tasks/${encodeURIComponent(tasks[0].id)}`) : null;
}

function attemptsTable(task) {
  const attempts = task.attempts ?? [];
  if (attempts.length === 0) return el('div', { class: 'empty' }, task.state === 'queued' ? 'Not started yet.' : 'No attempt recorded.');
  return el('div', { class: 'scroll' }, el('table', { id: 'attempts' },
    el('thead', {}, el('tr', {}, ...['#', 'worker', 'started', 'took', 'outcome', 'error'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...attempts.map((a) => el('tr', { 'data-attempt': a.attempt },
      el('td', { class: 'num' }, String(a.attempt)),
      el('td', {}, workerLink(a.workerId)),
      el('td', {}, fmtTime(a.startedAt)),
      el('td', { class: 'num' }, a.finishedAt ? fmtMs(a.finishedAt - a.startedAt) : 'running'),
      el('td', {}, a.outcome ? pill(a.outcome) : el('span', { class: 'muted' }, 'running')),
      el('td', { class: 'error-cell' }, a.error ? errorBox(a.error) : ''),
    ))),
  ));
}

function errorBox(error) {
  return el('div', { class: 'error' },
    el('div', {}, el('b', { class: 'bad', 'data-field': 'error-code' }, error.code), ' ', el('span', { 'data-field': 'error-message' }, error.message)),
    error.stack ? el('details', {}, el('summary', {}, error.errorClass ?? 'stack'), el('pre', { class: 'stack' }, error.stack)) : null,
  );
}

function logsPanel(task) {
  const logs = task.logs ?? [];
  if (logs.length === 0) return el('div', { class: 'empty' }, 'No log lines were sent for this task.');
  return el('div', {}, ...logs.map((l) => el('div', {},
    el('div', { class: 'muted' }, `attempt ${l.attempt} · `, workerLink(l.workerId)),
    el('pre', { class: 'logs' }, l.lines.join('\n')),
  )));
}

function draw(container, task, actions) {
  const settled = SETTLED.has(task.state);
  const retryable = task.state === 'failed' || task.state === 'cancelled';
  const buttons = el('div', { class: 'actions push-right' },
    el('button', { 'data-write': true, 'data-action': 'retry-task', disabled: !retryable, onclick: (e) => actions.retry(e.currentTarget) }, 'Retry'),
    el('button', { 'data-write': true, class: 'danger', 'data-action': 'cancel-task', disabled: settled, onclick: (e) => actions.cancel(e.currentTarget) }, 'Cancel'),
  );
  const progress = task.progress;
  const bar = progressBar();
  setBar(bar, progress?.fraction ?? (task.state === 'succeeded' ? 1 : 0));
  container.replaceChildren(
    el('div', { class: 'view-head' },
      el('h2', {}, 'Task ', el('span', { class: 'mono', 'data-field': 'task-id' }, task.id)), pill(task.state), buttons),
    el('div', { class: 'grid2' },
      panel('Summary', kv([
        ['type', el('b', { 'data-field': 'type' }, task.type)],
        ['status', task.status ?? '–'],
        ['job', jobLink(task.jobId)],
        ['key', task.key ?? '–'],
        ['worker', workerLink(task.workerId)],
        ['attempt', `${task.attempt} of at most ${task.maxAttempts} (failures ${task.failures}, worker losses ${task.losses})`],
        ['priority', String(task.priority)],
        ['timeout', task.timeoutMs ? fmtMs(task.timeoutMs) : '–'],
        ['depends on', task.dependsOn?.length ? el('div', { class: 'chips', 'data-field': 'depends-on' }, ...task.dependsOn.map((p) => taskLink(p))) : undefined],
        ['waiting for', task.waitingFor],
        // Why a queued task is not dispatched yet (`delay` until its run-at time, a limit, a parent…).
        ['held by', task.heldBy === undefined ? undefined : el('span', { 'data-field': 'held-by' }, String(task.heldBy))],
        ['progress', settled && !progress ? undefined : el('div', { 'data-field': 'progress' }, bar, el('div', { class: 'bar-label' }, progress ? `${Math.round(progress.fraction * 100)}%${progress.message ? ` · ${progress.message}` : ''}` : 'no progress reported'))],
      ])),
      panel('Timeline', kv([
        ['created', fmtTime(task.createdAt)],
        ['run at', task.runAt && task.runAt !== task.createdAt ? fmtTime(task.runAt) : undefined],
        ['started', fmtTime(task.startedAt)],
        ['finished', fmtTime(task.finishedAt)],
        ['took', task.finishedAt && task.startedAt ? fmtMs(task.finishedAt - task.startedAt) : undefined],
      ])),
    ),
    task.error ? panel('Error', errorBox(task.error)) : '',
    el('div', { class: 'grid2' }, panel('Params', jsonBlock(task.params, 'params')), panel('Result', jsonBlock(task.result ?? null, 'result'))),
    panel(['Attempts', el('span', { class: 'sub muted' }, 'newest last')], attemptsTable(task)),
    panel('Logs', logsPanel(task)),
  );
}

export function show(container, idOrKey) {
  const stopped = new AbortController();
  let id = idOrKey;
  let task = null;
  container.replaceChildren(el('div', { class: 'empty' }, `Looking up ${idOrKey}…`));

  const actions = {
    retry: (b) => command(b, `Retry task ${id}`, async () => { await api('POST', `/tasks/${encodeURIComponent(id)}/retry`); void follow(); }),
    cancel: (b) => {
      if (!confirm(`Cancel task ${id}?`)) return;
      command(b, `Cancel task ${id}`, async () => { await api('POST', `/tasks/${encodeURIComponent(id)}/cancel`); void follow(); });
    },
  };

  let following = false;
  // Redraws on every change until the task settles; a command restarts it.
  async function follow() {
    if (following) return;
    following = true;
    try {
      for (;;) {
        task = await api('GET', `/tasks/${encodeURIComponent(id)}`);
        if (stopped.signal.aborted) return;
        draw(container, task, actions);
        if (SETTLED.has(task.state)) return;
        const seen = task.progress?.fraction ?? -1;
        await fetchWait(id, seen, stopped.signal);
        if (stopped.signal.aborted) return;
      }
    } catch (err) {
      if (!stopped.signal.aborted) toast(`Task ${id}: ${err.message}`, true);
    } finally {
      following = false;
    }
  }

  find(idOrKey).then((found) => {
    if (stopped.signal.aborted) return;
    if (!found) return container.replaceChildren(el('div', { class: 'empty', 'data-field': 'not-found' }, `No task has the id or key "${idOrKey}".`));
    id = found.id;
    void follow();
  }, (err) => container.replaceChildren(el('div', { class: 'empty bad' }, err.message)));
  return () => stopped.abort();
}

/** Returns when the task settles, its progress moves, or after WAIT_MS (long poll). */
async function fetchWait(id, seen, signal) {
  try {
    await api('GET', `/tasks/${encodeURIComponent(id)}/wait?${query({ timeoutMs: WAIT_MS, progressSeen: seen })}`, undefined, { signal });
  } catch {
    // A failed wait (foreman restarting) must not spin: pause as long as a reconnect would.
    if (!signal.aborted) await new Promise((r) => setTimeout(r, 1000));
  }
}
