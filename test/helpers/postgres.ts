/**
 * PostgreSQL for tests: `test/setup/full-run.sh` starts a throwaway cluster and sets
 * GAFFER_TEST_PG_URL; each test file makes databases of its own with `createTestDatabase()`.
 * Without the variable, PostgreSQL tests are skipped with one line saying how to run them,
 * except under CI, where a missing server is a failure.
 */
import pg from 'pg';
import { nanoid } from 'nanoid';

/** The admin URL of the test cluster, or undefined when none was started. */
export const TEST_PG_URL = process.env.GAFFER_TEST_PG_URL;

if (!TEST_PG_URL && process.env.CI) throw new Error('GAFFER_TEST_PG_URL is not set: CI must run the tests through test/setup/full-run.sh');

/** Whether PostgreSQL tests can run here; prints how to enable them when not. */
export function postgresAvailable(): boolean {
  if (!TEST_PG_URL) console.warn('PostgreSQL tests skipped: run `npm run test:full` (starts a throwaway cluster) or set GAFFER_TEST_PG_URL');
  return TEST_PG_URL !== undefined;
}

/** Creates an empty database on the test cluster and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  if (!TEST_PG_URL) throw new Error('GAFFER_TEST_PG_URL is not set');
  const name = `gaffer_${nanoid(10).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
