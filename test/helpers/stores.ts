/**
 * Behavioural tests run against both stores: `describe.each(STORES)` and start foremen with
 * `storeArgs(store)`. PostgreSQL is in the list only when a test cluster is available (see postgres.ts).
 */
import { createTestDatabase, postgresAvailable } from './postgres.js';

export type StoreKind = 'sqlite' | 'postgres';

export const STORES: StoreKind[] = postgresAvailable() ? ['sqlite', 'postgres'] : ['sqlite'];

/** Foreman flags selecting the store: none for SQLite (startForeman makes a fresh file), a fresh database for PostgreSQL. */
export async function storeArgs(store: StoreKind): Promise<string[]> {
  return store === 'postgres' ? ['--store', await createTestDatabase()] : [];
}
