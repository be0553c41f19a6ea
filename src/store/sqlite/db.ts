/**
 * The SQLite connection and what every part of the backend shares: the prepared-statement cache, the
 * group committer and the change bus.
 *
 * Invariants:
 * - One connection per store instance, opened with WAL, foreign_keys=ON and busy_timeout=5000 (another
 *   process, e.g. the CLI, may hold the write lock). A write is durable before its promise resolves:
 *   the store's connection commits at synchronous=NORMAL and the group committer then fdatasyncs the
 *   -wal file on libuv's thread pool (`WalFile`), so the event loop keeps serving clients during the
 *   flush (writer.ts). Other connections (`openDatabase` alone) stay at synchronous=FULL. SQLite itself
 *   syncs the WAL before a checkpoint and the database after one in both modes.
 * - Reads run directly on the connection and see every committed write of any process; nothing that
 *   another process may change (accounts, domains, aliases, mailboxes) is cached in memory.
 * - Writes go only through `write()` (see writer.ts). Each write job ends by deleting blobs it left
 *   without a reference, up to a bound; more are left to a background sweep (orphans.ts).
 * - Statements are prepared once per SQL text and reused.
 * - A database file this module creates is mode 0600 (its -wal and -shm follow it).
 */
import { closeSync, existsSync, fdatasync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { ChangeBus } from '../changes.js';
import type { SpaceGuard } from '../space.js';
import { INLINE_SWEEP, OrphanSweeper, sweepOrphans } from './orphans.js';
import { migrate } from './schema.js';
import { ESSENTIAL, GroupCommitter, type WriteJob, type WriteOptions } from './writer.js';

export class SqliteContext {
  readonly db: Database.Database;
  readonly bus: ChangeBus;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #plucked = new Map<string, Database.Statement>();
  readonly #writer: GroupCommitter;
  readonly #wal: WalFile;
  readonly #sweeper: OrphanSweeper;
  /** Whether the body search index (search.ts) exists. */
  searchIndex = false;
  /** Whether new blobs are indexed in the write that stores them (else they wait, pending). */
  indexAtWrite = false;

  constructor(db: Database.Database, bus: ChangeBus, guard?: SpaceGuard) {
    this.db = db;
    this.bus = bus;
    this.#wal = new WalFile(`${db.name}-wal`);
    const wal = !db.memory && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    if (wal) db.pragma('synchronous = NORMAL');
    this.#writer = new GroupCommitter(
      db,
      (changes) => {
        for (const change of changes) bus.publish(change);
      },
      guard,
      wal ? () => this.#wal.sync() : undefined,
    );
    this.#sweeper = new OrphanSweeper(this, (job) => this.#writer.run(job, ESSENTIAL));
    // Orphans left by a process that stopped before sweeping them (a CLI command, a crash).
    if (this.pluck('SELECT EXISTS (SELECT 1 FROM blob_orphans)').get()) this.#sweeper.wake();
  }

  /** The prepared statement for `text`, prepared on first use. */
  sql(text: string): Database.Statement {
    let stmt = this.#statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.#statements.set(text, stmt);
    }
    return stmt;
  }

  /** Like `sql`, but the statement returns the first column only (a separate cache: pluck is a mode). */
  pluck(text: string): Database.Statement {
    let stmt = this.#plucked.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text).pluck();
      this.#plucked.set(text, stmt);
    }
    return stmt;
  }

  /** Runs a write job in the next group commit (`essential`: it may use the storage reserve, writer.ts). */
  write<T>(job: WriteJob<T>, opts?: WriteOptions): Promise<T> {
    return this.#writer.run((tx) => {
      const value = job(tx);
      if (sweepOrphans(this, INLINE_SWEEP) === INLINE_SWEEP) this.#sweeper.wake();
      return value;
    }, opts);
  }

  /** Commits what is pending, waits until it is durable, and closes the connection. */
  async close(): Promise<void> {
    await this.#sweeper.close();
    this.#writer.close();
    await this.#writer.settled();
    this.#statements.clear();
    this.#plucked.clear();
    this.db.close();
    this.#wal.close();
  }
}

/**
 * Makes every committed WAL frame durable: fdatasync of the -wal file on the thread pool, through one
 * descriptor opened at the first sync and kept until the connection closes (opening and closing it
 * for each sync cost two more system calls and a promise-based FileHandle per commit). The descriptor
 * stays valid: while this connection is open SQLite keeps the -wal file (it truncates or rewrites it
 * from the start after a checkpoint, the same file), and deletes it only when the last connection
 * closes. A missing -wal at the first sync means nothing was written yet: nothing to sync.
 */
export class WalFile {
  readonly #path: string;
  #fd: number | null = null;

  constructor(path: string) {
    this.#path = path;
  }

  sync(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#fd === null) {
        try {
          this.#fd = openSync(this.#path, 'r');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') resolve();
          else reject(error);
          return;
        }
      }
      fdatasync(this.#fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

export function openDatabase(path: string): Database.Database {
  // Password hashes and sealed APOP secrets: a new database is readable by its owner only. SQLite
  // creates the -wal and -shm files with the mode of the database file.
  if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path, { timeout: 5000 });
  try {
    db.pragma('busy_timeout = 5000');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal' && path !== ':memory:') {
      throw new Error(`could not switch ${path} to WAL mode (got ${String(mode)})`);
    }
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
