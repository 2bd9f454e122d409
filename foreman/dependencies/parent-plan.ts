/**
 * Resolving the parents a submission names (foreman/dependencies/): `dependsOn` names existing tasks
 * by id; `dependsOnKeys` names tasks of the same job by idempotency key, either an earlier task of the
 * same submission or one already submitted into the job. Either way a parent exists before its child
 * (or comes before it in one atomic submission), so no cycle can form.
 */
import { newTimeOrderedId } from '../../shared/ids.js';
import { LedgerError } from '../ledger-error.js';
import type { StoreReads, TaskLedger } from '../ledger.js';
import type { TaskInput } from '../task-types.js';

/** Most parents one task may name, by id and by key together. */
export const MAX_PARENTS = 1000;

/** Whether an input names parents. */
export const isDependent = (t: TaskInput): boolean => (t.dependsOn?.length ?? 0) > 0 || (t.dependsOnKeys?.length ?? 0) > 0;

export interface ParentPlan {
  /** Ids made in advance, by input index: every dependent input's, and every input's named as a parent by key. */
  ids: Array<string | undefined>;
  /** Each dependent input's parents, by input index: a task id, or the index of an earlier input of this submission. */
  children: Map<number, Array<string | number>>;
}

/**
 * Checks and resolves every input's parents.
 * @param jobId the job the inputs go into; `dependsOnKeys` names only tasks of it.
 * @throws LedgerError INVALID_REQUEST naming the field (`…/dependsOn/N`, `…/dependsOnKeys/N`).
 */
export async function planParents(
  inputs: readonly TaskInput[],
  fieldOf: (i: number, name: string) => string,
  jobId: string | null,
  deps: { reads: Pick<StoreReads, 'getTask'>; tasks: Pick<TaskLedger, 'findTaskByKey'> },
): Promise<ParentPlan> {
  const ids: Array<string | undefined> = new Array(inputs.length);
  const children = new Map<number, Array<string | number>>();
  /** The first input of this submission with each key, as far as the loop has come. */
  const earlier = new Map<string, number>();
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    if (isDependent(input)) {
      const field = fieldOf(i, input.dependsOn ? 'dependsOn' : 'dependsOnKeys');
      if (input.quorum !== undefined) throw new LedgerError(400, 'INVALID_REQUEST', 'a quorum task cannot have dependsOn yet', field);
      const parents: Array<string | number> = [];
      const byId = input.dependsOn ?? [];
      for (let k = 0; k < byId.length; k++) {
        if (!(await deps.reads.getTask(byId[k]))) {
          throw new LedgerError(400, 'INVALID_REQUEST', `no task ${byId[k]} (parents must exist first)`, `${fieldOf(i, 'dependsOn')}/${k}`);
        }
        parents.push(byId[k]);
      }
      const byKey = input.dependsOnKeys ?? [];
      for (let k = 0; k < byKey.length; k++) {
        const j = earlier.get(byKey[k]);
        if (j !== undefined) {
          // Made with this submission: its id is made now, so that the edge can be written before it.
          ids[j] ??= newTimeOrderedId('t_');
          parents.push(j);
          continue;
        }
        const id = jobId === null ? null : await deps.tasks.findTaskByKey(byKey[k]);
        const row = id ? await deps.reads.getTask(id) : null;
        if (!row || row.jobId !== jobId) {
          throw new LedgerError(400, 'INVALID_REQUEST', `no task with key ${JSON.stringify(byKey[k])} in this job before it (parents must exist first)`, `${fieldOf(i, 'dependsOnKeys')}/${k}`);
        }
        parents.push(row.id);
      }
      const unique = [...new Set(parents)];
      if (unique.length > MAX_PARENTS) throw new LedgerError(400, 'INVALID_REQUEST', `at most ${MAX_PARENTS} parents, by id and by key together`, field);
      ids[i] = newTimeOrderedId('t_');
      children.set(i, unique);
    }
    // After its own parents: a task cannot name itself.
    if (input.key !== undefined && !earlier.has(input.key)) earlier.set(input.key, i);
  }
  return { ids, children };
}
