/**
 * One sandbox thread in a browser: a Web Worker running the same runners as a
 * Node sandbox thread (sandbox-thread.ts), with QuickJS's WebAssembly fetched
 * from the foreman (`/join/quickjs.wasm`). Bundled on its own as `/join/sandbox.js`.
 */
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';
import type { SandboxReply, SandboxRequest } from '../sandbox/sandbox-pool.js';
import { SandboxRunners } from '../sandbox/sandbox-runners.js';

declare const self: { postMessage(message: SandboxReply): void; onmessage: ((event: { data: SandboxRequest }) => void) | null };

const variant = newVariant(RELEASE_SYNC, { wasmLocation: new URL('quickjs.wasm', location.href.replace(/[^/]*$/, '')).href });
const runners = new SandboxRunners(() => newQuickJSWASMModuleFromVariant(variant));

self.onmessage = (event) => {
  const req = event.data;
  void runners.run(req).then((outcome) => self.postMessage({ id: req.id, outcome }));
};
await runners.warm();
self.postMessage({ ready: true });
