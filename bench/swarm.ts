/** Starts and stops session-swarm processes: many light worker sessions spread over a few processes. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, spawnNode, stderrOf, type ForemanProc } from './harness.js';

const SWARM = fileURLToPath(new URL('./session-swarm.ts', import.meta.url));

export interface Swarm {
  procs: ChildProcess[];
  /** Time until every session of every process was welcomed, in ms. */
  readyMs: number;
  /** Errors the sessions reported (closes, error frames). */
  errors: string[];
  stop(): Promise<void>;
}

/**
 * Opens `sessions` sessions spread evenly over `procs` processes and resolves once all are welcomed.
 * @throws Error when a process exits or reports an error first, or after `timeoutMs`.
 */
export async function startSwarm(
  foreman: ForemanProc,
  opts: { procs: number; sessions: number; echo: boolean; capacity?: number; timeoutMs?: number },
): Promise<Swarm> {
  const started = performance.now();
  const errors: string[] = [];
  const procs: ChildProcess[] = [];
  const ready: Array<Promise<void>> = [];
  const tag = Math.random().toString(36).slice(2, 7);
  for (let p = 0; p < opts.procs; p++) {
    const n = Math.floor(opts.sessions / opts.procs) + (p < opts.sessions % opts.procs ? 1 : 0);
    const args = [SWARM, '--foreman', foreman.wsUrl, '--sessions', String(n), '--prefix', `sw-${tag}-${p}`, '--capacity', String(opts.capacity ?? 1)];
    if (opts.echo) args.push('--echo');
    const proc = spawnNode(args, { nodeArgs: ['--import', 'tsx'], ipc: true });
    procs.push(proc);
    ready.push(
      new Promise<void>((resolve, reject) => {
        proc.on('message', (m: { type: string; message?: string }) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'error') {
            errors.push(m.message ?? 'unknown');
            // Before every session is welcomed, any refusal means the run cannot measure what it claims.
            reject(new Error(`a session failed to register: ${m.message}`));
          }
        });
        proc.once('exit', (code) => reject(new Error(`session swarm exited (${code}): ${stderrOf(proc)}`)));
      }),
    );
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sessions not all welcomed within ${timeoutMs} ms; errors: ${errors.slice(0, 3).join('; ')}`)), timeoutMs);
  });
  const stopAll = async () => {
    for (const p of procs) if (p.connected) p.send({ type: 'stop' });
    await Promise.all(procs.map((p) => Promise.race([exited(p), new Promise((r) => setTimeout(r, 5000))])));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  try {
    await Promise.race([Promise.all(ready), timeout]);
  } catch (err) {
    await stopAll();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { procs, readyMs: performance.now() - started, errors, stop: stopAll };
}
