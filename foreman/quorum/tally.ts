/**
 * Judging a quorum group, whichever store holds it: given the group as stored (its spec, whether it
 * is decided and on what, each replica's answer and verdict) and the scores of the workers involved,
 * what happens now. Pure: the store runs it inside the transaction that recorded the latest answer,
 * and writes what it returns.
 *
 * - Undecided: once `agree` answers match, that answer is canonical; with `adaptive`, a trusted
 *   worker's lone answer may be (unless the spot-check draw says check it); else, once every replica
 *   answered, more replicas are asked for (up to `maxReplicas`), then NO_CONSENSUS.
 * - Decided (now or earlier): every answered, unjudged replica is judged against the canonical
 *   answer and its worker scored (reputation.ts); without a canonical answer they are inconclusive.
 * - One vote per worker: a second answer from a worker that already answered for the group (it can
 *   happen when a worker moves between foremen while two replicas are handed out) is a `duplicate`,
 *   counted for nothing.
 */
import type { TASK_ERROR_CODES } from '../../shared/errors.js';
import type { HeldOutcome } from '../ledger.js';
import type { TaskError } from '../task-types.js';
import { classify, type Answer } from './compare.js';
import type { GroupRow, ReplicaRow, Verdict, WorkerScore } from './quorum-store.js';
import { freshScore, scoreAfter, trusted, type ReputationRule } from './reputation.js';

/** The code a quorum task fails with when its replicas never agreed; `error.answers` lists every distinct answer. */
export const NO_CONSENSUS = 'NO_CONSENSUS' satisfies keyof typeof TASK_ERROR_CODES;

export interface Judgment {
  /** Verdicts given now. */
  verdicts: Array<{ replicaId: string; verdict: Verdict }>;
  /** Scores changed now (to be written). */
  scores: WorkerScore[];
  /** Workers quarantined by this judgment. */
  quarantined: WorkerScore[];
  /** Set when this judgment decided the group: its canonical answer (null: no consensus) and how the parent ends. */
  decided: { canonical: Answer | null; outcome: HeldOutcome } | null;
  /** Ids of replicas to add (their rows are written with the judgment, their tasks submitted after). */
  more: string[];
}

export interface TallyContext {
  rule: ReputationRule;
  /** Draws in [0, 1) for the adaptive spot-check. */
  random(): number;
  newId(): string;
  now: number;
}

/** Whether `r` takes part in the vote (an answer, or one still awaited). */
const counts = (r: ReplicaRow) => r.verdict !== 'cancelled' && r.verdict !== 'duplicate';

