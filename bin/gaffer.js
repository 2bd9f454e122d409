#!/usr/bin/env node
// Entry point of the `gaffer` CLI. tsx is registered for ESM and CommonJS alike, so a `--handlers` file written in
// TypeScript loads in any project (a default `npm init -y` project is CommonJS). In a checkout the TypeScript
// sources run as they are (no build step needed, and edits apply at once); an installed package has only the
// build in dist/, and runs that.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';
import { register as registerCommonJs } from 'tsx/cjs/api';

register();
registerCommonJs();
const source = new URL('../cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
