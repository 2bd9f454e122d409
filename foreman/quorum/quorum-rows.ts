/**
 * The quorum tables' rows as both stores read them: the columns are the same in SQLite and
 * PostgreSQL (spec, answers and the canonical answer as JSON text, the template as msgpack).
 */
import { decodeValue } from '../../shared/codec.js';
import type { Answer } from './compare.js';
import type { QuorumSpec } from './quorum-spec.js';
import type { GroupRow, ReplicaRow, Verdict, WorkerScore } from './quorum-store.js';

/** JSON text of an answer (null stays null). */
export const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

export function toGroup(r: Record<string, unknown>): GroupRow {
  return {
    parentId: r.parent_id as string,
    spec: JSON.parse(r.spec as string) as QuorumSpec,
    template: decodeValue(r.template as Buffer) as GroupRow['template'],
    decidedAt: (r.decided_at as number | null) ?? null,
    canonical: r.canonical === null ? null : (JSON.parse(r.canonical as string) as Answer),
  };
}

export function toReplica(r: Record<string, unknown>): ReplicaRow {
  return {
    replicaId: r.replica_id as string,
    parentId: r.parent_id as string,
    workerId: (r.worker_id as string | null) ?? null,
    answer: r.answer === null ? null : (JSON.parse(r.answer as string) as Answer),
    verdict: (r.verdict as Verdict | null) ?? null,
  };
}

export function toScore(r: Record<string, unknown>): WorkerScore {
  return {
    workerId: r.worker_id as string,
    points: r.points as number,
    valid: r.valid as number,
    invalid: r.invalid as number,
    errors: r.errors as number,
    reputation: r.reputation as number,
    streak: r.streak as number,
    quarantinedAt: (r.quarantined_at as number | null) ?? null,
    updatedAt: r.updated_at as number,
  };
}
