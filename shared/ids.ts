/** Id generation: time-ordered public ids, so SQLite's unique index grows at its right edge. */
import { randomFillSync } from 'node:crypto';
import { customAlphabet } from 'nanoid';

// Lower-case base36 sorts the same as a string and as a number.
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
const SUFFIX_CHARS = 8;
const TIME_CHARS = 9;
const urlSafe = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 32);

/** Random bytes, refilled in blocks (as nanoid does): one system call per few hundred ids. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
/** Where an id is assembled; prefixes are short (`t_`, `j_`, …). */
const scratch = Buffer.alloc(64);
let timeOf = -1;
let timeChars = '';

/**
 * A public id: prefix, 9 base36 digits of the millisecond clock, 8 random characters.
 * Ids made later sort after ids made earlier (to the millisecond).
 *
 * Assembled in a buffer and read out as one flat string: a template literal of the three parts made
 * a string of three heap objects (~97 bytes; V8 concatenates lazily), which a big submission keeps
 * alive for every task until it is acknowledged (more for the young-generation GC to copy).
 */
export function newTimeOrderedId(prefix: string): string {
  const now = Date.now();
  if (now !== timeOf) {
    timeOf = now;
    timeChars = now.toString(36).padStart(TIME_CHARS, '0');
  }
  let n = scratch.write(prefix, 0, 'latin1');
  n += scratch.write(timeChars, n, 'latin1');
  for (const end = n + SUFFIX_CHARS; n < end; ) {
    if (poolAt === pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    // 6 random bits, values 36-63 refused: each base36 character equally likely.
    const v = pool[poolAt++] & 63;
    if (v < 36) scratch[n++] = BASE36.charCodeAt(v);
  }
  return scratch.toString('latin1', 0, n);
}

/** An unguessable secret (tokens, session tokens): 32 characters, ~190 bits. */
export function newSecret(): string {
  return urlSafe();
}
