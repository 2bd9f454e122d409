/** The one workload every side of the `compare` scenario runs, and what each side reports. */

export interface Workload {
  /** No-op tasks for the throughput part. */
  total: number;
  /** Tasks per submission (Gaffer: one POST /jobs; BullMQ: one addBulk); the raw transport keeps this many in flight. */
  chunk: number;
  /** Submissions in flight at once (Gaffer and BullMQ). */
  inFlight: number;
  /** One worker process with this many slots (Gaffer `--concurrency`, BullMQ `concurrency`). */
  slots: number;
  /** Sequential single tasks timed, after `warmup` untimed ones. */
  samples: number;
  warmup: number;
}

/** One side's figures from one run. Latencies in ms; NaN where a side has no such figure. */
export interface SideResult {
  /** First submission → last result durable (raw: last result received). */
  tasksPerSec: number;
  /** CPU time of every process on that side (client, server, worker) during the throughput part, per task. */
  cpuUsPerTask: number;
  /** Submit → result seen by the client, sequential single tasks. */
  resultP50: number;
  resultP99: number;
  /** Submit → acknowledged (Gaffer: 202, durable; BullMQ: `add()` resolved). */
  ackP50: number;
}
