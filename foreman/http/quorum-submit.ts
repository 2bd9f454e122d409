/** Submission through the quorum room, with its input errors answered as 400s naming the field. */
import type { FastifyReply } from 'fastify';
import { QuorumInputError } from '../quorum/quorum.js';
import { apiError } from './context.js';

/**
 * Runs `submit`; a QuorumInputError becomes a 400 `INVALID_REQUEST` (sent on `reply`) and an empty result.
 * @param field rewrites the field name for the route's body shape.
 */
export async function submitWithQuorum(reply: FastifyReply, submit: () => Promise<string[]>, field: (f: string) => string = (f) => f): Promise<string[]> {
  try {
    return await submit();
  } catch (err) {
    if (!(err instanceof QuorumInputError)) throw err;
    reply.code(400).send(apiError(400, 'INVALID_REQUEST', err.message, field(err.field)));
    return [];
  }
}
