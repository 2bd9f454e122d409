/**
 * What one sandbox thread runs, whatever the host (a Node worker thread or a
 * browser Web Worker): a QuickJS runner for `js` and a WebAssembly runner for
 * `wasm`. No Node imports: the browser worker bundles this file.
 */
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import type { CodeOutcome } from './code-outcome.js';
import type { CodeRequest } from './code-request.js';
import { QuickJsRunner } from './quickjs-runner.js';
import { WasmRunner } from './wasm-runner.js';

export class SandboxRunners {
  // Each thread has its own QuickJS instance; a fresh one replaces it after a run that hit a limit.
  private readonly js: QuickJsRunner;
  private readonly wasm = new WasmRunner();

  constructor(loadQuickJs: () => Promise<QuickJSWASMModule>) {
    this.js = new QuickJsRunner(loadQuickJs);
  }

  async run(req: CodeRequest): Promise<CodeOutcome> {
    if (req.kind === 'js') return this.js.run(req.source, req.args, req.limits);
    return this.wasm.run(req.module, req.exportName, req.args, req.limits);
  }

  /** Loads QuickJS, so the first task does not pay for it; call before saying ready. */
  async warm(): Promise<void> {
    await this.js.run('() => 0', [], { memoryBytes: 8 * 1024 * 1024, cpuMs: 1000, timeoutMs: 1000, resultBytes: 16 });
  }
}
