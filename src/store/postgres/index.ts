/**
 * The PostgreSQL backend of `Store`: several postbode nodes over one database. See docs/store.md
 * ("PostgreSQL") and docs/operations.md ("Several nodes").
 *
 * Invariants of this folder:
 * - One file per concern, as in sqlite/: db.ts (pool, transactions, retries), schema.ts (migrations
 *   under an advisory lock), feed.ts (the cross-node change feed), locks.ts (POP3 maildrop locks),
 *   nodes.ts (heartbeats), accounts.ts, mailboxes.ts, messages.ts (and blobs), queue.ts (leases),
 *   quota.ts, search.ts (pg_trgm), sessionlog.ts, admins.ts, exercises.ts (the lab's exercise progress),
 *   sieve.ts (Sieve scripts and their memory), websessions.ts (web logins), nodekeys.ts (digests of the
 *   nodes' key files), certificates.ts (the shared ACME certificate), logincounts.ts (the login
 *   limiter's failure counts), deliver.ts (`deliver`, through the group commit of groupcommit.ts); this
 *   file composes them.
 * - Every write runs in `ctx.tx` (deliveries: in a savepoint of a batch's `ctx.txBatch`) and resolves
 *   after COMMIT; its mailbox changes reach this node's
 *   subscribers through the feed's read of the tables, and the other nodes' through a NOTIFY hint.
 * - Nothing that another node may change is cached in memory.
 */
import { hostname } from 'node:os';
import type { Store } from '../types.js';
import { pgAccounts, pgAliases, pgDomains } from './accounts.js';
import { pgAdmins } from './admins.js';
import { pgCertificates } from './certificates.js';
import { PgContext } from './db.js';
import { type PgDeliveries, pgDeliveries } from './deliver.js';
import { pgExerciseProgress } from './exercises.js';
import { PgChangeFeed } from './feed.js';
import { PgMailboxLocks } from './locks.js';
import { pgLoginCounts } from './logincounts.js';
import { pgMailboxes } from './mailboxes.js';
import { pgBlobs, pgMessages } from './messages.js';
import { pgNodeKeys } from './nodekeys.js';
import { PgNodes } from './nodes.js';
import { pgQueue } from './queue.js';
import { migratePg } from './schema.js';
import { ensurePgSearchIndex, pgSearchIndex } from './search.js';
import { pgSessionLog } from './sessionlog.js';
import { pgSieve } from './sieve.js';
import { pgWebSessions } from './websessions.js';

export interface PgStoreOptions {
  /** `postgresql://USER@HOST:PORT/DB[?schema=NAME]`. */
  url: string;
  /** This node's name (default: the host name). */
  node?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** The quota of accounts without their own, in bytes (null: none). */
  defaultQuotaBytes?: number | null;
  /** As SqliteStoreOptions.searchIndex. */
  searchIndex?: 'background' | 'write' | 'off';
  /** `lock_timeout` in ms (default 5000). */
  lockTimeoutMs?: number;
  /** The feed's poll interval (tests shorten it). */
  pollMs?: number;
  /** Problems of the dedicated connections (LISTEN, locks), for the log. */
  onError?: (error: unknown) => void;
  /** Register this process in `nodes` and refresh it (the server does; the CLI does not). */
  registerNode?: boolean;
}

/** The group commit's counters of each open store (tests: deliveries are batched). */
const deliveryStats = new WeakMap<Store, PgDeliveries['stats']>();

/** How many delivery batches `store` committed, with how many deliveries in all (undefined: not ours). */
export function pgDeliveryStats(store: Store): { batches: number; jobs: number } | undefined {
  const stats = deliveryStats.get(store);
  return stats && { ...stats };
}

/** The schema named by `?schema=` in the url, else `public`. */
export function schemaOf(url: string): string {
  const schema = new URL(url).searchParams.get('schema');
  return schema && schema !== '' ? schema : 'public';
}

export async function openPgStore(opts: PgStoreOptions): Promise<Store> {
  const node = opts.node ?? hostname();
  const ctx = new PgContext({
    url: opts.url,
    schema: schemaOf(opts.url),
    node,
    poolSize: opts.poolSize,
    lockTimeoutMs: opts.lockTimeoutMs,
  });
  try {
    const client = await ctx.pool.connect();
    try {
      await migratePg(client, ctx.schema);
    } finally {
      client.release();
    }
    ctx.searchIndex = (await ensurePgSearchIndex(ctx)) && opts.searchIndex !== 'off';
    ctx.indexAtWrite = ctx.searchIndex && opts.searchIndex === 'write';
  } catch (error) {
    await ctx.close();
    throw error;
  }
  const feed = new PgChangeFeed(ctx, { pollMs: opts.pollMs, onError: opts.onError });
  ctx.onCommit = (changes) => feed.committed(changes);
  await feed.start();
  const locks = new PgMailboxLocks(ctx);
  const nodes = new PgNodes(ctx);
  if (opts.registerNode) await nodes.register();
  const defaultQuotaBytes = opts.defaultQuotaBytes ?? null;
  let closed = false;

  const deliveries = pgDeliveries(ctx, defaultQuotaBytes);

  const store = {
    kind: 'postgresql',
    defaultQuotaBytes,
    accounts: pgAccounts(ctx),
    domains: pgDomains(ctx),
    aliases: pgAliases(ctx),
    mailboxes: pgMailboxes(ctx),
    messages: pgMessages(ctx, { defaultQuotaBytes }),
    blobs: pgBlobs(ctx),
    queue: pgQueue(ctx),
    locks,
    changes: feed,
    sessionLog: pgSessionLog(ctx),
    admins: pgAdmins(ctx),
    exerciseProgress: pgExerciseProgress(ctx),
    searchIndex: pgSearchIndex(ctx),
    sieve: pgSieve(ctx),
    nodes,
    nodeKeys: pgNodeKeys(ctx),
    webSessions: pgWebSessions(ctx),
    certificates: pgCertificates(ctx, feed),
    loginCounts: pgLoginCounts(ctx),
    deliver: deliveries.deliver,
    async stats() {
      const row = await ctx.one<Awaited<ReturnType<Store['stats']>>>(
        `SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM domains) AS domains,
           (SELECT count(*) FROM aliases) AS aliases, (SELECT count(*) FROM messages) AS messages,
           (SELECT count(*) FROM blobs) AS blobs, (SELECT count(*) FROM queue) AS queue`,
      );
      return row ?? { accounts: 0, domains: 0, aliases: 0, messages: 0, blobs: 0, queue: 0 };
    },
    async close() {
      if (closed) return;
      closed = true;
      await deliveries.close();
      await nodes.close();
      await feed.close();
      await locks.close();
      await ctx.close();
    },
  } satisfies Store;
  deliveryStats.set(store, deliveries.stats);
  return store;
}
