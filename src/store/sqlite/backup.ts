/**
 * A consistent copy of the SQLite database while servers keep writing to it (`postbode backup`), and
 * the checks of such a copy before it is restored.
 *
 * Invariants:
 * - The copy uses SQLite's online backup API (https://sqlite.org/backup.html) from a connection of its
 *   own. Pages are copied in one step, i.e. inside one read transaction: in WAL mode a reader never
 *   blocks the server's writers (they append to the WAL meanwhile), and a single step cannot be
 *   restarted by their commits, which would happen between smaller steps taken from another connection.
 * - The source is never created nor migrated; the copy is switched to the rollback journal
 *   (`journal_mode=DELETE`), so it is one self-contained file. A server opening it switches it to WAL.
 * - `inspectSqliteSnapshot` opens a file read-only and changes nothing.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from './schema.js';

/** What a snapshot holds: the figures a backup's manifest records and a restore checks. */
export interface SnapshotFacts {
  schemaVersion: number;
  counts: SnapshotCounts;
}

export interface SnapshotCounts {
  domains: number;
  accounts: number;
  aliases: number;
  mailboxes: number;
  messages: number;
  queue: number;
}

/** The inspection of a snapshot: its facts and the problems `PRAGMA integrity_check` found (none: []). */
export interface SnapshotInspection extends SnapshotFacts {
  problems: string[];
}

/** The schema version this build migrates databases to. */
export const SQLITE_SCHEMA_VERSION = SCHEMA_VERSION;

/** Copies `source` (an existing database) to `destination` (which must not exist). */
export async function snapshotSqlite(source: string, destination: string): Promise<SnapshotFacts> {
  if (!existsSync(source)) throw new Error(`no database at ${source}`);
  if (existsSync(destination)) throw new Error(`${destination} exists already`);
  const db = new Database(source, { fileMustExist: true, timeout: 5000 });
  try {
    db.pragma('busy_timeout = 5000');
    // 0x7fffffff pages: everything in the step after the first (see the header).
    await db.backup(destination, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  const copy = new Database(destination, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    return facts(copy);
  } finally {
    copy.close();
  }
}

/** Reads a snapshot's facts and checks its integrity, without changing it. */
export function inspectSqliteSnapshot(file: string): SnapshotInspection {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (problems.length > 0) return { schemaVersion: -1, counts: emptyCounts(), problems };
    return { ...facts(db), problems };
  } catch (error) {
    // Not a database at all ("file is not a database") is a problem of the snapshot, not a crash.
    return { schemaVersion: -1, counts: emptyCounts(), problems: [(error as Error).message] };
  } finally {
    db.close();
  }
}

function emptyCounts(): SnapshotCounts {
  return { domains: 0, accounts: 0, aliases: 0, mailboxes: 0, messages: 0, queue: 0 };
}

function facts(db: Database.Database): SnapshotFacts {
  const schemaVersion = db.pragma('user_version', { simple: true }) as number;
  const counts = db
    .prepare(
      `SELECT (SELECT count(*) FROM domains) AS domains, (SELECT count(*) FROM accounts) AS accounts,
         (SELECT count(*) FROM aliases) AS aliases, (SELECT count(*) FROM mailboxes) AS mailboxes,
         (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM queue) AS queue`,
    )
    .get() as SnapshotCounts;
  return { schemaVersion, counts };
}
