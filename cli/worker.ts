/** `gaffer worker`: reads flags and GAFFER_* variables, loads handlers, runs a worker until a signal. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { createLogger } from './logger.js';
import { addOptionFlags, readOptionFlags } from './option-flags.js';
import { BUILTIN_HANDLERS } from '../worker/handlers/builtin.js';
import { createLlmHandler } from '../worker/handlers/llm.js';
import { LLM_DEFAULTS, resolveLlmOptions, type LlmOptions } from '../worker/handlers/llm-options.js';
import { WORKER_DEFAULTS, type WorkerOptions } from '../worker/options.js';
import { CODE_DEFAULTS, resolveCodeOptions, type CodeOptions } from '../worker/sandbox/code-options.js';
import { CODE_GROUP, enableCodeTasks } from '../worker/sandbox/code-tasks.js';
import { Worker } from '../worker/worker.js';
import { startStatusServer } from '../worker/status-server.js';

/** Parses `--limit GROUP=N` occurrences into `{ GROUP: N }`. */
function collectLimit(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=(\d+)$/.exec(value);
  if (!m) throw new TypeError(`--limit expects GROUP=N, got ${value}`);
  return { ...previous, [m[1]]: Number(m[2]) };
}

export function workerCommand(): Command {
  const cmd = new Command('worker').description('Start a worker that dials the foreman and runs the tasks it pushes.');
  addOptionFlags(cmd, WORKER_DEFAULTS);
  addOptionFlags(cmd, LLM_DEFAULTS);
  addOptionFlags(cmd, CODE_DEFAULTS);
  cmd.addOption(new Option('--limit <GROUP=N>', 'at most N tasks of concurrency group GROUP at once (repeatable; a task\'s group defaults to its type)').argParser(collectLimit));
  cmd.addOption(new Option('--handlers <module>', 'module whose default export registers handlers: export default (worker) => { worker.task(...) }'));
  cmd.addOption(new Option('--no-builtins', 'do not register the built-in handlers (echo, sum, reverse, sleep, sha256, fail)'));
  cmd.action(async (flags: Record<string, unknown>) => {
    const options = readOptionFlags(flags, WORKER_DEFAULTS, process.env) as Partial<WorkerOptions>;
    if (flags.limit) options.limits = flags.limit as Record<string, number>;
    else if (process.env.GAFFER_LIMITS) options.limits = process.env.GAFFER_LIMITS.split(',').reduce((acc, s) => collectLimit(s.trim(), acc), {});
    let worker: Worker;
    let llm: Readonly<LlmOptions>;
    let code: Readonly<CodeOptions>;
    try {
      llm = resolveLlmOptions(readOptionFlags(flags, LLM_DEFAULTS, process.env) as Partial<LlmOptions>);
      code = resolveCodeOptions(readOptionFlags(flags, CODE_DEFAULTS, process.env) as Partial<CodeOptions>);
      // Code tasks run one per sandbox thread: the foreman learns it through the `code` group's limit.
      if (code.allowCode) options.limits = { [CODE_GROUP]: code.codeThreads, ...options.limits };
      // Pretty lines on a terminal, JSON otherwise; the worker and control tokens are redacted either way.
      worker = new Worker({ ...options, logger: createLogger(options.logLevel ?? WORKER_DEFAULTS.logLevel, process.stdout.isTTY === true) });
      if (flags.builtins !== false) for (const [type, handler] of Object.entries(BUILTIN_HANDLERS)) worker.task(type, handler);
      // The llm handler needs an endpoint, so it is the one built-in registered only on request.
      if (llm.llmBaseUrl !== null) worker.task('llm', createLlmHandler(llm));
      // Opt-in only: without --allow-code the worker has no `js`/`wasm` skill, so the foreman never sends it code.
      if (code.allowCode) enableCodeTasks(worker, code);
      if (typeof flags.handlers === 'string') {
        const mod = (await import(pathToFileURL(resolve(flags.handlers as string)).href)) as { default?: (w: Worker) => unknown };
        if (typeof mod.default !== 'function') throw new TypeError(`${flags.handlers} must export a default function (worker) => { worker.task(...) }`);
        await mod.default(worker);
      }
    } catch (err) {
      process.stderr.write(`gaffer worker: ${(err as Error).message}\n`);
      process.exit(1);
    }
    const status = worker.options.status ? await startStatusServer(worker) : null;
    worker.log.info({ settings: { ...worker.options, ...llm, ...code }, skills: worker.skills, statusUrl: worker.statusUrl }, 'effective settings');
    await worker.start();

    let signals = 0;
    const stop = async (signal: string) => {
      if (++signals > 1) process.exit(1);
      worker.log.info({ signal, running: worker.runs.size }, 'draining: no new tasks; running ones finish or are handed back');
      await worker.drain();
      await worker.close();
      await status?.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
  return cmd;
}
