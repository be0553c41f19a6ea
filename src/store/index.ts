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
import { SpaceReserve } from './space.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** Directory for the embedded database (and, later, other local state). */
  dataDir: string;
  /**
   * The storage reserve (space.ts); the server passes one it created. Without it, a reserve of 0
   * bytes on the same file: never created, but released when a write finds the disk full.
   */
  reserve?: SpaceReserve;
  /** The quota of accounts without their own, in bytes; 0, null or absent: none. */
  defaultQuotaBytes?: number | null;
}

export const SQLITE_FILE_NAME = 'postbode.db';

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  // Seam: when a PostgreSQL URL is configured, return openPostgresStore({ url }) here instead.
  await mkdir(opts.dataDir, { recursive: true });
  return openSqliteStore({
    path: path.join(opts.dataDir, SQLITE_FILE_NAME),
    space: opts.reserve ?? new SpaceReserve({ dataDir: opts.dataDir, bytes: 0 }),
    defaultQuotaBytes: opts.defaultQuotaBytes || null,
  });
}

export * from './types.js';
