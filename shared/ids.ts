/** Id generation: time-ordered public ids, so SQLite's unique index grows at its right edge. */
import { customAlphabet } from 'nanoid';

// Lower-case base36 sorts the same as a string and as a number.
const randomSuffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 8);
const urlSafe = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 32);

/**
 * A public id: prefix, 9 base36 digits of the millisecond clock, 8 random characters.
 * Ids made later sort after ids made earlier (to the millisecond).
 */
export function newTimeOrderedId(prefix: string): string {
  return `${prefix}${Date.now().toString(36).padStart(9, '0')}${randomSuffix()}`;
}

/** An unguessable secret (tokens, session tokens): 32 characters, ~190 bits. */
export function newSecret(): string {
  return urlSafe();
}
