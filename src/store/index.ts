/**
 * Opens the configured store backend. This is the seam where backends are chosen: today only the
 * embedded SQLite backend exists; PostgreSQL (src/store/postgres/) will be selected here by an option
 * (e.g. a `url`) without any caller changing.
 *
 * Invariants:
 * - Callers get a `Store` and nothing backend-specific.
 * - The SQLite database lives at `<dataDir>/postbode.db`; the directory is created when missing.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** Directory for the embedded database (and, later, other local state). */
  dataDir: string;
}

export const SQLITE_FILE_NAME = 'postbode.db';

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  // Seam: when a PostgreSQL URL is configured, return openPostgresStore({ url }) here instead.
  await mkdir(opts.dataDir, { recursive: true });
  return openSqliteStore({ path: path.join(opts.dataDir, SQLITE_FILE_NAME) });
}

export * from './types.js';
