/** `gaffer foreman`: reads flags and GAFFER_* variables, starts the foreman, handles signals. */
import { hostname, networkInterfaces } from 'node:os';
import { Command } from 'commander';
import { fail } from './fail.js';
import { createLogger } from './logger.js';
import { addOptionFlags, readOptionFlags } from './option-flags.js';
import type { Foreman } from '../foreman/foreman.js';
import { DEFAULTS, FOREMAN_OPTION_HELP, type ForemanOptions } from '../foreman/options.js';

/**
 * An address other machines can reach us on, for the printed join command: the bound address when it is
 * specific, otherwise the first non-internal IPv4 address, otherwise the hostname (never loopback, which
 * would be wrong on every other machine).
 */
function reachableHost(bound: string): string {
  if (bound !== '0.0.0.0' && bound !== '::') return bound.includes(':') ? `[${bound}]` : bound;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return hostname();
}

export function foremanCommand(): Command {
  const cmd = new Command('foreman').description('Start the foreman: HTTP API, dashboard and worker endpoint on one port.');
  addOptionFlags(cmd, DEFAULTS, FOREMAN_OPTION_HELP);
  cmd.action(async (flags: Record<string, unknown>) => {
    // Loaded here, not with the command tree: every other command (a worker above all) starts without them.
    const [{ Foreman }, { joinRoutes }, { joinAssets }, { accessNotice }, { schemes }] = await Promise.all([
      import('../foreman/foreman.js'),
      import('../foreman/http/join-routes.js'),
      import('../worker/browser/join-assets.js'),
      import('../foreman/auth/access-notice.js'),
      import('../foreman/tls.js'),
    ]);
    let foreman: Foreman;
    try {
      const options = readOptionFlags(flags, DEFAULTS, process.env) as Partial<ForemanOptions>;
      // Pretty lines on a terminal, JSON otherwise; tokens are redacted either way.
      foreman = await Foreman.start({
        ...options,
        logger: createLogger(options.logLevel ?? DEFAULTS.logLevel, process.stdout.isTTY === true),
        // The browser worker's page, built from worker/browser/ (the foreman itself never imports worker code).
        plugins: [(app, f) => joinRoutes(app, joinAssets, f.edge.credentials.joinToken)],
      });
    } catch (err) {
      fail('foreman', err);
    }
    const log = foreman.app.log;
    const { logLevel: _l, ...settings } = foreman.options;
    // The tokens in force (configured or generated), so the dump shows `[set]` rather than null when they are.
    const creds = foreman.edge.credentials;
    log.info({ settings: { ...settings, store: withoutPassword(settings.store), workerToken: creds.workerToken, apiToken: creds.apiToken, readToken: creds.readToken, joinToken: creds.joinToken } }, 'effective settings');
    const scheme = schemes(foreman.options);
    const host = reachableHost(foreman.options.host);
    const wsUrl = `${scheme.ws}://${host}:${foreman.port}`;
    const notice = accessNotice(creds, `${scheme.http}://${host}:${foreman.port}`, wsUrl);
    log.info({ port: foreman.port, url: foreman.url, joinCommand: notice.log.fields.joinCommand }, 'foreman listening');
    log[notice.log.level](notice.log.fields, notice.log.msg);
    process.stderr.write(notice.terminal);

    let signals = 0;
    const stop = async (signal: string) => {
      if (++signals > 1) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      log.info({ signal }, 'shutting down: dispatch stopped, workers told to reconnect later');
      foreman.drain();
      try {
        await foreman.close();
        process.exit(0);
      } catch (err) {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      }
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
  return cmd;
}

/** A store URL as it may be printed: the password replaced. */
function withoutPassword(url: string | null): string | null {
  if (url === null) return null;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
