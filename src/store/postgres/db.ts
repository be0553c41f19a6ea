/**
 * The PostgreSQL connection pool and the one way to run SQL against it: `query` outside a transaction,
 * `tx` for everything that writes (or must read in one snapshot).
 *
 * Invariants:
 * - One small pool per store instance (node-postgres); every connection of it gets `lock_timeout`, so
 *   a write that waits for a row held by a stuck node fails (the engines answer 451/NO/-ERR) instead
 *   of hanging, and `idle_in_transaction_session_timeout`, so a node that stops mid-transaction
 *   releases its locks. LISTEN and the POP3 maildrop locks use dedicated connections (feed.ts,
 *   locks.ts), never a pooled one.
 * - `tx` runs its job in READ COMMITTED, retries the whole job on a serialization failure or deadlock
 *   (SQLSTATE 40001, 40P01) a few times with jitter, and returns only after COMMIT returned, which with
 *   `synchronous_commit = on` (PostgreSQL's default) means the change is durable. A job must therefore
 *   be safe to run again: it may not have effects outside the database.
 * - `txBatch` is the same for several jobs in one transaction (the group commit, groupcommit.ts): a job
 *   that throws is refused alone (before it sent a statement: nothing to undo; after: the batch runs
 *   again with each job in its own savepoint, rolled back alone); the whole batch retried on
 *   40001/40P01; resolved after COMMIT with each job's outcome, and only the kept jobs' changes
 *   published.
 * - The hot statements (`prepared`) run as named prepared statements.
 * - Mailbox changes a job reports through `tx.publish` are handed to `onCommit` after COMMIT only
 *   (feed.ts reads them back from the tables: NOTIFY is a hint, the tables are the truth), and `tx`
 *   resolves once `onCommit` has: this node's subscribers of the changed mailboxes have the events
 *   when the write's promise settles, as on SQLite (an IMAP APPEND to the selected mailbox answers
 *   EXISTS before its tagged OK); other nodes get them after the hint.
 * - Rows are locked in one order everywhere: accounts before mailboxes, mailboxes in ascending id.
 * - `bigint` and `numeric` come back as JavaScript numbers (ids, sizes, unix milliseconds: all far
 *   below 2^53); `bytea` as Buffer.
 * - A full disk on the database server (SQLSTATE 53100) becomes StoreFullError; a unique violation is
 *   left to the caller (which maps it to StoreConflictError where the contract says so).
 */
import pg from 'pg';
import { type MailboxChange, StoreFullError } from '../types.js';

export type Row = Record<string, unknown>;

/** What runs SQL: the pool outside a transaction, a client inside one. */
export interface PgQueryable {
  /** All rows of `text` with `$1…` bound to `values`. */
  rows<R = Row>(text: string, values?: readonly unknown[]): Promise<R[]>;
  /** The first row, or undefined. */
  one<R = Row>(text: string, values?: readonly unknown[]): Promise<R | undefined>;
  /** The first column of the first row, or undefined. */
  value<V = unknown>(text: string, values?: readonly unknown[]): Promise<V | undefined>;
  /** Runs a statement; returns the number of rows it affected. */
  run(text: string, values?: readonly unknown[]): Promise<number>;
}

export interface PgTx extends PgQueryable {
  /** Reports a change of a mailbox, published to subscribers (of every node) after COMMIT. */
  publish(change: MailboxChange): void;
}

/** What became of one job of a batch (`PgContext.txBatch`). */
export type BatchOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface TxOptions {
  /**
   * The job frees space or is needed to (deletions, flags, queue bookkeeping). Kept for symmetry with
   * the SQLite writer; on PostgreSQL the database server owns its disk and its reserve.
   */
  essential?: boolean;
}

/** SQLSTATEs after which the whole transaction is run again. */
const RETRY_CODES = new Set(['40001', '40P01']);

/** A serialization failure or deadlock: the whole transaction (or batch) is to be run again. */
function isRetryable(error: unknown): boolean {
  return RETRY_CODES.has(sqlState(error) ?? '');
}
const MAX_ATTEMPTS = 6;

