/**
 * Ajv's errors (from a route's schema, or from the NDJSON parser checking each line) as the one
 * field and message Gaffer's error body carries.
 */
import { UNICODE_PATTERN } from './schemas.js';

export interface AjvError {
  instancePath: string;
  keyword: string;
  params?: { missingProperty?: string; additionalProperty?: string; pattern?: string };
  message?: string;
}

/** The field and message of one schema error. */
function describe(context: string, e: AjvError): { field: string; message: string } {
  const extra = e.params?.missingProperty ?? e.params?.additionalProperty;
  const field = `${context}${e.instancePath}${extra !== undefined ? `/${extra}` : ''}`;
  if (e.keyword === 'required') return { field, message: 'is required' };
  if (e.keyword === 'additionalProperties') return { field, message: 'is not a known field' };
  if (e.keyword === 'pattern' && e.params?.pattern === UNICODE_PATTERN) return { field, message: 'must be valid Unicode (no lone UTF-16 surrogates, no U+FFFD)' };
  return { field, message: e.message ?? 'is invalid' };
}

/**
 * A schema failure as one error naming its field, under `context` (`body`, `querystring`, `body/line 3`).
 * Under `anyOf` (a job body is an array or `{tasks}`) each branch reports its own failure; the deepest
 * one is the one the client meant (`body/tasks/1/type must be string`, not `body must be array`).
 */
export function schemaFailure(context: string, errors: readonly AjvError[]): { field: string; message: string } {
  let best: { field: string; message: string } | null = null;
  let bestDepth = -1;
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const d = describe(context, e);
    const depth = d.field.split('/').length;
    if (depth > bestDepth) [best, bestDepth] = [d, depth];
  }
  return best ?? { field: context, message: 'is invalid' };
}
