/**
 * Group commit: the one way to write to the SQLite database.
 *
 * Invariants:
 * - Every write is a synchronous job queued here. All jobs pending when the next `setImmediate` tick
 *   runs execute in ONE `BEGIN IMMEDIATE` transaction, in submission order, each inside its own
 *   SAVEPOINT: a job that throws is rolled back alone and only its promise rejects.
 * - A job's promise settles only after its write is durable: after COMMIT returned with
 *   `synchronous=FULL`, or, when the committer is given a `sync` (db.ts: the WAL fdatasynced on the
 *   thread pool, the connection at `synchronous=NORMAL`), after a `sync()` that started after its COMMIT
 *   has resolved. So N concurrent writes cost one fsync, and with `sync` the event loop serves clients
 *   while the disk flushes instead of waiting in COMMIT. One sync is in flight at a time, and jobs that
 *   arrive during it are not committed until it ends: then they all go in one transaction and the next
 *   sync. A job waits no longer for it (its sync could not start earlier anyway), and a busy server
 *   commits once per fsync instead of once per tick (a commit writes every page it touched to the WAL:
 *   one message per SMTP connection made ~2.5 commits per fsync before, each rewriting the same pages).
 * - If `sync` fails, the jobs it covered reject with its error (their rows are committed but not known
 *   to be durable: a caller answers with a temporary error, and a client that retries may store twice,
 *   never lose).
 * - If the transaction as a whole fails (BEGIN after busy_timeout, COMMIT, or an error after which
 *   SQLite rolled back on its own, such as a full disk), every job of the batch rejects with that error
 *   and none of their changes are published.
 * - Mailbox changes a job reports via `tx.publish` are handed to `onCommit` only after COMMIT (and the
 *   sync that made it durable), in commit order, and only for jobs whose savepoint was released.
 * - Jobs must be synchronous (better-sqlite3 refuses a transaction function that returns a promise).
 * - A full disk (space.ts `isOutOfSpaceError`) rejects with StoreFullError. It releases the storage
 *   reserve (the `SpaceGuard`), and the *essential* jobs that failed (deleting, moving, flag changes:
 *   what users need to make room) run once more, at once and alone, in the room the reserve left. While
 *   the reserve is spent, ordinary jobs are refused without being tried.
 * - A failed batch never leaves its transaction open (it is rolled back), so the next batch runs and
 *   writing resumes by itself when space returns.
 */
import type Database from 'better-sqlite3';
import { isOutOfSpaceError, type SpaceGuard } from '../space.js';
import { type MailboxChange, StoreFullError } from '../types.js';

export interface WriteTx {
  /** Reports a change to publish once the batch has committed. */
  publish(change: MailboxChange): void;
}

export type WriteJob<T> = (tx: WriteTx) => T;

export interface WriteOptions {
  /** The job frees space or is needed to (see the header): it may use the storage reserve. */
  essential?: boolean;
}

/** The options of an essential write (deleting, moving, flags, queue bookkeeping). */
export const ESSENTIAL: WriteOptions = { essential: true };

interface Pending {
  run: WriteJob<unknown>;
  essential: boolean;
  /** Already run again after the reserve was released. */
  retried: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const FULL_TEXT = 'the disk holding the mail store is full';

type Outcome = { ok: true; value: unknown; changes: MailboxChange[] } | { ok: false; error: unknown };

export class StoreClosedError extends Error {
  override name = 'StoreClosedError';
}

export interface GroupCommitStats {
  /** Transactions committed (or attempted). */
  batches: number;
  /** Jobs run in them. */
  jobs: number;
  /** Syncs run (with a `sync`; see the header). */
  syncs: number;
}

/** A committed batch waiting for the sync that makes it durable. */
interface Committed {
  jobs: Pending[];
  values: unknown[];
  changes: MailboxChange[];
}

export class GroupCommitter {
  /** Counters for observability and tests. */
  readonly stats: GroupCommitStats = { batches: 0, jobs: 0, syncs: 0 };
  readonly #db: Database.Database;
  readonly #onCommit: (changes: MailboxChange[]) => void;
  readonly #guard: SpaceGuard | undefined;
  readonly #sync: (() => Promise<void>) | undefined;
  #pending: Pending[] = [];
  #scheduled = false;
  #closed = false;
  /** Committed batches not yet covered by a sync, and the sync in flight. */
  #unsynced: Committed[] = [];
  #syncing: Promise<void> | null = null;
  readonly #batch: Database.Transaction<(jobs: Pending[], outcomes: Outcome[]) => void>;
  readonly #savepoint: Database.Transaction<(job: WriteJob<unknown>, tx: WriteTx) => unknown>;

