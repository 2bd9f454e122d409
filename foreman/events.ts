/** In-process notifications that HTTP streams and the dashboard subscribe to. */
import { EventEmitter } from 'node:events';
import type { SettledTask } from './task-manager.js';

export interface ForemanEventMap {
  /** A task settled; its outcome is durable. */
  settled: [SettledTask];
  /** A job's state changed (closed, cancelled); listeners re-check completion. */
  job: [string];
  /** A task attempt was assigned; `waitedMs` is from becoming ready (submit or retry time) to assignment. */
  assigned: [{ taskId: string; type: string; workerId: string; attempt: number; waitedMs: number }];
  /** One group commit finished: how many writes it held and how long it took, in ms. */
  commit: [{ writes: number; ms: number }];
  /** A running task reported progress (emitted only while someone listens). */
  progress: [string];
  /** An attempt ended: `outcome` is succeeded, failed, lost, released or cancelled; `code` is its error's code, if any. */
  attemptEnded: [{ type: string; outcome: string; code: string | null }];
  /** A dispatch pass held back a ready task of `type` by its fleet-wide limits (once per pass and type). */
  typeHeld: [{ type: string; limit: 'maxRunning' | 'rate' }];
  /** A recurring schedule submitted its task for a tick. */
  scheduleFired: [{ name: string }];
  /** A worker session broke the protocol or was refused; `code` is from PROTOCOL_ERRORS; `workerId` the id it has or claimed. */
  /** A protocol error answered to a worker socket; `closeCode` is set when it ended the session. */
  protocolError: [{ code: string; workerId: string | null; address: string; closeCode: number | null }];
}

export class ForemanEvents extends EventEmitter<ForemanEventMap> {
  constructor() {
    super();
    // One listener per open result stream or dashboard socket; there is no leak to warn about.
    this.setMaxListeners(0);
  }
}
