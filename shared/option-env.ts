/**
 * The one mapping from option names to GAFFER_* variables: `heartbeatIntervalMs` is GAFFER_HEARTBEAT_INTERVAL_MS
 * (and the flag --heartbeat-interval-ms). The CLI and the worker SDK both read the environment through it.
 */

/** `heartbeatIntervalMs` → `heartbeat-interval-ms`. */
export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `heartbeatIntervalMs` → `GAFFER_HEARTBEAT_INTERVAL_MS`. */
export const envName = (name: string): string => `GAFFER_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/**
 * Converts a flag or variable's text to the type of the option's default.
 * @throws TypeError naming the flag (`--name`) or the variable when the text does not fit.
 */
export function convertOption(name: string, raw: unknown, def: unknown, source: 'flag' | 'env'): unknown {
  const label = source === 'flag' ? `--${kebab(name)}` : envName(name);
  if (typeof def === 'number') {
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n)) throw new TypeError(`${label} must be a number, got ${String(raw)}`);
    return n;
  }
  if (typeof def === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (/^(1|true|yes|on)$/i.test(String(raw))) return true;
    if (/^(0|false|no|off)$/i.test(String(raw))) return false;
    throw new TypeError(`${label} must be true or false, got ${String(raw)}`);
  }
  return String(raw);
}

/** The scalar options of `defaults` that are set in `env`, converted; unset ones are left out so the defaults apply. */
export function optionsFromEnv(defaults: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defaults)) {
    if (def !== null && typeof def === 'object') continue;
    const raw = env[envName(name)];
    if (raw !== undefined) out[name] = convertOption(name, raw, def, 'env');
  }
  return out;
}
