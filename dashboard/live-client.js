// How both dashboards talk to their server: the API token (from #token= or
// localStorage), authenticated JSON requests, and the reconnecting live socket.

const TOKEN_KEY = 'gaffer.token';
let cachedToken;

/**
 * The API token: from `#token=…` (then remembered in localStorage and removed
 * from the address bar, so it does not end up in bookmarks or screenshots),
 * else from localStorage; null when none was ever given.
 */
export function apiToken() {
  if (cachedToken !== undefined) return cachedToken;
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    cachedToken = decodeURIComponent(m[1]) || null;
    try {
      if (cachedToken) localStorage.setItem(TOKEN_KEY, cachedToken);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {}
    // A drill-down route before the token (`#task/ID&token=…`) stays in the address bar.
    const rest = location.hash.slice(1).split('&').filter((p) => !p.startsWith('token=')).join('&');
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    return cachedToken;
  }
  try {
    cachedToken = localStorage.getItem(TOKEN_KEY);
  } catch {
    cachedToken = null;
  }
  return cachedToken;
}

/** A JSON request with `Authorization: Bearer <token>` when there is a token; throws with the server's message on non-2xx. */
export async function api(method, path, body, { signal } = {}) {
  const headers = {};
  const token = apiToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  if (!res.ok) throw new Error(`${res.status} ${parsed?.code ?? ''} ${parsed?.message ?? text}`.trim());
  return parsed;
}

/**
 * Opens `path` as a WebSocket (token in `?token=`, since browsers cannot set
 * headers on one) and keeps it open, with backoff. Only the newest message
 * is rendered, once per animation frame: a burst never queues renders.
 */
export function connectLive(path, { onMessage, onState }) {
  let delayMs = 250;
  let latest = null;
  let frame = 0;
  const render = () => {
    frame = 0;
    const m = latest;
    latest = null;
    if (m) onMessage(m);
  };
  const open = () => {
    const url = new URL(path, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = apiToken();
    if (token) url.searchParams.set('token', token);
    const ws = new WebSocket(url);
    onState('connecting');
    ws.onopen = () => {
      delayMs = 250;
      onState('live');
    };
    ws.onmessage = (e) => {
      latest = JSON.parse(e.data);
      // Hidden tabs get no animation frames; render directly then, it is at most a few per second.
      if (document.hidden) render();
      else frame ||= requestAnimationFrame(render);
    };
    ws.onclose = () => {
      onState('reconnecting');
      setTimeout(open, delayMs);
      delayMs = Math.min(delayMs * 2, 5000);
    };
  };
  open();
}
