/**
 * Group commit on PostgreSQL (as sqlite/writer.ts): concurrent writes of one node go into ONE
 * transaction, each in its own savepoint. Used for deliveries (deliver.ts), the write that arrives
 * many at a time and into few mailboxes.
 *
 * Invariants:
 * - At most one batch is in flight per committer. A job queued while none is runs on the next
 *   `setImmediate` tick, with whatever else was queued by then; jobs queued while a batch is in flight
 *   wait for it and then go together into the next, up to MAX_BATCH_JOBS per batch (the rest into the
 *   one after). So under load the batch grows with the load, and an idle node commits one job at once.
 * - A batch is `PgContext.txBatch`: `prepare` takes the batch's row locks at the top level, in db.ts's
 *   order, for all its jobs at once (sorted: accounts, then mailboxes in ascending id); then the jobs
 *   run in queue order, without savepoints until a job fails after sending a statement (then the batch
 *   runs again with each job in its own savepoint). A job that throws is refused alone and only its
 *   promise rejects; the others commit. The locks and the WAL flush of COMMIT are shared by the batch
 *   instead of each write waiting for the one before it to commit.
 * - A job's promise settles only after COMMIT returned (durable with `synchronous_commit = on`) and
 *   after this node's subscribers have the batch's changes (`onCommit`); nothing is acknowledged
 *   before. If the batch as a whole fails, every job of it rejects with that error (mapped: a
 *   `lock_timeout` is StoreBusyError, answered 451/NO/-ERR) and none of its changes are published.
 * - On a serialization failure or deadlock (40001, 40P01) the whole batch runs again, every job
 *   included, with a fresh `prepare`: a job must be safe to run again and may keep state only in what
 *   `prepare` returns (made anew for each attempt).
 * - MAX_BATCH_JOBS (64) also keeps a batch that isolates within PostgreSQL's cache of subtransaction
 *   ids per backend (64, PGPROC_MAX_CACHED_SUBXIDS): every savepoint that writes takes one, and a
 *   transaction with more makes every other backend's snapshot look further (pg_subtrans) until it ends.
 * - `close` runs what is queued and waits for it; later jobs are refused.
 */
import type { PgContext, PgTx } from './db.js';

export const MAX_BATCH_JOBS = 64;

interface Pending<J> {
  job: J;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitSpec<J, S> {
  /**
   * Takes the batch's locks for all its jobs (top level, before any savepoint); its result is shared.
   * `isolated`: each job runs in its own savepoint (db.ts txBatch, after a job failed past a statement).
   */
  prepare(tx: PgTx, jobs: readonly J[], isolated: boolean): Promise<S>;
  /** Runs one job in its savepoint. */
  run(tx: PgTx, job: J, shared: S): Promise<unknown>;
}

export class PgGroupCommitter<J, S> {
  /** Counters for observability and tests: transactions (batches) and the jobs run in them. */
  readonly stats = { batches: 0, jobs: 0 };
  readonly #ctx: PgContext;
  readonly #spec: GroupCommitSpec<J, S>;
  #queue: Pending<J>[] = [];
  #inFlight: Promise<void> | null = null;
  #scheduled = false;
  #closed = false;

  constructor(ctx: PgContext, spec: GroupCommitSpec<J, S>) {
    this.#ctx = ctx;
    this.#spec = spec;
  }

  /** Queues `job` for the next batch; settles after its COMMIT (see the header). */
  run<T>(job: J): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ job, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight !== null || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  #start(): void {
    if (this.#inFlight !== null || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, MAX_BATCH_JOBS);
    this.stats.batches++;
    this.stats.jobs += batch.length;
    const jobs = batch.map((p) => p.job);
    this.#inFlight = this.#ctx
      .txBatch(
        (tx, isolated) => this.#spec.prepare(tx, jobs, isolated),
        jobs.map((job) => (tx: PgTx, shared: S) => this.#spec.run(tx, job, shared)),
      )
      .then(
        (outcomes) => {
          outcomes.forEach((outcome, i) => {
            if (outcome.ok) batch[i].resolve(outcome.value);
            else batch[i].reject(outcome.error);
          });
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      )
      .finally(() => {
        this.#inFlight = null;
        // What arrived meanwhile goes at once: it has waited a transaction already.
        this.#start();
      });
  }

  /** Runs what is queued, then refuses further jobs. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight !== null || this.#queue.length > 0) {
      this.#start();
      await this.#inFlight;
    }
  }
}
