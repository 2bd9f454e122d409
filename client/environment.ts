/**
 * The client's defaults from the environment: GAFFER_FOREMAN (or its older name GAFFER_FOREMAN_URL) and
 * GAFFER_API_TOKEN, the variables the CLI reads. The client is a library whose
 * entry point is the user's own program, so this is the one file outside cli/
 * that reads process.env (test/unit/import-layers.test.ts names it); in a
 * browser there is no `process` and it returns nothing.
 */
import type { ClientOptions } from './options.js';

export function optionsFromEnvironment(): Partial<ClientOptions> {
  const env = typeof process === 'undefined' ? undefined : process.env;
  if (!env) return {};
  const out: Partial<ClientOptions> = {};
  // GAFFER_FOREMAN is the one address variable of the CLI (ws:// or http://, either works); GAFFER_FOREMAN_URL is its older name.
  const foreman = env.GAFFER_FOREMAN ?? env.GAFFER_FOREMAN_URL;
  if (foreman) out.foreman = foreman;
  if (env.GAFFER_API_TOKEN) out.token = env.GAFFER_API_TOKEN;
  return out;
}
