/**
 * What `gaffer foreman` tells its operator about access on start: how to join
 * a worker, how to open the dashboard, and whether anything is open. Tokens
 * go to the terminal (stderr) once, when generated; never into the log.
 */
import type { Credentials, TokenName } from './credentials.js';

export interface AccessNotice {
  /** For the log: no token values. */
  log: { level: 'info' | 'warn'; fields: Record<string, unknown>; msg: string };
  /** For the terminal (stderr), or null: includes freshly generated tokens. */
  terminal: string | null;
}

/**
 * Builds the notice.
 * @param httpUrl the foreman's base URL for browsers; `wsUrl` the one for workers.
 */
export function accessNotice(creds: Credentials, httpUrl: string, wsUrl: string): AccessNotice {
  const join = `npx gaffer worker --foreman ${wsUrl}`;
  if (creds.apiToken === null && creds.openWorkers) {
    return {
      log: { level: 'warn', fields: { open: true }, msg: 'no tokens configured and bound to loopback only: the API, dashboard and worker endpoint are open to anyone on this machine' },
      terminal: null,
    };
  }
  const fields = { api: creds.apiToken === null ? 'open (loopback only)' : 'token required', workers: creds.openWorkers ? 'open (loopback only)' : 'token required', tokensFile: creds.file };
  if (creds.generated.length === 0) {
    const where = creds.file ? ` (tokens in ${creds.file})` : '';
    return { log: { level: 'info', fields, msg: `authentication on${where}` }, terminal: null };
  }
  // Only freshly generated tokens are printed; ones the operator configured are referred to, not repeated.
  const shown = (name: TokenName, label: string) => (creds.generated.includes(name) ? (creds[name] as string) : `<${label}>`);
  const lines = [
    '',
    'Gaffer generated access tokens for this foreman' + (creds.file ? ` and saved them in ${creds.file} (mode 0600):` : ' (kept in memory only):'),
    `  start a worker with:   ${join} --worker-token ${shown('workerToken', 'your worker token')}`,
    `  dashboard:             ${httpUrl}/#token=${shown('apiToken', 'your API token')}`,
    `  read-only dashboard:   ${httpUrl}/#token=${shown('readToken', 'your read token')}`,
    `  API:                   curl -H 'Authorization: Bearer ${shown('apiToken', 'your API token')}' ${httpUrl}/stats`,
    'These are shown once; keep them secret. Give workers their own tokens with: npx gaffer token create --worker NAME',
    '',
  ];
  return { log: { level: 'info', fields, msg: 'authentication on: tokens generated (printed on the terminal, not logged)' }, terminal: `${lines.join('\n')}\n` };
}
