/**
 * The SQLite backend of `Store` (better-sqlite3): the embedded default. See docs/store.md.
 *
 * Invariants of this folder:
 * - One file per concern: db.ts (connection, pragmas, statement cache), schema.ts (migrations via
 *   PRAGMA user_version), writer.ts (group commit), accounts.ts, mailboxes.ts, messages.ts (and blobs),
 *   queue.ts, quota.ts (the quota decision of the writes that add messages), sessionlog.ts, admins.ts,
 *   exercises.ts (the web lab's history, admins and exercise progress), sieve.ts (Sieve scripts and
 *   their memory); this file composes them and owns `deliver`.
 * - All writes go through the group committer; a write's promise resolves after an fsynced COMMIT.
 * - Reads are synchronous on the connection and return already-resolved promises.
 * - Changes are published on the in-process ChangeBus after commit. Another process writing to the same
 *   file (the CLI) is seen by reads at once, but its mailbox changes are not pushed to this process's
 *   subscribers: in SQLite mode only the server process delivers and changes mail.
 */
import path from 'node:path';
import { ChangeBus } from '../changes.js';
import { MemoryMailboxLocks } from '../locks.js';
import { normalizeMailboxName, splitFlags } from '../normalize.js';
import { addBytes, prepareBlob, type QuotaAdditions } from '../rows.js';
import type { SpaceGuard } from '../space.js';
import { type DeliveryRequest, type DeliveryResult, OverQuotaError, type Store, StoreNotFoundError } from '../types.js';
import { sqliteAccounts, sqliteAliases, sqliteDomains } from './accounts.js';
import { sqliteAdmins } from './admins.js';
import { CaptureFiles } from './capture-files.js';
import { openDatabase, SqliteContext } from './db.js';
import { sqliteExerciseProgress } from './exercises.js';
import { mailboxRowByName, sqliteMailboxes } from './mailboxes.js';
import { insertMessage, putBlob, sqliteBlobs, sqliteMessages } from './messages.js';
import { insertQueueEntry, sqliteQueue } from './queue.js';
import { accountsOverQuota } from './quota.js';
import { ensureSearchIndex, sqliteSearchIndex } from './search.js';
import { sqliteSessionLog } from './sessionlog.js';
import { sqliteSieve } from './sieve.js';

export interface SqliteStoreOptions {
  /** Database file; created with its schema when missing. */
  path: string;
  /** The storage reserve: released when a write finds the disk full (writer.ts, space.ts). */
  space?: SpaceGuard;
  /** The quota of accounts without their own, in bytes (null: none). */
  defaultQuotaBytes?: number | null;
  /**
   * The body search index (search.ts): `background` (default) stores new blobs as pending, for the
   * server's indexer (`store/indexer.ts`) or `postbode reindex`; `write` indexes them in the write that
   * stores them; `off` behaves as if this SQLite had no FTS5 trigram tokenizer (searches read every
   * message) — for comparisons in tests.
   */
  searchIndex?: 'background' | 'write' | 'off';
}

export async function openSqliteStore(opts: SqliteStoreOptions): Promise<Store> {
  const ctx = new SqliteContext(openDatabase(opts.path), new ChangeBus(), opts.space);
  ctx.searchIndex = ensureSearchIndex(ctx.db, opts.searchIndex !== 'off');
  ctx.indexAtWrite = ctx.searchIndex && opts.searchIndex === 'write';
  const defaultQuotaBytes = opts.defaultQuotaBytes ?? null;
  let closed = false;
  // The web lab's captured bytes: files beside the database (capture-files.ts); a database in memory
  // keeps them in its rows. Files left by a crash between a deletion and its unlink go here.
  const captures = ctx.db.memory ? null : new CaptureFiles(path.join(path.dirname(ctx.db.name), 'capture'));
  captures?.sweep(ctx.pluck('SELECT id FROM log_sessions').all() as string[]);

  function deliver(request: DeliveryRequest): Promise<DeliveryResult> {
    if (request.local.length === 0 && !request.remote)
      return Promise.resolve({ local: [], queueId: null, overQuota: [] });
    const blob = prepareBlob(request.raw, request.meta, ctx.indexAtWrite && request.local.length > 0);
    const internalDate = (request.internalDate ?? new Date()).getTime();
    const targets = request.local.map((t) => ({
      accountId: t.accountId,
      mailbox: normalizeMailboxName(t.mailbox),
      flags: splitFlags(t.flags ?? []),
    }));
    return ctx.write((tx) => {
      const mailboxes = targets.map((t) => {
        const mailbox = mailboxRowByName(ctx, t.accountId, t.mailbox) ?? mailboxRowByName(ctx, t.accountId, 'INBOX');
        if (!mailbox) throw new StoreNotFoundError(`no account ${t.accountId}`);
        return mailbox;
      });
      // The quota rule of DeliveryRequest.overQuota, decided before anything is inserted.
      const additions: QuotaAdditions = new Map();
      for (const t of targets) addBytes(additions, t.accountId, request.raw.length);
      const overQuota = accountsOverQuota(ctx, defaultQuotaBytes, additions);
      if (overQuota.length > 0 && overQuota.length === additions.size && request.overQuota !== 'accept') {
        throw new OverQuotaError(overQuota, request.raw.length);
      }
      const blobId = putBlob(ctx, blob);
      const local = targets.map((t, i) => {
        const mailbox = mailboxes[i];
        const message = insertMessage(ctx, tx, {
          mailboxId: mailbox.id,
          blobId,
          size: request.raw.length,
          flags: t.flags.bits,
          keywords: t.flags.keywords.join(' '),
          internalDate,
        });
        return { accountId: t.accountId, mailboxId: mailbox.id, uid: message.uid };
      });
      const queueId = request.remote ? insertQueueEntry(ctx, blobId, request.remote, Date.now()) : null;
      return { local, queueId, overQuota };
    });
  }

  const store = {
    kind: 'sqlite',
    defaultQuotaBytes,
    accounts: sqliteAccounts(ctx),
    domains: sqliteDomains(ctx),
    aliases: sqliteAliases(ctx),
    mailboxes: sqliteMailboxes(ctx),
    messages: sqliteMessages(ctx, { defaultQuotaBytes }),
    blobs: sqliteBlobs(ctx),
    queue: sqliteQueue(ctx),
    locks: new MemoryMailboxLocks(),
    changes: ctx.bus,
    sessionLog: sqliteSessionLog(ctx, captures),
    admins: sqliteAdmins(ctx),
    exerciseProgress: sqliteExerciseProgress(ctx),
    searchIndex: sqliteSearchIndex(ctx),
    sieve: sqliteSieve(ctx),
    deliver,
    async stats() {
      return ctx
        .sql(
          `SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM domains) AS domains,
             (SELECT count(*) FROM aliases) AS aliases, (SELECT count(*) FROM messages) AS messages,
             (SELECT count(*) FROM blobs) AS blobs, (SELECT count(*) FROM queue) AS queue`,
        )
        .get() as Awaited<ReturnType<Store['stats']>>;
    },
    async close() {
      if (closed) return;
      closed = true;
      await ctx.close();
    },
  } satisfies Store;
  return store;
}
