/**
 * The store the tests run on, chosen by one switch: `POSTBODE_TEST_STORE=postgresql` runs the engine
 * suites on PostgreSQL (`npm run test:pg`); unset or `sqlite`, they run on the embedded SQLite store.
 * Every harness and test that opens a store goes through this file.
 *
 * - On PostgreSQL each data dir stands for one fresh schema of the test database (harness/postgres.ts)
 *   for as long as the test file runs: a store reopened, or a server restarted, on the same data dir
 *   finds its mail again. The schemas are dropped after the file's last test (in-process stores still
 *   open are closed first). On SQLite the data dir holds the database, as in production.
 * - In-process stores: `openTestStore`. Server processes and CLI runs: `storeArgs` (`--store URL` on
 *   PostgreSQL, nothing on SQLite).
 * - On PostgreSQL an unreachable server is a failure, never a silent fall-back to SQLite.
 * - `storeSql` runs one statement on a data dir's store past the server (both backends have the same
 *   tables and columns where tests look), for fixtures a migration would leave, and for checks.
 * - `sqliteOnly(reason)` is the skip value of tests that are about SQLite itself (the database file,
 *   group commit, disk full, backup); it says why in the skip message.
 */
import path from 'node:path';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type OpenStoreOptions, openStore, SQLITE_FILE_NAME } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { PG_TEST_URL, type PgTestSchema, pgAvailable, pgTestSchema } from './postgres.js';

function chosenBackend(): 'sqlite' | 'postgresql' {
  const value = (process.env.POSTBODE_TEST_STORE ?? '').trim().toLowerCase();
  if (value === '' || value === 'sqlite') return 'sqlite';
  if (value === 'postgresql' || value === 'postgres') return 'postgresql';
  throw new Error(`POSTBODE_TEST_STORE="${value}": expected sqlite (the default) or postgresql`);
}

/** The backend of this test run. */
export const TEST_STORE = chosenBackend();
export const onPostgres = TEST_STORE === 'postgresql';

async function requirePg(): Promise<void> {
  if (!(await pgAvailable())) {
    throw new Error(`POSTBODE_TEST_STORE=postgresql but PostgreSQL is not reachable at ${new URL(PG_TEST_URL).host}`);
  }
}
// The test database exists before any server or CLI run is handed a schema of it (runCli is synchronous).
if (onPostgres) await requirePg();

/** Each data dir's PostgreSQL schema, for as long as the test file runs. */
const schemas = new Map<string, PgTestSchema>();
/** The in-process stores opened on PostgreSQL, closed (if the test did not) before their schemas go. */
const opened = new Set<Store>();
if (onPostgres) {
  after(async () => {
    for (const store of opened) await store.close();
    for (const schema of schemas.values()) await schema.drop();
    schemas.clear();
  });
}

function schemaOf(dataDir: string): PgTestSchema {
  const key = path.resolve(dataDir);
  let schema = schemas.get(key);
  if (!schema) {
    schema = pgTestSchema('t');
    schemas.set(key, schema);
  }
  return schema;
}

/**
 * Opens the test store of `opts.dataDir` (see the header): SQLite in the data dir, or the data dir's
 * PostgreSQL schema (the same one when the data dir is opened again). `opts.url` is ignored: the
 * switch chooses.
 */
export async function openTestStore(opts: OpenStoreOptions): Promise<Store> {
  if (!onPostgres) return openStore({ ...opts, url: undefined });
  const store = await openStore({ ...opts, url: schemaOf(opts.dataDir).url, node: opts.node ?? 'test' });
  opened.add(store);
  return store;
}

/**
 * The arguments that put a server or CLI run on `dataDir` onto the test store: none on SQLite,
 * `--store URL` of the data dir's schema on PostgreSQL.
 */
export function storeArgs(dataDir: string): string[] {
  return onPostgres ? ['--store', schemaOf(dataDir).url] : [];
}

/**
 * Runs one statement (`$1`… parameters) on the store of `dataDir` (the SQLite file, or the data dir's
 * PostgreSQL schema) and returns its rows.
 */
export async function storeSql<T = Record<string, unknown>>(
  dataDir: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  if (!onPostgres) {
    const db = new Database(path.join(dataDir, SQLITE_FILE_NAME));
    try {
      // `$n` as the named parameter `@pn`.
      const statement = db.prepare(text.replace(/\$(\d+)/g, '@p$1'));
      const named = Object.fromEntries(params.map((value, i) => [`p${i + 1}`, value]));
      const args = params.length > 0 ? [named] : [];
      if (statement.reader) return statement.all(...args) as T[];
      statement.run(...args);
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: PG_TEST_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schemaOf(dataDir).schema}"`);
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The skip value for a test about SQLite itself: the reason on PostgreSQL, else false. */
export function sqliteOnly(reason: string): string | false {
  return onPostgres ? `SQLite only (POSTBODE_TEST_STORE=postgresql): ${reason}` : false;
}
