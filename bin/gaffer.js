#!/usr/bin/env node
// Entry point of the `gaffer` CLI. An installed package has only the build in dist/, and runs that. In a checkout
// the build runs when it is fresh (bin/fresh-build.js), and otherwise the TypeScript sources run as they are through
// tsx (no build step needed, and edits apply at once). A `--handlers` file is loaded through tsx either way
// (cli/handler-module.ts), so it may be TypeScript, ESM or CommonJS.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);
if (existsSync(source) && !(await import('./fresh-build.js')).buildIsFresh()) {
  const { register } = await import('tsx/esm/api');
  const { register: registerCommonJs } = await import('tsx/cjs/api');
  register();
  registerCommonJs();
  globalThis[Symbol.for('gaffer.tsx')] = true;
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