/** Thrown by a batch's attempt that must be rolled back and run again at once in isolation (txBatch). */
class RunAgain extends Error {
  override name = 'RunAgain';
}

/** SQLSTATE of a node-postgres error, or undefined. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}

/** A write could not get its rows in `lock_timeout`: another node holds them (stuck or slow). */
export class StoreBusyError extends Error {
  override name = 'StoreBusyError';
}

function mapError(error: unknown): unknown {
  const code = sqlState(error);
  if (code === '53100' || code === '53400') {
    return new StoreFullError('the disk of the PostgreSQL server is full', { cause: error });
  }
  if (code === '55P03') {
    return new StoreBusyError('the mailbox is locked by another postbode node; try again shortly', { cause: error });
  }
  return error;
}

/** Type parsers: int8 (20) and numeric (1700) as numbers, the rest as node-postgres does. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (value: string) => (value === null ? null : Number(value));
    // biome-ignore lint/suspicious/noExplicitAny: node-postgres's overloads take a union format
    return pg.types.getTypeParser(oid, format as any);
  },
};

export interface PgConnectionOptions {
  /** `postgresql://USER@HOST:PORT/DB[?schema=NAME]`. */
  url: string;
  /** The schema holding postbode's tables (default `public`); tests use one schema each. */
  schema: string;
  /** Name of this node (application_name, nodes table, lab session ids). */
  node: string;
  /** Pool size (default 10). */
  poolSize?: number;
  /** `lock_timeout` in ms (default 5000). */
  lockTimeoutMs?: number;
}

/** Settings every connection of postbode gets (pooled or dedicated). */
export function connectionConfig(opts: PgConnectionOptions): pg.ClientConfig {
  const url = new URL(opts.url);
  url.searchParams.delete('schema');
  const lockTimeout = opts.lockTimeoutMs ?? 5000;
  return {
    connectionString: url.toString(),
    application_name: `postbode ${opts.node}`.slice(0, 63),
    options: `-c search_path=${quoteIdent(opts.schema)} -c lock_timeout=${lockTimeout} -c idle_in_transaction_session_timeout=60000`,
    types: TYPES,
  };
}

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The hot statements, by text: their names as prepared statements (`prepared`). */
const PREPARED = new Map<string, string>();

/**
 * Marks `text` as a hot statement (run for every delivery or lookup): it then runs as a named prepared
 * statement, parsed once per connection instead of at each run (node-postgres `name:`; PostgreSQL
 * plans it anew for the first runs and may then keep a generic plan). Only for fixed texts: every
 * distinct text marked stays prepared on each pooled connection for the connection's life.
 */
export function prepared(text: string): string {
  if (!PREPARED.has(text)) PREPARED.set(text, `postbode_${PREPARED.size + 1}`);
  return text;
}

/** What node-postgres runs for `text`: by name when it is a hot statement (`prepared`). */
function statement(text: string, values?: readonly unknown[]): pg.QueryConfig | string {
  const name = values !== undefined ? PREPARED.get(text) : undefined;
  return name === undefined ? text : { name, text, values: values as unknown[] };
}

function queryable(run: (text: string, values?: readonly unknown[]) => Promise<pg.QueryResult>): PgQueryable {
  return {
    async rows<R>(text: string, values?: readonly unknown[]) {
      return (await run(text, values)).rows as R[];
    },
    async one<R>(text: string, values?: readonly unknown[]) {
      return (await run(text, values)).rows[0] as R | undefined;
    },
    async value<V>(text: string, values?: readonly unknown[]) {
      const result = await run(text, values);
      const row = result.rows[0] as Row | undefined;
      return row === undefined ? undefined : (row[result.fields[0].name] as V);
    },
    async run(text: string, values?: readonly unknown[]) {
      return (await run(text, values)).rowCount ?? 0;
    },
  };
}

