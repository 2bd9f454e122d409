/** Small helpers over the foreman API for tests. */
import type { ApiClient } from '../../client/api-client.js';
import { waitFor } from './wait-for.js';

export async function submit(api: ApiClient, task: Record<string, unknown>): Promise<string> {
  const { id } = await api.request('POST', '/tasks', task);
  return id as string;
}

export function getTask(api: ApiClient, id: string): Promise<any> {
  return api.request('GET', `/tasks/${id}`);
}

/** Waits until the task satisfies `pred` and returns it. */
export function waitForTask(api: ApiClient, id: string, pred: (t: any) => boolean, what: string, timeoutMs = 20_000): Promise<any> {
  return waitFor(async () => {
    const t = await getTask(api, id);
    return pred(t) && t;
  }, what, timeoutMs);
}

/** Resolves once GET /tasks/:id answers 404 (retention purged the task). */
export function waitForPurge(api: ApiClient, id: string, what: string): Promise<unknown> {
  return waitFor(async () => {
    try {
      await getTask(api, id);
      return false;
    } catch (err) {
      return (err as { status?: number }).status === 404;
    }
  }, what);
}

/** Waits until one of `ids` is queued and held back by `heldBy` (GET /tasks/:id), and returns it. */
export function waitForHeld(api: ApiClient, ids: string[], heldBy: string): Promise<any> {
  return waitFor(async () => {
    // The last submitted wait longest: asked first, so a slow machine still finds one before all have run.
    for (const id of [...ids].reverse()) {
      const t = await getTask(api, id);
      if (t.state === 'queued' && t.heldBy === heldBy) return t;
    }
    return null;
  }, `a task held by ${heldBy}`);
}

export const settled = (t: any) => ['succeeded', 'failed', 'cancelled'].includes(t.state);

/** POSTs a raw body (valid or not) and returns the status and parsed JSON reply. */
export async function postRaw(url: string, body: string, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, body: await res.json() };
}

/**
 * Resolves once the worker's own status lists task `id` as running. Stronger than the foreman's
 * `running`: on PostgreSQL a task shows running while its assignment is still being committed, and a
 * cancel in that window settles it before any handler starts.
 */
export function waitForHandler(statusUrl: string | null, id: string): Promise<unknown> {
  if (!statusUrl) throw new Error('the worker has no status server');
  return waitFor(async () => {
    const status = await fetch(statusUrl).then((r) => r.json());
    return status.tasks.some((t: { id: string }) => t.id === id);
  }, `handler of ${id} running`);
}
