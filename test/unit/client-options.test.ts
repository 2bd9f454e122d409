/** The client's options: one set of defaults, the CLI's GAFFER_* variables under explicit options, bad values refused by name. */
import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS, Client } from '../../client/index.js';
import { resolveClientOptions } from '../../client/options.js';

describe('client options', () => {
  it('defaults, then the environment, then what the caller passes', () => {
    expect(resolveClientOptions({})).toMatchObject({ ...CLIENT_DEFAULTS });
    const env = { foreman: 'http://from-env:9000', token: 'env-token' };
    expect(resolveClientOptions({}, env)).toMatchObject(env);
    expect(resolveClientOptions({ foreman: 'wss://given:443/', token: undefined }, env)).toMatchObject({ foreman: 'https://given:443', token: 'env-token' });
  });

  it('refuses a bad value naming the option', () => {
    expect(() => resolveClientOptions({ foreman: 'host:9000' })).toThrow(/^foreman /);
    expect(() => resolveClientOptions({ waitChunkMs: 0 })).toThrow(/^waitChunkMs /);
    expect(() => resolveClientOptions({ reconnectMs: -1 })).toThrow(/^reconnectMs /);
    expect(() => resolveClientOptions({ chunkSize: 1.5 })).toThrow(/^chunkSize /);
    expect(() => resolveClientOptions({ transport: 'smoke' as never })).toThrow(/^transport /);
    expect(() => new Client({ waitChunkMs: 500_000 })).toThrow(TypeError);
  });

  it('reads GAFFER_FOREMAN_URL and GAFFER_API_TOKEN, as the CLI does', () => {
    const saved = { url: process.env.GAFFER_FOREMAN_URL, token: process.env.GAFFER_API_TOKEN };
    try {
      process.env.GAFFER_FOREMAN_URL = 'http://env-host:9100';
      process.env.GAFFER_API_TOKEN = 'env-api-token';
      expect(new Client().options).toMatchObject({ foreman: 'http://env-host:9100', token: 'env-api-token' });
      expect(new Client({ token: null }).options.token).toBeNull();
    } finally {
      for (const [k, v] of [['GAFFER_FOREMAN_URL', saved.url], ['GAFFER_API_TOKEN', saved.token]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
