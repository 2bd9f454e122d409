/**
 * A task's quorum, as submitted (`quorum: 3` or `quorum: {replicas, agree, …}`)
 * and as the room applies it. Pure: parsing, defaults and checks only.
 */

/** A quorum with every field decided. */
export interface QuorumSpec {
  /** Replicas started at once, each on a different worker. */
  replicas: number;
  /** Matching results needed to accept one as canonical. */
  agree: number;
  /** Most replicas ever started for the task (more are sent while no answer has `agree` votes); then NO_CONSENSUS. */
  maxReplicas: number;
  /** Results match when equal (`exact`, by canonical encoding) or when every number is within `tolerance`. */
  tolerance: number | null;
  /** Replicas go to distinct workers, or also to distinct addresses. */
  distinct: 'worker' | 'address';
  /** A worker with a long valid record may run the task alone (spot-checked at random). */
  adaptive: boolean;
  /** Points a worker earns for a result that matches the canonical one. */
  points: number;
}

/** Largest `replicas` / `maxReplicas`: quorum is for a handful of workers, not a broadcast. */
export const MAX_REPLICAS = 16;

/** JSON schema of the `quorum` field (the route validates the shape; `parseQuorum` the relations). */
export const quorumSchema = {
  description: 'run on several distinct workers and accept an agreed result: a number n (n replicas, strict majority) or {replicas, agree?, maxReplicas?, compare?, distinct?, adaptive?}',
  anyOf: [
    { type: 'integer', minimum: 1, maximum: MAX_REPLICAS },
    {
      type: 'object',
      additionalProperties: false,
      required: ['replicas'],
      properties: {
        replicas: { type: 'integer', minimum: 1, maximum: MAX_REPLICAS },
        agree: { type: 'integer', minimum: 1, maximum: MAX_REPLICAS, description: 'default: a strict majority of replicas' },
        maxReplicas: { type: 'integer', minimum: 1, maximum: MAX_REPLICAS, description: 'default: replicas + 2' },
        compare: {
          type: 'object',
          additionalProperties: false,
          properties: { tolerance: { type: 'number', minimum: 0, description: 'numbers within this absolute difference match' } },
        },
        distinct: { type: 'string', enum: ['worker', 'address'], description: 'default worker' },
        adaptive: { type: 'boolean', description: 'let trusted workers run it alone, spot-checked; default false' },
      },
    },
  ],
} as const;

/**
 * The spec of a submitted `quorum` (and `points`), or a message naming what is wrong.
 * `quorum: n` means n replicas and a strict majority (⌊n/2⌋ + 1).
 */
export function parseQuorum(raw: unknown, points: number | undefined): QuorumSpec | string {
  const o = (typeof raw === 'number' ? { replicas: raw } : raw) as {
    replicas: number;
    agree?: number;
    maxReplicas?: number;
    compare?: { tolerance?: number };
    distinct?: 'worker' | 'address';
    adaptive?: boolean;
  };
  const replicas = o.replicas;
  const agree = o.agree ?? Math.floor(replicas / 2) + 1;
  const maxReplicas = o.maxReplicas ?? Math.min(MAX_REPLICAS, replicas + 2);
  if (agree > replicas) return `quorum.agree (${agree}) cannot exceed quorum.replicas (${replicas})`;
  if (maxReplicas < replicas) return `quorum.maxReplicas (${maxReplicas}) cannot be below quorum.replicas (${replicas})`;
  return {
    replicas,
    agree,
    maxReplicas,
    tolerance: o.compare?.tolerance ?? null,
    distinct: o.distinct ?? 'worker',
    adaptive: o.adaptive ?? false,
    points: points ?? 1,
  };
}
