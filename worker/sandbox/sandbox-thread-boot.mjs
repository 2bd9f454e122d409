// Entry of a sandbox thread. Worker threads do not inherit the tsx loader the CLI registered
// (module.register hooks are per thread), so the thread registers it before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./sandbox-thread.ts');
