/**
 * One mechanism maps every option to a flag and a GAFFER_* variable:
 * `heartbeatIntervalMs` is `--heartbeat-interval-ms` and GAFFER_HEARTBEAT_INTERVAL_MS.
 * Precedence: flag, then environment, then the default in the options file.
 */
import { Option, type Command } from 'commander';

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (name: string): string => `GAFFER_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Adds one flag per scalar option of `defaults` (objects and the names in `skip` are left to the caller). */
export function addOptionFlags(cmd: Command, defaults: Readonly<Record<string, unknown>>, skip: readonly string[] = []): Command {
  for (const [name, def] of Object.entries(defaults)) {
    if (skip.includes(name) || (def !== null && typeof def === 'object')) continue;
    const help = `(${envName(name)}; default ${JSON.stringify(def)})`;
    if (typeof def === 'boolean') {
      cmd.addOption(new Option(def ? `--no-${kebab(name)}` : `--${kebab(name)}`, help));
    } else {
      cmd.addOption(new Option(`--${kebab(name)} <value>`, help));
    }
  }
  return cmd;
}

function convert(name: string, raw: unknown, def: unknown): unknown {
  if (typeof def === 'number') {
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n)) throw new TypeError(`--${kebab(name)} must be a number, got ${String(raw)}`);
    return n;
  }
  if (typeof def === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (/^(1|true|yes|on)$/i.test(String(raw))) return true;
    if (/^(0|false|no|off)$/i.test(String(raw))) return false;
    throw new TypeError(`${envName(name)} must be true or false, got ${String(raw)}`);
  }
  return String(raw);
}

/** Reads the options set by flag or environment; unset ones are left out so the defaults apply. */
export function readOptionFlags(
  flags: Record<string, unknown>,
  defaults: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  skip: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defaults)) {
    if (skip.includes(name) || (def !== null && typeof def === 'object')) continue;
    const flag = flags[name];
    // commander sets a `--no-x` flag's value to true by default; only `false` means it was given.
    const flagGiven = typeof def === 'boolean' ? flag === !def : flag !== undefined;
    if (flagGiven) out[name] = convert(name, flag, def);
    else if (env[envName(name)] !== undefined) out[name] = convert(name, env[envName(name)], def);
  }
  return out;
}
