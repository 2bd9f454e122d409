/**
 * Which replica results agree. Exact comparison is by canonical encoding
 * (JSON with object keys sorted, so `{a, b}` and `{b, a}` match); with a
 * tolerance, numbers anywhere in the value match when within it and all
 * else must be equal. Failures are answers too: two replicas that failed
 * with the same error code agree (a deterministic error is a result).
 */

/** One replica's answer: a value, or the code of the error it failed with. */
export type Answer = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** A set of matching answers, with the replicas (task ids) that gave them. */
export interface AnswerClass {
  answer: Answer;
  replicaIds: string[];
}

/** The canonical encoding: JSON with object keys in sorted order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  }) ?? 'null';
}

function withinTolerance(a: unknown, b: unknown, tolerance: number): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= tolerance;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => withinTolerance(x, b[i], tolerance));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && withinTolerance((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tolerance));
  }
  return canonical(a) === canonical(b);
}

/** Whether two answers match under `tolerance` (null: exact). */
export function sameAnswer(a: Answer, b: Answer, tolerance: number | null): boolean {
  if (!a.ok || !b.ok) return !a.ok && !b.ok && a.code === b.code;
  return tolerance === null ? canonical(a.value) === canonical(b.value) : withinTolerance(a.value, b.value, tolerance);
}

/**
 * Groups answers into classes of matching ones, in first-seen order; each answer joins the
 * first class whose first answer it matches (with a tolerance, matching is not transitive).
 */
export function classify(answers: ReadonlyArray<{ replicaId: string; answer: Answer }>, tolerance: number | null): AnswerClass[] {
  const classes: AnswerClass[] = [];
  for (const { replicaId, answer } of answers) {
    const home = classes.find((c) => sameAnswer(c.answer, answer, tolerance));
    if (home) home.replicaIds.push(replicaId);
    else classes.push({ answer, replicaIds: [replicaId] });
  }
  return classes;
}