/** Runs `text` on a client, by name when it is a hot statement (`prepared`). */
function run(client: pg.PoolClient, text: string, values?: readonly unknown[]): Promise<pg.QueryResult> {
  const config = statement(text, values);
  return typeof config === 'string' ? client.query(text, values as unknown[] | undefined) : client.query(config);
}

export class PgContext implements PgQueryable {
  readonly pool: pg.Pool;
  readonly node: string;
  readonly schema: string;
  readonly connection: PgConnectionOptions;
  /**
   * Called after each COMMIT with the mailboxes the transaction changed (feed.ts). When it returns a
   * promise, the transaction's promise settles after it (it must not take long).
   */
  onCommit: (changes: MailboxChange[]) => unknown = () => {};
  /** Whether the body search index (search.ts) exists. */
  searchIndex = false;
  /** Whether new blobs are indexed in the write that stores them (else they wait, pending). */
  indexAtWrite = false;
  readonly #q: PgQueryable;
  /**
   * Counters for observability and tests: transactions committed, attempts run again on 40001/40P01,
   * batches run again in isolation (txBatch).
   */
  readonly stats = { transactions: 0, retries: 0, isolated: 0 };
  #closed = false;

  constructor(opts: PgConnectionOptions) {
    this.connection = opts;
    this.node = opts.node;
    this.schema = opts.schema;
    this.pool = new pg.Pool({ ...connectionConfig(opts), max: opts.poolSize ?? 10, idleTimeoutMillis: 30_000 });
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
    this.#q = queryable((text, values) => this.#pooled(text, values));
  }

