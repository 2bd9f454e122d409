/**
 * The worker's side of checkpoints: `ctx.checkpoint(state)` sends the state
 * to the foreman and resolves once the foreman has stored it durably (or
 * rejects with CHECKPOINT_REFUSED: a stale attempt, or a state over
 * `maxCheckpointBytes`). Only the newest checkpoint of an attempt matters:
 * when several are in flight, the answer to the newest settles them all.
 * Checkpoints unanswered when the socket drops are sent again after the
 * worker registers on its next session.
 */
import { GafferError } from '../shared/errors.js';
import type { Checkpoint, CheckpointAck, TaskRef } from '../shared/protocol.js';

interface Waiting {
  checkpoint: Checkpoint;
  waiters: Array<{ resolve(): void; reject(err: Error): void }>;
}

const keyOf = (r: TaskRef): string => `${r.taskId}:${r.attempt}`;

export class CheckpointSender {
  private seq = 0;
  private readonly waiting = new Map<string, Waiting>();

  /** @param send sends one checkpoint now if a session is up (and drops it otherwise: `resend()` follows registration). */
  constructor(private readonly send: (c: Checkpoint) => void) {}

  /** Saves `state` for the attempt `ref`; resolves when it is durable on the foreman. */
  save(ref: TaskRef, state: unknown): Promise<void> {
    const checkpoint: Checkpoint = { taskId: ref.taskId, attempt: ref.attempt, seq: ++this.seq, state: state === undefined ? null : state };
    const key = keyOf(ref);
    let entry = this.waiting.get(key);
    if (!entry) this.waiting.set(key, (entry = { checkpoint, waiters: [] }));
    entry.checkpoint = checkpoint;
    const done = new Promise<void>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    this.send(checkpoint);
    return done;
  }

  /** The foreman's answer. An answer to an older checkpoint than the newest one sent is ignored. */
  onAck(ack: CheckpointAck): void {
    const key = keyOf(ack);
    const entry = this.waiting.get(key);
    if (!entry || ack.seq < entry.checkpoint.seq) return;
    this.waiting.delete(key);
    const refused = ack.accepted ? null : new GafferError('CHECKPOINT_REFUSED', `checkpoint refused: ${ack.reason ?? 'no reason given'}`);
    for (const w of entry.waiters) refused ? w.reject(refused) : w.resolve();
  }

  /** Sends every unanswered checkpoint again (after registering on a new session). */
  resend(): void {
    for (const entry of this.waiting.values()) this.send(entry.checkpoint);
  }

  /** The attempt ended: nobody awaits its checkpoints any more. */
  forget(ref: TaskRef): void {
    this.waiting.delete(keyOf(ref));
  }
}
