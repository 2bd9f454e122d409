/** What a benchmark scenario is: a named run that returns numeric metrics, repeated by main.ts. */

export interface RunContext {
  /** Scaled-down sizes, so `--quick` finishes in under a minute. */
  quick: boolean;
  /** Directory for `--cpu-prof` output of the foreman and workers, or null. */
  profileDir: string | null;
  /** `--redis-server PATH` for the compare scenario: null to look on the PATH, '' to skip BullMQ. */
  redisServer: string | null;
  /** Prints a progress line (stderr). */
  log(message: string): void;
}

/** One metric a scenario reports; `target` is the goal, shown beside the figure. */
export interface MetricSpec {
  key: string;
  label: string;
  unit: string;
  target?: string;
}

export interface Scenario {
  name: string;
  /** One line: what runs and what is measured. */
  description: string;
  metrics: MetricSpec[];
  /** Runs when --runs is not given. */
  defaultRuns: { quick: number; full: number };
  /** Why this scenario cannot run on this machine (it is then skipped with that line), or null. */
  unavailable?(): string | null;
  /** One measured run on fresh processes; returns the metric values by key, plus the sizes used. */
  run(ctx: RunContext): Promise<{ metrics: Record<string, number>; sizes: Record<string, number | string> }>;
}
