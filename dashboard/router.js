// Hash routes of the foreman page: `#` is the live monitoring view (home);
// `#task/ID`, `#job/ID`, `#worker/ID`, `#failed`, `#limits` and `#schedules` open a drill-down view
// (dashboard/views/*.js), each a module with `show(container, arg) → stop()`.
const VIEWS = { task: './views/task.js', job: './views/job.js', worker: './views/worker.js', failed: './views/failed.js', limits: './views/limits.js', schedules: './views/schedules.js' };

const home = document.getElementById('home');
const container = document.getElementById('view');
let stop = null;
let generation = 0;

/** The route in the address bar: `{ name, arg }`, or null for home. */
export function currentRoute() {
  const m = /^#([a-z]+)(?:\/(.*))?$/.exec(location.hash);
  if (!m || !VIEWS[m[1]]) return null;
  return { name: m[1], arg: m[2] === undefined ? '' : decodeURIComponent(m[2]) };
}

async function route() {
  const gen = ++generation;
  stop?.();
  stop = null;
  const r = currentRoute();
  home.hidden = r !== null;
  container.hidden = r === null;
  document.body.dataset.view = r?.name ?? 'home';
  if (!r) return container.replaceChildren();
  const view = await import(VIEWS[r.name]);
  if (gen !== generation) return;
  container.replaceChildren();
  window.scrollTo(0, 0);
  stop = view.show(container, r.arg) ?? null;
}

export function startRouter() {
  addEventListener('hashchange', () => void route());
  void route();
}

/** A link into a view: `href('task', id)` → `#task/ID`. */
export function href(name, arg) {
  return arg === undefined ? `#${name}` : `#${name}/${encodeURIComponent(arg)}`;
}
