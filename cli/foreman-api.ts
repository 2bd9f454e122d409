/**
 * The `--foreman` and `--token` options of the commands that talk to a foreman's HTTP API, and the calls they
 * make, in one place, all through the client library (`Client`). `--foreman` takes the same address
 * `gaffer worker` does (ws:// or http://, either works) from the same variable, GAFFER_FOREMAN.
 */
import { Option, type Command } from 'commander';
import { Client } from '../client/index.js';
import { toHttpUrl } from '../shared/foreman-url.js';

/** Adds `--foreman URL` and `--token TOKEN` to `cmd`. */
export function addForemanApiOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--foreman <url>', 'foreman address, http:// or ws:// (the other is derived)').env('GAFFER_FOREMAN').default('http://127.0.0.1:9000'))
    .addOption(new Option('--token <token>', 'API token (printed by the foreman; also in <db>.tokens.json)').env('GAFFER_API_TOKEN'));
}

/** The API for the options added by `addForemanApiOptions`. */
export function foremanApi(flags: { foreman: string; token?: string }): ForemanApi {
  return new ForemanApi(new Client({ foreman: toHttpUrl(flags.foreman), token: flags.token ?? null }));
}

/** A task as submitted from a file: its 1-based line number and the parsed object. */
export interface TaskLine {
  line: number;
  task: unknown;
  /** Length of the line's text, to size request batches. */
  bytes: number;
}

/** The HTTP calls the CLI makes. */
export class ForemanApi {
  constructor(readonly client: Client) {}

  /** Creates an open job holding `tasks` (more can be appended until `closeJob`); the ids come back in order. */
  createOpenJob(tasks: unknown[]): Promise<{ jobId: string; count: number; taskIds?: string[] }> {
    return this.client.request('POST', '/jobs', { tasks, open: true });
  }

  /** Appends tasks to an open job; the ids come back in the order given. */
  async appendTasks(jobId: string, tasks: unknown[]): Promise<{ taskIds: string[] }> {
    return { taskIds: await this.client.job(jobId).add(tasks as Array<{ type: string }>) };
  }

  async closeJob(jobId: string): Promise<void> {
    await this.client.job(jobId).close();
  }

  /** Cancels a job (`j_…`, resolves with how many tasks) or a task (`t_…`, with its state). */
  cancel(id: string): Promise<{ cancelled?: number; state?: string }> {
    const path = id.startsWith('t_') ? 'tasks' : 'jobs';
    return this.client.request('POST', `/${path}/${encodeURIComponent(id)}/cancel`);
  }

  /** A job's results: those settled so far (`follow: false`) or every one until the job completes. */
  results(jobId: string, opts: { follow: boolean; signal?: AbortSignal }): AsyncGenerator<Record<string, any>> {
    return this.client.job(jobId).results(opts) as AsyncGenerator<Record<string, any>>;
  }

  /** Queue depth and connected workers per task type. */
  async queueByType(): Promise<Record<string, { depth: number; workersWithSkill: number }>> {
    return (await this.client.stats()).queue.byType;
  }

  stats(): Promise<any> {
    return this.client.stats();
  }

  workers(): Promise<any[]> {
    return this.client.workers();
  }
}
