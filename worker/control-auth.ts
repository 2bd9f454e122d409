/**
 * The check behind the status server's `POST /restart` off loopback:
 * `Authorization: Bearer <control token>`, compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Whether an Authorization header carries `token` as a bearer token.
 * Both sides are hashed before comparing, so neither where they differ nor the token's length shows in the timing.
 * Always false when no token is configured.
 */
export function bearerMatches(header: string | undefined, token: string | null): boolean {
  if (token === null || token === '' || typeof header !== 'string') return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m !== null && timingSafeEqual(sha256(m[1]), sha256(token));
}