  async #pooled(text: string, values?: readonly unknown[]): Promise<pg.QueryResult> {
    try {
      const config = statement(text, values);
      return await (typeof config === 'string'
        ? this.pool.query(text, values as unknown[] | undefined)
        : this.pool.query(config));
    } catch (error) {
      throw mapError(error);
    }
  }

  rows<R = Row>(text: string, values?: readonly unknown[]): Promise<R[]> {
    return this.#q.rows<R>(text, values);
  }
  one<R = Row>(text: string, values?: readonly unknown[]): Promise<R | undefined> {
    return this.#q.one<R>(text, values);
  }
  value<V = unknown>(text: string, values?: readonly unknown[]): Promise<V | undefined> {
    return this.#q.value<V>(text, values);
  }
  run(text: string, values?: readonly unknown[]): Promise<number> {
    return this.#q.run(text, values);
  }

  /** Runs `job` in one transaction (see the header): retried on 40001/40P01, resolved after COMMIT. */
  async tx<T>(job: (tx: PgTx) => Promise<T>, _opts: TxOptions = {}): Promise<T> {
    return this.#transaction(async (client) => {
      const changes: MailboxChange[] = [];
      const q = queryable((text, values) => run(client, text, values));
      const value = await job({ ...q, publish: (change) => changes.push(change) });
      return { value, changes };
    });
  }

  /**
   * Runs `jobs` in ONE transaction (the group commit of groupcommit.ts): `prepare` first, at the top
   * level (the batch's row locks, held to COMMIT), then each job in its own savepoint, in order. A job
   * that throws is rolled back to its savepoint alone and gets `{ ok: false }`; the others go on.
   * Resolves with every job's outcome after COMMIT and `onCommit` (with the changes of the jobs that
   * were kept, in job order). Rejects when the batch as a whole failed (BEGIN, `prepare`, COMMIT, a
   * lost connection): then nothing of it was committed. On 40001/40P01, in `prepare` or in any job,
   * the whole batch runs again, every job included (jobs must be safe to run again).
   *
   * The first attempt sets no savepoint (a job's refusal is nearly always decided in JavaScript, before
   * it sends a statement, and needs none): a job that throws before sending a statement is refused
   * alone and the batch goes on. Only when a job throws after it sent one (its statements may have
   * done part of its work, or aborted the transaction) is the attempt rolled back whole and the batch
   * run again at once in isolation: each job in its own savepoint, set before its first statement; a
   * kept job's is released together with setting the next one (`RELEASE SAVEPOINT j; SAVEPOINT j`,
   * one simple query), one rolled back to stays set for the next job, and COMMIT releases the last.
   * Either way a job's outcome, the changes published and the UIDs are those of the attempt that
   * committed. `prepare` is told whether the attempt isolates (a job may then do the work of the jobs
   * after it in one statement only when it does not: deliver.ts).
   */
  async txBatch<S, T>(
    prepare: (tx: PgTx, isolated: boolean) => Promise<S>,
    jobs: readonly ((tx: PgTx, shared: S) => Promise<T>)[],
  ): Promise<BatchOutcome<T>[]> {
    /** Each job in a savepoint: after an attempt in which a job failed once it had sent a statement. */
    let isolate = false;
    return this.#transaction(async (client) => {
      const kept: MailboxChange[] = [];
      let changes: MailboxChange[] = [];
      /** The savepoint: none yet, set and untouched since, or with a job's statements after it. */
      let savepoint: 'none' | 'clean' | 'used' = 'none';
      /** Inside a job (statements go under a savepoint when isolating); whether the job has sent one yet. */
      let inJob = false;
      let jobSent = false;
      const q = queryable(async (text, values) => {
        if (inJob && !jobSent) {
          jobSent = true;
          if (isolate) {
            if (savepoint === 'none') await client.query('SAVEPOINT j');
            else if (savepoint === 'used') await client.query('RELEASE SAVEPOINT j; SAVEPOINT j');
            savepoint = 'used';
          }
        }
        return run(client, text, values);
      });
      const tx: PgTx = { ...q, publish: (change) => changes.push(change) };
      const shared = await prepare(tx, isolate);
      // Not push(...changes): a change of 130,000 messages would overflow the call stack.
      for (const c of changes) kept.push(c);
      const outcomes: BatchOutcome<T>[] = [];
      for (const job of jobs) {
        changes = [];
        inJob = true;
        jobSent = false;
        try {
          outcomes.push({ ok: true, value: await job(tx, shared) });
          for (const c of changes) kept.push(c);
        } catch (error) {
          if (isRetryable(error)) throw error;
          if (jobSent && !isolate) {
            // Its statements are in the transaction (or aborted it): this attempt goes, the next isolates.
            isolate = true;
            this.stats.isolated++;
            throw new RunAgain();
          }
          if (jobSent) {
            await client.query('ROLLBACK TO SAVEPOINT j');
            savepoint = 'clean';
          }
          outcomes.push({ ok: false, error: mapError(error) });
        } finally {
          inJob = false;
        }
      }
      return { value: outcomes, changes: kept };
    });
  }

  /**
   * One transaction on a pooled connection, for `tx` and `txBatch`: BEGIN, `body`, COMMIT, then the
   * changes `body` reports go to `onCommit` (a subscriber's failure does not fail the write) and its
   * value is returned. On failure: ROLLBACK (a connection that cannot is discarded), and on
   * 40001/40P01 the whole `body` runs again on a fresh connection, up to MAX_ATTEMPTS, after a short
   * random pause; other errors are mapped (mapError) and thrown.
   */
  async #transaction<T>(body: (client: pg.PoolClient) => Promise<{ value: T; changes: MailboxChange[] }>): Promise<T> {
    if (this.#closed) throw new Error('store is closed');
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const { value, changes } = await body(client);
        await client.query('COMMIT');
        this.stats.transactions++;
        client.release();
        if (changes.length > 0) {
          try {
            await this.onCommit(changes);
          } catch {
            // a subscriber's failure must not fail a committed write
          }
        }
        return value;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        client.release(broken);
        if (error instanceof RunAgain) continue; // at once, and once only (txBatch isolates from then on)
        if (isRetryable(error) && attempt < MAX_ATTEMPTS) {
          this.stats.retries++;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
          continue;
        }
        throw mapError(error);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}
