/**
 * PostgreSQL for tests: each test gets its own schema in the database `postbode_test` on the server
 * named by POSTBODE_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postbode_test), created
 * when missing and dropped by `drop()`.
 *
 * - The test database's commits skip the WAL flush wait (`synchronous_commit = off`, set once).
 * - `pgAvailable()` says whether the server answers; tests skip with a clear message only when it does
 *   not. In CI (`CI` set, as .ci/run does) a missing server is a failure, never a skip.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_TEST_URL = process.env.POSTBODE_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/postbode_test';

let available: Promise<boolean> | null = null;

async function ensureDatabase(): Promise<boolean> {
  const url = new URL(PG_TEST_URL);
  const database = url.pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${admin.host} (CI needs it)`, { cause: error });
    return false;
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
      } catch (error) {
        // Another test process created it meanwhile.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
    // Test data needs no durability against a crash of the PostgreSQL server itself: its commits do not
    // wait for the WAL flush (visibility, isolation and a killed postbode are unchanged), which makes
    // the suites' many small transactions several times faster on a slow disk.
    const set = await client.query(
      `SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
        WHERE d.datname = $1 AND s.setrole = 0 AND 'synchronous_commit=off' = ANY (s.setconfig)`,
      [database],
    );
    if (set.rowCount === 0) {
      try {
        await client.query(`ALTER DATABASE "${database.replaceAll('"', '""')}" SET synchronous_commit = off`);
      } catch {
        // Another test process set it meanwhile (a concurrent update of the same setting row).
      }
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Whether the test PostgreSQL answers (see the header). */
export function pgAvailable(): Promise<boolean> {
  available ??= ensureDatabase();
  return available;
}

/** The reason to skip a PostgreSQL test, or false when the server is there. */
export async function pgSkip(): Promise<string | false> {
  return (await pgAvailable())
    ? false
    : `PostgreSQL not reachable at ${new URL(PG_TEST_URL).host}: set POSTBODE_TEST_PG`;
}

export interface PgTestSchema {
  /** The store url with `?schema=` of this test's schema. */
  url: string;
  schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** A fresh schema name and its url; the store creates the schema when it opens. */
export function pgTestSchema(label = 't'): PgTestSchema {
  const schema = `${label}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const url = new URL(PG_TEST_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: PG_TEST_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
