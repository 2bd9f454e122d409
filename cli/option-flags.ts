/**
 * One mechanism maps every option to a flag and a GAFFER_* variable (shared/option-env.ts):
 * `heartbeatIntervalMs` is `--heartbeat-interval-ms` and GAFFER_HEARTBEAT_INTERVAL_MS.
 * Precedence: flag, then environment, then the default in the options file.
 */
import { Option, type Command } from 'commander';
import { convertOption, envName, kebab } from '../shared/option-env.js';

export { envName, kebab };

/**
 * Adds one flag per scalar option of `defaults` (objects and the names in `skip` are left to the caller),
 * described by `descriptions[name]` followed by its variable and default.
 */
export function addOptionFlags(
  cmd: Command,
  defaults: Readonly<Record<string, unknown>>,
  descriptions: Readonly<Record<string, string>>,
  skip: readonly string[] = [],
): Command {
  for (const [name, def] of Object.entries(defaults)) {
    if (skip.includes(name) || (def !== null && typeof def === 'object')) continue;
    const help = `${descriptions[name]} (${envName(name)}; default ${JSON.stringify(def)})`;
    if (typeof def === 'boolean') {
      cmd.addOption(new Option(def ? `--no-${kebab(name)}` : `--${kebab(name)}`, help));
    } else {
      cmd.addOption(new Option(`--${kebab(name)} <value>`, help));
    }
  }
  return cmd;
}

/** Whether the flag for option `name` was given on the command line. */
export function flagGiven(flags: Record<string, unknown>, name: string, def: unknown): boolean {
  // commander sets a `--no-x` flag's value to true by default; only `false` means it was given.
  return typeof def === 'boolean' ? flags[name] === !def : flags[name] !== undefined;
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
    if (flagGiven(flags, name, def)) out[name] = convertOption(name, flags[name], def, 'flag');
    else if (env[envName(name)] !== undefined) out[name] = convertOption(name, env[envName(name)], def, 'env');
  }
  return out;
}