/** What happens to the group now; see the file's comment. */
export function tally(group: GroupRow, replicas: ReplicaRow[], scores: ReadonlyMap<string, WorkerScore>, ctx: TallyContext): Judgment {
  const out: Judgment = { verdicts: [], scores: [], quarantined: [], decided: null, more: [] };
  const verdictOf = new Map<string, Verdict>();
  const give = (r: ReplicaRow, verdict: Verdict) => {
    verdictOf.set(r.replicaId, verdict);
    out.verdicts.push({ replicaId: r.replicaId, verdict });
  };
  // One vote per worker: an answer judged already stands, else the first one given.
  const voted = new Set<string>();
  for (const r of replicas) if (r.answer !== null && r.verdict !== null && counts(r) && r.workerId !== null) voted.add(r.workerId);
  for (const r of replicas) {
    if (r.answer === null || r.verdict !== null || r.workerId === null) continue;
    if (voted.has(r.workerId)) give(r, 'duplicate');
    else voted.add(r.workerId);
  }
  const live = replicas.filter((r) => counts(r) && !verdictOf.has(r.replicaId));
  let canonical = group.canonical;
  if (group.decidedAt === null) {
    const answered = live.filter((r) => r.answer !== null);
    const classes = classify(answered.map((r) => ({ replicaId: r.replicaId, answer: r.answer as Answer })), group.spec.tolerance);
    const winner = classes.find((c) => c.replicaIds.length >= group.spec.agree);
    const alone = group.spec.adaptive && live.length === 1 && answered.length === 1 ? answered[0] : null;
    if (winner) canonical = winner.answer;
    else if (alone) {
      const score = scores.get(alone.workerId ?? '') ?? null;
      if (alone.answer?.ok && trusted(score, ctx.rule) && ctx.random() >= ctx.rule.quorumSpotCheck) canonical = alone.answer;
      else out.more = ids(group.spec.replicas - 1, ctx);
    } else if (answered.length === live.length) {
      const best = Math.max(0, ...classes.map((c) => c.replicaIds.length));
      const room = group.spec.maxReplicas - live.length;
      if (room > 0) out.more = ids(Math.min(room, group.spec.agree - best), ctx);
      else {
        const workerOf = new Map(replicas.map((r) => [r.replicaId, r.workerId]));
        const answers = classes.map((c) => ({ answer: c.answer, workers: c.replicaIds.map((id) => workerOf.get(id) ?? null) }));
        out.decided = { canonical: null, outcome: { state: 'failed', result: null, error: noConsensusError(group, replicas.length, answers) } };
      }
    }
    if (canonical !== null) out.decided = { canonical, outcome: outcomeOf(canonical) };
    if (out.decided === null) return out;
  }
  for (const r of live) {
    if (r.answer === null || r.verdict !== null) continue;
    const verdict = judge(canonical, r.answer, group.spec.tolerance);
    give(r, verdict);
    if (r.workerId === null || verdict === 'inconclusive') continue;
    const before = out.scores.find((s) => s.workerId === r.workerId) ?? scores.get(r.workerId) ?? freshScore(r.workerId, ctx.now);
    const after = scoreAfter(before, verdict, group.spec.points, ctx.rule, ctx.now);
    if (before.quarantinedAt === null && after.quarantinedAt !== null) out.quarantined.push(after);
    out.scores = [...out.scores.filter((s) => s.workerId !== r.workerId), after];
  }
  return out;
}

/** How an answer compares with the canonical one (none: inconclusive). */
function judge(canonical: Answer | null, answer: Answer, tolerance: number | null): 'valid' | 'invalid' | 'error' | 'inconclusive' {
  if (canonical === null) return 'inconclusive';
  if (!answer.ok) return 'error';
  return classify([{ replicaId: 'c', answer: canonical }, { replicaId: 'r', answer }], tolerance).length === 1 ? 'valid' : 'invalid';
}

/** How the parent ends with this canonical answer. */
function outcomeOf(canonical: Answer): HeldOutcome {
  return canonical.ok
    ? { state: 'succeeded', result: canonical.value, error: null }
    : { state: 'failed', result: null, error: { code: canonical.code, message: canonical.message, retryable: false } };
}

function noConsensusError(group: GroupRow, replicaCount: number, answers: Array<{ answer: Answer; workers: Array<string | null> }>): TaskError {
  return {
    code: NO_CONSENSUS,
    message: `no ${group.spec.agree} of ${replicaCount} replicas agreed (${answers.length} distinct answers)`,
    retryable: false,
    answers: answers.map((a) => (a.answer.ok ? { value: a.answer.value, workers: a.workers } : { error: { code: a.answer.code, message: a.answer.message }, workers: a.workers })),
  } as TaskError;
}

/**
 * How the parent of a group decided earlier ends (a foreman stopped between the decision and the
 * parent's settlement): its canonical answer, or NO_CONSENSUS over the answers it had; null when it
 * was decided by a cancel (the parent is cancelled already).
 */
export function outcomeOfDecided(group: GroupRow, replicas: ReplicaRow[]): HeldOutcome | null {
  if (group.canonical !== null) return outcomeOf(group.canonical);
  const answered = replicas.filter((r) => r.answer !== null && r.verdict === 'inconclusive');
  if (answered.length === 0) return null;
  const classes = classify(answered.map((r) => ({ replicaId: r.replicaId, answer: r.answer as Answer })), group.spec.tolerance);
  const workerOf = new Map(replicas.map((r) => [r.replicaId, r.workerId]));
  const answers = classes.map((c) => ({ answer: c.answer, workers: c.replicaIds.map((id) => workerOf.get(id) ?? null) }));
  return { state: 'failed', result: null, error: noConsensusError(group, replicas.length, answers) };
}

function ids(n: number, ctx: TallyContext): string[] {
  return Array.from({ length: Math.max(0, n) }, () => ctx.newId());
}
