/** `gaffer worker`: reads flags and GAFFER_* variables, loads handlers, runs a worker until a signal. */
import { Command, Option } from 'commander';
import { envName } from '../shared/option-env.js';
import { LLM_DEFAULTS, LLM_OPTION_HELP, resolveLlmOptions, type LlmOptions } from '../worker/handlers/llm-options.js';
import { parseLimits, parseSkillDependencies, WORKER_DEFAULTS, WORKER_OPTION_HELP, type WorkerOptions } from '../worker/options.js';
import { CODE_DEFAULTS, CODE_OPTION_HELP, resolveCodeOptions, type CodeOptions } from '../worker/sandbox/code-options.js';
import type { startStatusServer } from '../worker/status-server.js';
import type { Worker } from '../worker/worker.js';
import { fail, UsageError } from './fail.js';
import { loadHandlerModule } from './handler-module.js';
import { createLogger } from './logger.js';
import { addOptionFlags, flagGiven, readOptionFlags } from './option-flags.js';

export function workerCommand(): Command {
  const cmd = new Command('worker').description('Start a worker that dials the foreman and runs the tasks it pushes.');
  addOptionFlags(cmd, WORKER_DEFAULTS, WORKER_OPTION_HELP);
  addOptionFlags(cmd, LLM_DEFAULTS, LLM_OPTION_HELP);
  addOptionFlags(cmd, CODE_DEFAULTS, CODE_OPTION_HELP);
  cmd.addOption(
    new Option('--limit <GROUP=N>', `at most N tasks of concurrency group GROUP at once; repeatable; a task's group defaults to its type (${envName('limits')}=GROUP=N,GROUP=N)`)
      .argParser((value: string, previous?: Record<string, number>) => parseLimits(value, previous)),
  );
  cmd.addOption(
    new Option('--skill-dependency <TYPE=DEP[,DEP]>', `what task type TYPE needs loaded to be hot (handlers report loads through ctx.hotCache; the foreman routes TYPE to workers where it is hot); repeatable (${envName('skillDependencies')}=TYPE=DEP,DEP;TYPE=DEP)`)
      .argParser((value: string, previous?: Record<string, string[]>) => parseSkillDependencies(value, previous)),
  );
  cmd.addOption(new Option('--handlers <module>', 'handler file (.ts, .mjs, .cjs, .js) whose default export registers handlers: (worker) => { worker.task(...) }'));
  cmd.addOption(new Option('--no-builtins', 'do not register the built-in handlers (echo, sum, reverse, sleep, sha256, fail)'));
  cmd.action(async (flags: Record<string, unknown>) => {
    // Loaded here, not with the command tree: every other command (the foreman above all) starts without them.
    const [{ Worker }, { BUILTIN_HANDLERS }, { createLlmHandler }, { CODE_GROUP, enableCodeTasks }, { startStatusServer }] = await Promise.all([
      import('../worker/worker.js'),
      import('../worker/handlers/builtin.js'),
      import('../worker/handlers/llm.js'),
      import('../worker/sandbox/code-tasks.js'),
      import('../worker/status-server.js'),
    ]);
    let worker: Worker;
    let llm: Readonly<LlmOptions>;
    let code: Readonly<CodeOptions>;
    try {
      const options = readOptionFlags(flags, WORKER_DEFAULTS, process.env) as Partial<WorkerOptions>;
      if (flags.limit) options.limits = flags.limit as Record<string, number>;
      else if (process.env[envName('limits')]) options.limits = parseLimits(process.env[envName('limits')] as string);
      if (flags.skillDependency) options.skillDependencies = flags.skillDependency as Record<string, string[]>;
      else if (process.env[envName('skillDependencies')]) options.skillDependencies = parseSkillDependencies(process.env[envName('skillDependencies')] as string);
      llm = resolveLlmOptions(readOptionFlags(flags, LLM_DEFAULTS, process.env) as Partial<LlmOptions>);
      code = resolveCodeOptions(readOptionFlags(flags, CODE_DEFAULTS, process.env) as Partial<CodeOptions>);
      // Code tasks run one per sandbox thread: the foreman learns it through the `code` group's limit.
      if (code.allowCode) options.limits = { [CODE_GROUP]: code.codeThreads, ...options.limits };
      // Pretty lines on a terminal, JSON otherwise; the worker and control tokens are redacted either way.
      worker = new Worker({ ...options, env: process.env, logger: createLogger(options.logLevel ?? WORKER_DEFAULTS.logLevel, process.stdout.isTTY === true) });
      if (flags.builtins !== false) for (const [type, handler] of Object.entries(BUILTIN_HANDLERS)) worker.task(type, handler);
      // The llm handler needs an endpoint, so it is the one built-in registered only on request.
      if (llm.llmBaseUrl !== null) worker.task('llm', createLlmHandler(llm));
      // Opt-in only: without --allow-code the worker has no `js`/`wasm` skill, so the foreman never sends it code.
      if (code.allowCode) enableCodeTasks(worker, code);
      if (typeof flags.handlers === 'string') await (await loadHandlerModule(flags.handlers))(worker);
    } catch (err) {
      fail('worker', err);
    }
    let status: Awaited<ReturnType<typeof startStatusServer>> | null = null;
    try {
      // A second worker on this machine finds the default port taken: it takes a free one, unless the port was chosen.
      const portChosen = flagGiven(flags, 'statusPort', WORKER_DEFAULTS.statusPort) || process.env[envName('statusPort')] !== undefined;
      if (worker.options.status) status = await startStatusServer(worker, { fallbackToFreePort: !portChosen });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        fail('worker', new UsageError(`--status-port ${worker.options.statusPort} is in use (another worker on this machine?): pass another port, --status-port 0 for any free one, or --no-status`), 2);
      }
      fail('worker', err);
    }
    worker.log.info({ settings: { ...worker.options, ...llm, ...code }, skills: worker.skills, statusUrl: worker.statusUrl }, 'effective settings');
    // A refusal retrying cannot fix (token, version, id in use) ends the process with one line saying what to pass.
    worker.once('refused', (err) => fail('worker', err, 1));
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
