/**
 * Opens the configured store backend: the one place a backend is chosen, by the scheme of
 * `store.url`. Only composition roots import this file (src/server/, src/cli/, tests and benches that
 * stand in for them); everything else gets a `Store` handed to it (test/layers.test.ts checks that).
 *
 * Invariants:
 * - Callers get a `Store` and nothing backend-specific.
 * - An empty url is the embedded SQLite database `<dataDir>/postbode.db`; its directory is created when
 *   missing, mode 0700 (the database file itself is created 0600 by sqlite/db.ts). `sqlite:PATH` (or `sqlite://PATH`) names another file; a relative PATH is resolved against
 *   the current directory, as `data_dir` is.
 * - `postgresql://USER@HOST:PORT/DB` (or `postgres://`) is the PostgreSQL backend (postgres/), for
 *   several nodes over one database; `?schema=NAME` puts postbode's tables in that schema (default
 *   `public`). `node` names this process among them (default the host name).
 * - Any other scheme is refused with a `StoreUrlError` that names the supported ones; a backend is
 *   added as one more case of the switch in `openStore`. A database server that cannot be reached (or
 *   refuses the login) is a `StoreUnavailableError` naming the url without its password.
 * - `postbode backup`/`restore` reach the backend's copy and check of the database through
 *   `snapshotStore` and `inspectSnapshot` (SQLite: the online backup API, sqlite/backup.ts).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { SpaceReserve } from './space.js';
import {
  inspectSqliteSnapshot,
  type SnapshotFacts,
  type SnapshotInspection,
  SQLITE_SCHEMA_VERSION,
  snapshotSqlite,
} from './sqlite/backup.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** `store.url`: empty or absent for `<dataDir>/postbode.db`, else `scheme:...` (see the header). */
  url?: string;
  /** Directory for the embedded database and other local state (the reserve). */
  dataDir: string;
  /**
   * The storage reserve (space.ts); the server passes one it created. Without it, a reserve of 0
   * bytes on the same file: never created, but released when a write finds the disk full.
   */
  reserve?: SpaceReserve;
  /** The quota of accounts without their own, in bytes; 0, null or absent: none. */
  defaultQuotaBytes?: number | null;
  /** PostgreSQL: this node's name (`store.node`, `--node`; default the host name). */
  node?: string;
  /** PostgreSQL: connections in the pool (`store.pool_size`). */
  poolSize?: number;
  /** PostgreSQL: register this process as a node with heartbeats (the server; not the CLI). */
  registerNode?: boolean;
  /** PostgreSQL: problems of the dedicated connections (LISTEN, locks), for the log. */
  onError?: (error: unknown) => void;
}

export const SQLITE_FILE_NAME = 'postbode.db';

/** The url names no backend this build has; the message says which exist. */
export class StoreUrlError extends Error {
  override name = 'StoreUrlError';
}

/** A database server (PostgreSQL) could not be reached or refused the login; the message names it. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** Where a store url points: the backend and what it needs to open it. */
export type StoreLocation = { backend: 'sqlite'; file: string } | { backend: 'postgresql'; url: string };

const SUPPORTED =
  'sqlite:PATH (or an empty store.url for <data_dir>/postbode.db), postgresql://USER@HOST:PORT/DATABASE';

/** Parses `store.url` (see the header); throws StoreUrlError for a scheme without a backend. */
export function storeLocation(url: string | undefined, dataDir: string): StoreLocation {
  const value = (url ?? '').trim();
  if (value === '') return { backend: 'sqlite', file: path.join(dataDir, SQLITE_FILE_NAME) };
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(value);
  // A Windows drive letter (`C:\...`) is not a scheme; a bare path is not a url either.
  if (!m || m[1].length === 1) {
    throw new StoreUrlError(`store.url "${value}" has no scheme; supported: ${SUPPORTED}`);
  }
  const scheme = m[1].toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      const file = m[2].startsWith('//') ? m[2].slice(2) : m[2];
      if (file === '') throw new StoreUrlError(`store.url "${value}" names no file; e.g. sqlite:./data/postbode.db`);
      return { backend: 'sqlite', file: path.resolve(file) };
    }
    case 'postgres':
    case 'postgresql': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new StoreUrlError(
          `store.url "${value}" is not a valid URL; e.g. postgresql://postbode@127.0.0.1:5432/mail`,
        );
      }
      if (url.hostname === '' || url.pathname.length <= 1) {
        throw new StoreUrlError(
          `store.url "${value}" needs a host and a database name; e.g. postgresql://postbode@127.0.0.1:5432/mail`,
        );
      }
      return { backend: 'postgresql', url: value };
    }
    default:
      throw new StoreUrlError(`store.url scheme "${scheme}:" is not supported; supported: ${SUPPORTED}`);
  }
}

/** The database file of an embedded store, or null for a database server (PostgreSQL). */
export function databaseFile(location: StoreLocation): string | null {
  return location.backend === 'sqlite' ? location.file : null;
}

/** Where the store is, for messages: the file, or the url without its password. */
export function describeLocation(location: StoreLocation): string {
  if (location.backend === 'sqlite') return location.file;
  const url = new URL(location.url);
  if (url.password) url.password = '***';
  return url.toString();
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const location = storeLocation(opts.url, opts.dataDir);
  switch (location.backend) {
    case 'sqlite': {
      await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
      await mkdir(path.dirname(location.file), { recursive: true, mode: 0o700 });
      // Each backend is loaded when chosen: a process never loads the one it does not use.
      const { openSqliteStore } = await import('./sqlite/index.js');
      return openSqliteStore({
        path: location.file,
        space: opts.reserve ?? new SpaceReserve({ dataDir: opts.dataDir, bytes: 0 }),
        defaultQuotaBytes: opts.defaultQuotaBytes || null,
      });
    }
    case 'postgresql': {
      const { openPgStore } = await import('./postgres/index.js');
      try {
        return await openPgStore({
          url: location.url,
          node: opts.node,
          poolSize: opts.poolSize,
          defaultQuotaBytes: opts.defaultQuotaBytes || null,
          registerNode: opts.registerNode,
          onError: opts.onError,
        });
      } catch (error) {
        throw new StoreUnavailableError(
          `cannot open the PostgreSQL store ${describeLocation(location)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }
}

export type { SnapshotCounts, SnapshotFacts, SnapshotInspection } from './sqlite/backup.js';

/** The schema version of the embedded database this build writes (a snapshot newer than it is refused). */
export const STORE_SCHEMA_VERSION = SQLITE_SCHEMA_VERSION;

/**
 * Writes a consistent copy of the store's database to `destination` (a new file), also while a server
 * writes to it; never creates a database. Throws StoreUrlError for a url without a backend.
 */
export async function snapshotStore(
  opts: { url?: string; dataDir: string },
  destination: string,
): Promise<SnapshotFacts & { source: string }> {
  const location = storeLocation(opts.url, opts.dataDir);
  switch (location.backend) {
    case 'sqlite':
      return { ...(await snapshotSqlite(location.file, destination)), source: location.file };
    case 'postgresql':
      throw new StoreUrlError(
        'postbode backup copies the embedded SQLite database; back up a PostgreSQL store with pg_dump (docs/operations.md, "Several nodes")',
      );
  }
}

/** Checks a database copy made by `snapshotStore` (integrity, schema version, counts); changes nothing. */
export function inspectSnapshot(file: string): SnapshotInspection {
  return inspectSqliteSnapshot(file);
}
