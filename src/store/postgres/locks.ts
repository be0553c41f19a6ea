/**
 * POP3 maildrop locks across nodes (`MailboxLocks`, RFC 1939 §8): PostgreSQL session advisory locks
 * held on one dedicated connection per node, with an in-process map in front.
 *
 * Invariants:
 * - The in-process map decides between sessions of this node (advisory locks are re-entrant for the
 *   connection that holds them, so they cannot tell two local sessions apart); the advisory lock
 *   decides between nodes. A lock is held only when both were taken.
 * - The key is (class 0x706f7033 'pop3', mailbox id): it cannot collide with the migration lock.
 * - Locks die with their connection: a node killed with -9 frees its maildrops as soon as PostgreSQL
 *   sees the connection close. If the lock connection drops while the node lives, its locks are gone
 *   too; the node reconnects for new locks, and sessions that held one keep going (documented in
 *   docs/operations.md: the window is a lost connection, as with any lease).
 * - Operations on the lock connection run one at a time (a promise chain), never interleaved.
 */
import pg from 'pg';
import { MemoryMailboxLocks } from '../locks.js';
import type { MailboxLocks } from '../types.js';
import { connectionConfig, type PgContext } from './db.js';

const POP3_CLASS = 0x706f7033;

export class PgMailboxLocks implements MailboxLocks {
  readonly #ctx: PgContext;
  readonly #local = new MemoryMailboxLocks();
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

  async tryAcquire(mailboxId: number, owner: string): Promise<boolean> {
    if (this.#local.holds(mailboxId, owner)) return true;
    if (!(await this.#local.tryAcquire(mailboxId, owner))) return false;
    try {
      const got = await this.#serial(async (client) => {
        const result = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
          POP3_CLASS,
          mailboxId,
        ]);
        return result.rows[0]?.ok === true;
      });
      if (!got) await this.#local.release(mailboxId, owner);
      return got;
    } catch (error) {
      await this.#local.release(mailboxId, owner);
      throw error;
    }
  }

  async release(mailboxId: number, owner: string): Promise<void> {
    if (!this.#local.holds(mailboxId, owner)) return;
    await this.#local.release(mailboxId, owner);
    await this.#serial(async (client) => {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [POP3_CLASS, mailboxId]);
    }).catch(() => {
      // The connection is gone, and the lock with it.
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }
}
