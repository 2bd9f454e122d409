/**
 * What `gaffer foreman` tells its operator about access on every start: a
 * worker join command that works as printed from another machine, the
 * dashboard URL, and whether anything is open. Tokens go to the terminal
 * (stderr) only, never into the log (stdout): the join command carries the
 * worker token on every start; the API and read tokens are printed only on
 * the start that generated them, later starts point at the tokens file.
 */
import type { Credentials, TokenName } from './credentials.js';

export interface AccessNotice {
  /** For the log: no token values. */
  log: { level: 'info' | 'warn'; fields: Record<string, unknown>; msg: string };
  /** For the terminal (stderr): the join command (with the worker token when one is needed) and the dashboard URL. */
  terminal: string;
}

/**
 * Builds the notice.
 * @param httpUrl the foreman's base URL for browsers; `wsUrl` the one for workers (both with a reachable host).
 */
export function accessNotice(creds: Credentials, httpUrl: string, wsUrl: string): AccessNotice {
  const join = `npx gaffer worker --foreman ${wsUrl}`;
  if (creds.apiToken === null && creds.openWorkers) {
    return {
      log: { level: 'warn', fields: { open: true, joinCommand: join, dashboard: `${httpUrl}/` }, msg: 'no tokens configured and bound to loopback only: the API, dashboard and worker endpoint are open to anyone on this machine' },
      terminal: `\nstart a worker with:   ${join}\nbrowser workers:       ${httpUrl}/join/\ndashboard:             ${httpUrl}/\n\n`,
    };
  }
  const where = creds.file ? ` (tokens in ${creds.file})` : '';
  const fields = {
    api: creds.apiToken === null ? 'open (loopback only)' : 'token required',
    workers: creds.openWorkers ? 'open (loopback only)' : 'token required',
    tokensFile: creds.file,
    joinCommand: creds.workerToken === null ? join : `${join} --worker-token <workerToken${where}>`,
    dashboard: `${httpUrl}/`,
  };
  // The join command must work as printed on another machine, so it carries the worker token every time.
  const joinLine = creds.workerToken === null ? join : `${join} --worker-token ${creds.workerToken}`;
  const generatedNow = (name: TokenName) => creds.generated.includes(name);
  const secret = (name: TokenName, label: string) => (generatedNow(name) ? (creds[name] as string) : `<${label}${where}>`);
  const lines = [''];
  if (creds.generated.length > 0) {
    lines.push('Gaffer generated access tokens for this foreman' + (creds.file ? ` and saved them in ${creds.file} (mode 0600):` : ' (kept in memory only):'));
  }
  lines.push(`  start a worker with:   ${joinLine}`);
  // The browser link carries its token on every start too: it is what the operator shares with volunteers.
  lines.push(`  browser workers:       ${httpUrl}/join/${creds.joinToken === null ? '' : `#token=${creds.joinToken}`}`);
  if (creds.apiToken === null) lines.push(`  dashboard:             ${httpUrl}/`);
  else {
    lines.push(`  dashboard:             ${httpUrl}/#token=${secret('apiToken', 'apiToken')}`);
    if (creds.readToken !== null) lines.push(`  read-only dashboard:   ${httpUrl}/#token=${secret('readToken', 'readToken')}`);
    lines.push(`  API:                   curl -H 'Authorization: Bearer ${secret('apiToken', 'apiToken')}' ${httpUrl}/stats`);
  }
  lines.push('Keep tokens secret. Give workers their own tokens with: npx gaffer token create --worker NAME', '');
  const msg = creds.generated.length > 0 ? 'authentication on: tokens generated (printed on the terminal, not logged)' : `authentication on${where}`;
  return { log: { level: 'info', fields, msg }, terminal: `${lines.join('\n')}\n` };
}
