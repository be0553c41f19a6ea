/**
 * POP3 maildrop locks across nodes (`MailboxLocks`, RFC 1939 §8): PostgreSQL session advisory locks
 * held on one dedicated connection per node, with an in-process map in front.
 *
 * Invariants:
 * - The in-process map decides between sessions of this node (advisory locks are re-entrant for the
 *   connection that holds them, so they cannot tell two local sessions apart); the advisory lock
 *   decides between nodes. A lock is held only when both were taken. The map entry is made before the
 *   advisory lock is asked for and carries that request: a second tryAcquire of the same owner meanwhile
 *   gets its answer, never an early true.
 * - The key is (class 0x706f7033 'pop3', mailbox id): it cannot collide with the migration lock.
 * - Locks die with their connection: a node killed with -9 frees its maildrops as soon as PostgreSQL
 *   sees the connection close. If the lock connection drops while the node lives, its locks are gone
 *   too; the node reconnects for new locks, and sessions that held one keep going (documented in
 *   docs/operations.md: the window is a lost connection, as with any lease).
 * - Operations on the lock connection run one at a time (a promise chain), never interleaved.
 */
import pg from 'pg';
import type { MailboxLocks } from '../types.js';
import { connectionConfig, type PgContext } from './db.js';

const POP3_CLASS = 0x706f7033;

export class PgMailboxLocks implements MailboxLocks {
  readonly #ctx: PgContext;
  /** The local holder of each mailbox and its request of the advisory lock (true once held). */
  readonly #held = new Map<number, { owner: string; acquired: Promise<boolean> }>();
  #client: pg.Client | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
  }

  #serial<T>(job: (client: pg.Client) => Promise<T>): Promise<T> {
    const run = this.#chain.then(async () => job(await this.#connection()));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #connection(): Promise<pg.Client> {
    if (this.#closed) throw new Error('store is closed');
    if (this.#client) return this.#client;
    const client = new pg.Client(connectionConfig(this.#ctx.connection));
    const drop = () => {
      if (this.#client === client) this.#client = null;
    };
    client.on('error', drop);
    client.on('end', drop);
    await client.connect();
    this.#client = client;
    return client;
  }

  tryAcquire(mailboxId: number, owner: string): Promise<boolean> {
    const held = this.#held.get(mailboxId);
    if (held) return held.owner === owner ? held.acquired : Promise.resolve(false);
    const forget = () => {
      if (this.#held.get(mailboxId)?.acquired === acquired) this.#held.delete(mailboxId);
    };
    const acquired = this.#serial(async (client) => {
      const result = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        POP3_CLASS,
        mailboxId,
      ]);
      return result.rows[0]?.ok === true;
    }).then(
      (got) => {
        if (!got) forget();
        return got;
      },
      (error: unknown) => {
        forget();
        throw error;
      },
    );
    this.#held.set(mailboxId, { owner, acquired });
    return acquired;
  }

  async release(mailboxId: number, owner: string): Promise<void> {
    const held = this.#held.get(mailboxId);
    if (held?.owner !== owner) return;
    this.#held.delete(mailboxId);
    if (!(await held.acquired.catch(() => false))) return;
    // On the one lock connection, after any later local acquisition of this mailbox (re-entrant: the
    // count it added keeps the lock for its new holder).
    await this.#serial(async (client) => {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [POP3_CLASS, mailboxId]);
    }).catch(() => {
      // The connection is gone, and the lock with it.
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#held.clear();
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }
}
