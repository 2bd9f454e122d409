// Entry of a sandbox thread. In the built package the compiled sandbox-thread.js sits beside this file; in a
// checkout only the TypeScript does, and worker threads do not inherit the tsx loader the CLI registered
// (module.register hooks are per thread), so the thread registers it before loading the TypeScript.
import { existsSync } from 'node:fs';

const built = new URL('./sandbox-thread.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./sandbox-thread.ts');
}
