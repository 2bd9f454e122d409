/**
 * Params shared by a job's tasks (`POST /jobs {params, tasks}`): stored once,
 * on the job, and merged under each task's own params when it is assigned, so
 * a million tasks of one function carry their `args` but not a million copies
 * of its `source`. A task's own field wins over the job's field of the same name.
 */
import type { TaskInput } from './task-types.js';

/** Whether `v` is a plain object (params that can be merged). */
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);

/** The params a worker receives: the job's shared ones under the task's own. */
export function mergeJobParams(shared: Record<string, unknown> | null | undefined, own: unknown): unknown {
  if (!shared) return own;
  if (own === null || own === undefined) return shared;
  return isObject(own) ? { ...shared, ...own } : own;
}

/** Checks that tasks of a job with shared params have object params (or none); returns the field of the first that does not. */
export function checkMergeable(tasks: readonly TaskInput[], prefix: string): string | null {
  for (let i = 0; i < tasks.length; i++) {
    const p = tasks[i].params;
    if (p !== undefined && p !== null && !isObject(p)) return `${prefix}/${i}/params`;
  }
  return null;
}
