/**
 * TLS for the foreman: with `tlsCert` and `tlsKey`, the one port serves
 * https (API, dashboard) and wss (workers) through Fastify's `https` option.
 */
import { readFileSync } from 'node:fs';
import type { ForemanOptions } from './options.js';

/**
 * The Fastify `https` option for these options, or an empty object for plain HTTP.
 * @throws TypeError naming the option whose file cannot be read.
 */
export function httpsOption<T extends object>(options: Pick<ForemanOptions, 'tlsCert' | 'tlsKey'>, serverOptions: T): { https?: { cert: Buffer; key: Buffer } & T } {
  if (options.tlsCert === null || options.tlsKey === null) return {};
  return { https: { cert: readPem('tlsCert', options.tlsCert), key: readPem('tlsKey', options.tlsKey), ...serverOptions } };
}

function readPem(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TypeError(`option ${name}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** `http` or `https`, `ws` or `wss`, for URLs printed and logged. */
export function schemes(options: Pick<ForemanOptions, 'tlsCert'>): { http: 'http' | 'https'; ws: 'ws' | 'wss' } {
  return options.tlsCert === null ? { http: 'http', ws: 'ws' } : { http: 'https', ws: 'wss' };
}
