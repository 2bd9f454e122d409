/**
 * The files of the join page, built once per process: the page, its style, the
 * page's script and the sandbox Web Worker's script (both bundled by esbuild from
 * this folder, with the shared protocol and codec and the same sandbox code the
 * Node worker runs), and QuickJS's WebAssembly. The foreman serves them under /join/.
 * Built at the first request for one (~0.15 s), not at every start: most foremen never serve the page,
 * and a build at start cost each of them an esbuild process and ~0.2 s of CPU.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** One file of the join page: its content type and bytes. */
export interface JoinAsset {
  contentType: string;
  body: Buffer;
}

/** File name (as served under /join/) → the file. */
export type JoinAssets = ReadonlyMap<string, JoinAsset>;

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

/** Bundles the module `name` for the browser: its TypeScript source in a checkout, its build in dist/ otherwise. */
async function bundle(name: string): Promise<Buffer> {
  const { build } = await import('esbuild');
  const source = here(`${name}.ts`);
  const out = await build({
    entryPoints: [existsSync(source) ? source : here(`${name}.js`)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
  });
  return Buffer.from(out.outputFiles[0].contents);
}

let built: Promise<JoinAssets> | null = null;

/** Builds the join page's files (once; later calls share the first build). */
export function joinAssets(): Promise<JoinAssets> {
  built ??= (async () => {
    const wasm = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
    const [html, css, app, sandbox, quickjs] = await Promise.all([
      readFile(here('join.html')),
      readFile(here('join.css')),
      bundle('join-page'),
      bundle('web-sandbox-thread'),
      readFile(wasm),
    ]);
    return new Map([
      ['', { contentType: 'text/html; charset=utf-8', body: html }],
      ['join.css', { contentType: 'text/css; charset=utf-8', body: css }],
      ['app.js', { contentType: 'text/javascript; charset=utf-8', body: app }],
      ['sandbox.js', { contentType: 'text/javascript; charset=utf-8', body: sandbox }],
      ['quickjs.wasm', { contentType: 'application/wasm', body: quickjs }],
    ]);
  })();
  built.catch(() => (built = null));
  return built;
}
