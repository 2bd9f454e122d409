#!/usr/bin/env node
// Entry point of the `gaffer` CLI: registers tsx so the TypeScript sources run as they are, without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