  constructor(
    db: Database.Database,
    onCommit: (changes: MailboxChange[]) => void,
    guard?: SpaceGuard,
    sync?: () => Promise<void>,
  ) {
    this.#db = db;
    this.#onCommit = onCommit;
    this.#guard = guard;
    this.#sync = sync;
    // Called inside #batch, better-sqlite3 runs this as SAVEPOINT / RELEASE / ROLLBACK TO.
    this.#savepoint = db.transaction((job: WriteJob<unknown>, tx: WriteTx) => job(tx));
    this.#batch = db.transaction((jobs: Pending[], outcomes: Outcome[]) => {
      for (const job of jobs) {
        const changes: MailboxChange[] = [];
        const tx: WriteTx = { publish: (change) => changes.push(change) };
        try {
          outcomes.push({ ok: true, value: this.#savepoint(job.run, tx), changes });
        } catch (error) {
          // Some errors (SQLITE_FULL, IOERR, ...) make SQLite roll back the whole transaction; then the
          // jobs before this one are lost too, and continuing would run the rest in autocommit mode.
          if (!this.#db.inTransaction) throw error;
          outcomes.push({ ok: false, error });
        }
      }
    });
  }

  /** Queues a job for the next group commit; settles after the commit. */
  run<T>(job: WriteJob<T>, opts: WriteOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreClosedError('store is closed'));
    const essential = opts.essential === true;
    if (!essential && this.#guard?.holding) {
      return Promise.reject(new StoreFullError(`${FULL_TEXT}; only deletions are possible until space is freed`));
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run: job, essential, retried: false, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Runs all pending jobs in one transaction: now, or when the sync in flight ends (see the header);
   * `now` commits them even then (closing).
   */
  flush(now = false): void {
    this.#scheduled = false;
    const jobs = this.#pending;
    if (jobs.length === 0 || (this.#syncing !== null && !now)) return;
    this.#pending = [];
    try {
      this.#execute(jobs);
    } catch (error) {
      // A fault after the commit (a bug) must not take the server down with it: each job not settled
      // yet gets the error (a settled promise ignores it), and its caller answers with a temporary error.
      for (const job of jobs) job.reject(error);
    }
  }

  #execute(jobs: Pending[]): void {
    this.stats.batches++;
    this.stats.jobs += jobs.length;
    const outcomes: Outcome[] = [];
    let batchError: unknown = null;
    try {
      // Inside an open transaction better-sqlite3 would turn the batch into a savepoint and we would
      // acknowledge before anything is committed. Nothing should open one on this connection.
      if (this.#db.inTransaction) throw new Error('group commit must not run inside an open transaction');
      this.#batch.immediate(jobs, outcomes);
    } catch (error) {
      batchError = error;
      // Our own batch must not stay open (a ROLLBACK that failed, e.g. on a full disk): the next batch
      // would refuse to run and writing would never resume.
      if (this.#db.inTransaction && !(error instanceof Error && /open transaction/.test(error.message))) {
        try {
          this.#db.exec('ROLLBACK');
        } catch {
          // nothing more to do; the next batch reports it
        }
      }
    }
    const failed = (i: number): unknown =>
      batchError !== null ? batchError : outcomes[i].ok ? null : outcomes[i].error;
    // A full disk: free the reserve, and give the essential jobs that failed one more try, alone.
    const full = jobs.map((_, i) => isOutOfSpaceError(failed(i), this.#guard));
    const retry =
      full.some(Boolean) && this.#guard?.release() ? jobs.filter((j, i) => full[i] && j.essential && !j.retried) : [];
    const committed: Committed = { jobs: [], values: [], changes: [] };
    if (batchError === null) {
      // Not push(...changes): spreading one STORE 1:* of 130,000 messages overflowed the call stack.
      for (const outcome of outcomes) if (outcome.ok) for (const c of outcome.changes) committed.changes.push(c);
    }
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i];
      if (retry.includes(job)) continue;
      const error = failed(i);
      if (error === null) {
        committed.jobs.push(job);
        committed.values.push((outcomes[i] as { value: unknown }).value);
      } else job.reject(full[i] ? new StoreFullError(FULL_TEXT, { cause: error }) : error);
    }
    if (committed.jobs.length > 0 || committed.changes.length > 0) {
      if (this.#sync) {
        this.#unsynced.push(committed);
        this.#startSync();
      } else this.#settle(committed);
    }
    if (retry.length > 0) {
      for (const job of retry) job.retried = true;
      this.#execute(retry);
    }
  }

  /** Publishes a durable batch's changes and resolves its jobs. */
  #settle(batch: Committed): void {
    try {
      if (batch.changes.length > 0) this.#onCommit(batch.changes);
    } catch {
      // a subscriber's failure must not keep the writers' promises from settling
    }
    for (let i = 0; i < batch.jobs.length; i++) batch.jobs[i].resolve(batch.values[i]);
  }

  /** Starts a sync for the committed batches unless one is in flight (it restarts when that ends). */
  #startSync(): void {
    if (this.#syncing !== null || this.#unsynced.length === 0 || !this.#sync) return;
    const group = this.#unsynced;
    this.#unsynced = [];
    this.stats.syncs++;
    this.#syncing = this.#sync().then(
      () => {
        for (const batch of group) this.#settle(batch);
      },
      (error: unknown) => {
        for (const batch of group) for (const job of batch.jobs) job.reject(error);
      },
    );
    void this.#syncing.finally(() => {
      this.#syncing = null;
      // The jobs that arrived during the sync: one commit, and the next sync starts from it.
      if (!this.#scheduled) this.flush();
      this.#startSync();
    });
  }

  /** Commits what is pending and refuses further jobs. */
  close(): void {
    this.flush(true);
    this.#closed = true;
  }

  /** Resolves once every committed write has been synced and settled (call after `close`). */
  async settled(): Promise<void> {
    while (this.#syncing !== null || this.#unsynced.length > 0) {
      if (this.#syncing === null) this.#startSync();
      await this.#syncing?.catch(() => {});
      // let the `finally` above run and start the next group
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
