/** Helpers for tests of a locked-down foreman: fixed tokens, authenticated clients, the token CLI, and a self-signed certificate. */
import { execFile, execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';
import { ApiClient } from '../../client/api-client.js';
import { BIN, tempDir } from './processes.js';

/** Tokens for tests; each is long enough for the foreman's minimum (16 characters). */
export const TOKENS = {
  worker: 'test-fleet-token-0123456789abcdef',
  api: 'test-api-token-0123456789abcdefgh',
  read: 'test-read-token-0123456789abcdefg',
} as const;

/** Foreman flags that enforce the tokens above (the helpers bind loopback, where nothing is enforced by default). */
export const LOCKED = ['--worker-token', TOKENS.worker, '--api-token', TOKENS.api, '--read-token', TOKENS.read];

/** An API client for `baseUrl` presenting `token`. */
export function client(baseUrl: string, token: string | null = TOKENS.api): ApiClient {
  return new ApiClient(baseUrl, token);
}

/** Runs `gaffer <args>` to completion; never throws on a non-zero exit. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A fresh self-signed certificate for 127.0.0.1 and localhost, made with openssl; returns the PEM file paths. */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = tempDir('gaffer-tls-');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  // An EC key is generated in milliseconds, unlike RSA.
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key };
}

/** A GET or POST over https trusting `ca`; resolves with status and parsed JSON body. */
export function httpsJson(url: string, ca: Buffer, opts: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(url, {
      method: opts.method ?? 'GET',
      ca,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(payload ? { 'content-type': 'application/json' } : {}),
      },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? null : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}
