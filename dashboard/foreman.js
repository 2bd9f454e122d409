// The foreman dashboard: one snapshot per tick from /ws/dashboard, rendered
// in place. Commands go through the public HTTP API (see foreman-*.js).
import { command, setField, setPill } from './dom.js';
import { fmtInt, fmtMs } from './format.js';
import { api, apiToken, connectLive } from './live-client.js';
import { href, startRouter } from './router.js';
import './access.js';
import { renderCharts } from './foreman-charts.js';
import { renderFleet } from './foreman-fleet.js';
import { renderForemen, selfForemanId } from './foreman-foremen.js';
import { renderJobs } from './foreman-jobs.js';
import { renderLeaderboard } from './foreman-leaderboard.js';
import { renderQueue } from './foreman-queue.js';
import { showJoinLink } from './foreman-join.js';

const connection = document.getElementById('connection');
let lastAt = 0;

const dispatchButton = document.querySelector('[data-action=toggle-dispatch]');
dispatchButton.onclick = () => {
  const pausing = dispatchButton.dataset.dispatching === 'true';
  if (pausing && !confirm('Pause dispatch? Running tasks finish; nothing new is assigned until you resume.')) return;
  command(dispatchButton, pausing ? 'Dispatch paused' : 'Dispatch resumed', () => api('POST', pausing ? '/ops/drain' : '/ops/resume'));
};

function renderSummary(snapshot) {
  const { stats } = snapshot;
  setField(document, 'dispatching', stats.dispatching ? 'on' : 'paused');
  dispatchButton.hidden = false;
  dispatchButton.dataset.dispatching = String(stats.dispatching);
  dispatchButton.textContent = stats.dispatching ? 'Pause dispatch' : 'Resume dispatch';
  setField(document, 'uptime', fmtMs(stats.uptimeMs));
  for (const state of ['queued', 'running', 'succeeded', 'failed', 'cancelled']) {
    // Cancelling tasks still hold their slot: count them as running.
    const n = state === 'running' ? stats.tasks.running + stats.tasks.cancelling : stats.tasks[state];
    setField(document, `tasks.${state}`, fmtInt(n));
  }
  const online = snapshot.fleet.filter((w) => w.state !== 'offline').length;
  setField(document, 'workers.online', fmtInt(online));
  setField(document, 'slots', `${fmtInt(stats.slots.inUse)} / ${fmtInt(stats.slots.capacity)}`);
}

function render(snapshot) {
  lastAt = Date.now();
  // Kept for the console (and the browser tests): the exact numbers behind what is drawn.
  window.lastSnapshot = snapshot;
  document.body.dataset.snapshotAt = String(snapshot.at);
  renderSummary(snapshot);
  renderCharts(snapshot.series);
  renderFleet(snapshot.fleet, selfForemanId(snapshot.foremen ?? []));
  renderForemen(snapshot.foremen ?? [], snapshot.fleet);
  renderQueue(snapshot.stats.queue);
  renderJobs(snapshot.jobs);
  renderLeaderboard(snapshot.leaderboard ?? []);
}

// The token first: it may arrive in the fragment with a route (`#task/ID&token=…`).
apiToken();
startRouter();
document.getElementById('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = e.currentTarget.q.value.trim();
  if (q) location.hash = href('task', q);
});

connectLive('/ws/dashboard', {
  onMessage: render,
  onState: (state) => {
    setPill(connection, state);
    const banner = document.getElementById('banner');
    banner.hidden = state !== 'reconnecting';
    banner.textContent = 'Live updates lost; reconnecting… (if the foreman requires a token, open this page as /#token=YOUR_TOKEN)';
  },
});

// Ages shown between ticks (and a stalled feed) should be visible as such.
setInterval(() => setField(document, 'updatedAgo', lastAt ? fmtMs(Date.now() - lastAt) + ' ago' : '–'), 500);

void showJoinLink();
