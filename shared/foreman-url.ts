/**
 * One foreman address, two schemes: workers speak WebSocket (ws://, wss://), the API and the CLI speak
 * HTTP (http://, https://) on the same port. Every `--foreman` accepts either and derives the other.
 */

const SCHEME = /^(wss?|https?):\/\//i;

/** The WebSocket form of `url` (http → ws, https → wss); a URL without a scheme is taken as ws://. */
export function toWsUrl(url: string): string {
  const m = SCHEME.exec(url);
  if (!m) return `ws://${url}`;
  const scheme = m[1].toLowerCase();
  return scheme === 'http' ? `ws://${url.slice(m[0].length)}` : scheme === 'https' ? `wss://${url.slice(m[0].length)}` : url;
}

/** The HTTP form of `url` (ws → http, wss → https), without the worker endpoint's `/ws/...` path. */
export function toHttpUrl(url: string): string {
  const m = SCHEME.exec(url);
  const rest = m ? url.slice(m[0].length) : url;
  const scheme = m ? m[1].toLowerCase() : 'http';
  const httpScheme = scheme === 'ws' ? 'http' : scheme === 'wss' ? 'https' : scheme;
  return `${httpScheme}://${rest.replace(/\/ws\/.*$/, '')}`;
}
