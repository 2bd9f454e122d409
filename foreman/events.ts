/** In-process notifications that HTTP streams and the dashboard subscribe to. */
import { EventEmitter } from 'node:events';
import type { SettledTask } from './task-manager.js';

export interface ForemanEventMap {
  /** A task settled; its outcome is durable. */
  settled: [SettledTask];
  /** A job's state changed (closed, cancelled); listeners re-check completion. */
  job: [string];
}

export class ForemanEvents extends EventEmitter<ForemanEventMap> {
  constructor() {
    super();
    // One listener per open result stream or dashboard socket; there is no leak to warn about.
    this.setMaxListeners(0);
  }
}
