/**
 * Mailboxes on PostgreSQL: create, rename (with children, and the special INBOX rename), delete,
 * subscription and STATUS — the semantics of sqlite/mailboxes.ts, for several nodes on one database.
 *
 * Invariants:
 * - Names are stored normalized (normalize.ts): `INBOX` upper-case, also as a hierarchy prefix. Lists
 *   are sorted by name in byte order (`COLLATE "C"`), as SQLite sorts them, whatever the locale.
 * - UIDVALIDITY comes from the `meta` counter (uidvalidity.ts): unique per mailbox creation for the
 *   life of the database and strictly increasing (RFC 9051 §2.3.1.1).
 * - Renaming keeps a mailbox's id, UIDVALIDITY, UIDs and messages; children (`from/…`) move along.
 *   The renamed rows are locked first (ascending id) and renamed in two passes, so renaming into
 *   one's own subtree never collides midway; a name taken meanwhile by another node is a
 *   StoreConflictError (the unique index decides).
 * - Renaming INBOX moves its messages to a new mailbox and leaves INBOX empty; INBOX keeps its
 *   UIDVALIDITY and UIDNEXT, its children stay where they are, and the moved UIDs are recorded as
 *   expunged from INBOX (RFC 9051 §6.3.6). `total_size` moves with the messages.
 * - INBOX cannot be deleted (RFC 9051 §6.3.5); every account always has one, which delivery relies on.
 * - Deleting a mailbox deletes its messages (and orphaned blobs, by trigger) but not its children; its
 *   subscribers learn it from the feed, which finds the mailbox gone (feed.ts).
 * - Subscriptions are by name (RFC 3501 §6.3.6): an existing mailbox carries its mark in
 *   `mailboxes.subscribed`; a deleted subscribed mailbox leaves its name in `subscriptions`, and a
 *   mailbox that later gets that name (create, rename) takes it back. A name is never in both.
 * - Rows are locked in the global order (db.ts): accounts before mailboxes, mailboxes by ascending id
 *   (`SELECT … ORDER BY id FOR UPDATE` locks in the sorted order).
 */
import { FLAG_SEEN, normalizeMailboxName } from '../normalize.js';
import { type MailboxRowBase, toMailbox } from '../rows.js';
import { type MailboxStatus, type MailboxStore, StoreConflictError, StoreNotFoundError } from '../types.js';
import { isUniqueViolation, type PgContext, type PgQueryable, type PgTx, prepared, sqlState } from './db.js';
import { nextUidValidity } from './uidvalidity.js';

export interface MailboxRow extends MailboxRowBase {
  subscribed: boolean;
  total_size: number;
}

const COLUMNS = 'id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed, total_size';

export function mailboxRowByName(q: PgQueryable, accountId: number, name: string): Promise<MailboxRow | undefined> {
  return q.one<MailboxRow>(`SELECT ${COLUMNS} FROM mailboxes WHERE account_id = $1 AND name = $2`, [
    accountId,
    normalizeMailboxName(name),
  ]);
}

export function mailboxRowById(q: PgQueryable, id: number): Promise<MailboxRow | undefined> {
  return q.one<MailboxRow>(`SELECT ${COLUMNS} FROM mailboxes WHERE id = $1`, [id]);
}

/**
 * Locks the rows of the existing mailboxes among `ids` (FOR UPDATE, ascending id) and returns them by
 * id. Call inside a transaction, after any account rows it locks (db.ts: one lock order).
 */
export async function lockMailboxes(tx: PgTx, ids: readonly number[]): Promise<Map<number, MailboxRow>> {
  const unique = [...new Set(ids)];
  const rows = await tx.rows<MailboxRow>(
    `SELECT ${COLUMNS} FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
    [unique],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * lockMailboxesByName's statement (hot: every batch of deliveries runs it, `prepared`): the locked
 * rows, then one row per account of $3 with its usage (id NULL).
 */
const LOCK_BY_NAME = prepared(
  `WITH locked AS (
     SELECT id, account_id, name FROM mailboxes
     WHERE (account_id, name) IN (SELECT a, n FROM unnest($1::bigint[], $2::text[]) AS t(a, n))
        OR (account_id = ANY($1::bigint[]) AND name = 'INBOX')
     ORDER BY id FOR UPDATE
   )
   SELECT id, account_id, name, NULL::bigint AS used FROM locked
   UNION ALL
   SELECT NULL, account_id, NULL, coalesce(sum(total_size), 0) FROM mailboxes
   WHERE account_id = ANY($3::bigint[]) GROUP BY account_id`,
);

/**
 * The mailbox of each target (its named mailbox, else INBOX), its row locked FOR UPDATE, rows locked
 * in ascending id; undefined for a target whose account has neither. Call inside a transaction.
 *
 * One statement resolves and locks: it locks the named mailboxes and the INBOX of each target's
 * account in ascending id, and re-checks each row after waiting for it, so a mailbox renamed or
 * deleted meanwhile drops out and the target falls back to INBOX (which can be neither). The same
 * statement reads the usage of the accounts `usageOf` (the quota's, whose rows the caller locked in
 * its previous statement: this statement's snapshot is taken after that lock, as quota.ts requires).
 */
export async function lockMailboxesByName(
  tx: PgTx,
  targets: readonly { accountId: number; mailbox: string }[],
  usageOf: readonly number[] = [],
): Promise<{ rows: ({ id: number; account_id: number } | undefined)[]; used: Map<number, number> }> {
  const used = new Map<number, number>();
  if (targets.length === 0 && usageOf.length === 0) return { rows: [], used };
  const found = await tx.rows<{ id: number | null; account_id: number; name: string | null; used: number | null }>(
    LOCK_BY_NAME,
    [targets.map((t) => t.accountId), targets.map((t) => normalizeMailboxName(t.mailbox)), usageOf],
  );
  for (const id of usageOf) used.set(id, 0);
  const byKey = new Map<string, { id: number; account_id: number }>();
  for (const r of found) {
    if (r.id === null) used.set(r.account_id, r.used ?? 0);
    else byKey.set(`${r.account_id}\u0000${r.name}`, { id: r.id, account_id: r.account_id });
  }
  const rows = targets.map((t) => {
    const row =
      byKey.get(`${t.accountId}\u0000${normalizeMailboxName(t.mailbox)}`) ?? byKey.get(`${t.accountId}\u0000INBOX`);
    return row ? { id: row.id, account_id: row.account_id } : undefined;
  });
  return { rows, used };
}

/**
 * Removes the kept subscription of a name without a mailbox (table `subscriptions`); true if there
 * was one. Called whenever a mailbox comes to have that name, which then carries the mark.
 */
async function takeSubscription(tx: PgQueryable, accountId: number, name: string): Promise<boolean> {
  return (await tx.run('DELETE FROM subscriptions WHERE account_id = $1 AND name = $2', [accountId, name])) > 0;
}

/**
 * Inserts a mailbox. Call inside a transaction. Throws StoreConflictError when the name is taken (also
 * by a creation of another node that commits first: the insert waits for it).
 */
export async function insertMailbox(
  tx: PgTx,
  input: { accountId: number; name: string; specialUse: string | null; subscribed?: boolean },
): Promise<MailboxRow> {
  const name = normalizeMailboxName(input.name);
  if (name === '') throw new Error('mailbox name must not be empty');
  if (await mailboxRowByName(tx, input.accountId, name)) throw new StoreConflictError(`mailbox ${name} already exists`);
  const uidvalidity = await nextUidValidity(tx);
  // A name still subscribed from a deleted mailbox takes its subscription back (RFC 3501 §6.3.6).
  const kept = await takeSubscription(tx, input.accountId, name);
  const row = await tx.one<MailboxRow>(
    `INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed)
     VALUES ($1, $2, $3, 1, 1, $4, $5) ON CONFLICT (account_id, name) DO NOTHING RETURNING ${COLUMNS}`,
    [input.accountId, name, uidvalidity, input.specialUse, kept || input.subscribed !== false],
  );
  if (!row) throw new StoreConflictError(`mailbox ${name} already exists`);
  return row;
}

/** Bumps HIGHESTMODSEQ of a (locked) mailbox and returns the new value. Call inside a transaction. */
export async function bumpModseq(tx: PgTx, mailboxId: number): Promise<number> {
  const modseq = await tx.value<number>(
    'UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq',
    [mailboxId],
  );
  if (modseq === undefined) throw new StoreNotFoundError(`no mailbox ${mailboxId}`);
  return modseq;
}

/**
 * Reports the removal of all messages of a mailbox that is going away (the hint for the feed, which
 * finds the mailbox gone). Call inside the transaction that deletes it.
 */
export async function publishMailboxGone(tx: PgTx, row: MailboxRow): Promise<void> {
  const uids = (
    await tx.rows<{ uid: number }>('SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid', [row.id])
  ).map((r) => r.uid);
  tx.publish({ kind: 'expunge', mailboxId: row.id, uids, modseq: row.highestmodseq + 1 });
}

/** Maps what the database says about a lost race to the contract's errors (the transaction is over). */
function conflictOrMissing(what: string) {
  return (error: unknown): never => {
    if (isUniqueViolation(error)) throw new StoreConflictError(`mailbox ${what} already exists`, { cause: error });
    if (sqlState(error) === '23503') throw new StoreNotFoundError(`no account for mailbox ${what}`, { cause: error });
    throw error;
  };
}

async function renameInbox(tx: PgTx, inbox: MailboxRow, to: string): Promise<void> {
  const target = await insertMailbox(tx, { accountId: inbox.account_id, name: to, specialUse: null });
  // The messages, UIDNEXT and bytes go to the new mailbox; INBOX keeps its UIDNEXT.
  await tx.run('UPDATE mailboxes SET uidnext = $2, total_size = $3 WHERE id = $1', [
    target.id,
    inbox.uidnext,
    inbox.total_size,
  ]);
  const uids = (
    await tx.rows<{ uid: number }>('SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid', [inbox.id])
  ).map((r) => r.uid);
  if (uids.length === 0) return;
  const modseq = await tx.value<number>(
    'UPDATE mailboxes SET highestmodseq = highestmodseq + 1, total_size = 0 WHERE id = $1 RETURNING highestmodseq',
    [inbox.id],
  );
  await tx.run(
    `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $2 FROM unnest($3::bigint[]) AS u
     ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq`,
    [inbox.id, modseq, uids],
  );
  // Moved messages keep UIDs, flags and dates; in their new mailbox their modseq is its first, 1.
  await tx.run('UPDATE messages SET mailbox_id = $2, modseq = 1 WHERE mailbox_id = $1', [inbox.id, target.id]);
  tx.publish({ kind: 'expunge', mailboxId: inbox.id, uids, modseq: modseq ?? 0 });
}

/** Renames the locked mailboxes `rows` (`from` and its children) to `to…`. */
async function renameTree(
  tx: PgTx,
  accountId: number,
  from: string,
  to: string,
  rows: readonly { id: number; name: string }[],
): Promise<void> {
  const moving = new Set(rows.map((r) => r.id));
  const renamed = rows.map((r) => ({ id: r.id, name: normalizeMailboxName(to + r.name.slice(from.length)) }));
  const taken = await tx.rows<{ id: number; name: string }>(
    'SELECT id, name FROM mailboxes WHERE account_id = $1 AND name = ANY($2::text[])',
    [accountId, renamed.map((r) => r.name)],
  );
  const other = taken.find((t) => !moving.has(t.id));
  if (other) throw new StoreConflictError(`mailbox ${other.name} already exists`);
  const ids = renamed.map((r) => r.id);
  // Two passes, so that renaming into one's own subtree (a -> a/b) never collides midway.
  await tx.run(`UPDATE mailboxes SET name = E'\\x01rename\\x01' || id WHERE id = ANY($1::bigint[])`, [ids]);
  await tx.run(
    `UPDATE mailboxes m SET name = v.name FROM unnest($1::bigint[], $2::text[]) AS v(id, name) WHERE m.id = v.id`,
    [ids, renamed.map((r) => r.name)],
  );
  // A new name that was still subscribed (its mailbox deleted earlier) stays subscribed.
  const kept = await tx.rows<{ name: string }>(
    'DELETE FROM subscriptions WHERE account_id = $1 AND name = ANY($2::text[]) RETURNING name',
    [accountId, renamed.map((r) => r.name)],
  );
  if (kept.length > 0) {
    await tx.run('UPDATE mailboxes SET subscribed = true WHERE account_id = $1 AND name = ANY($2::text[])', [
      accountId,
      kept.map((k) => k.name),
    ]);
  }
}

export function pgMailboxes(ctx: PgContext): MailboxStore {
  return {
    async list(accountId) {
      const rows = await ctx.rows<MailboxRow>(
        `SELECT ${COLUMNS} FROM mailboxes WHERE account_id = $1 ORDER BY name COLLATE "C"`,
        [accountId],
      );
      return rows.map(toMailbox);
    },

    async get(accountId, name) {
      const row = await mailboxRowByName(ctx, accountId, name);
      return row ? toMailbox(row) : null;
    },

    async getById(id) {
      const row = await mailboxRowById(ctx, id);
      return row ? toMailbox(row) : null;
    },

    create(accountId, name, specialUse = null, opts = {}) {
      return ctx
        .tx(async (tx) => {
          if ((await tx.value('SELECT 1 FROM accounts WHERE id = $1', [accountId])) === undefined) {
            throw new StoreNotFoundError(`no account ${accountId}`);
          }
          return toMailbox(await insertMailbox(tx, { accountId, name, specialUse, subscribed: opts.subscribed }));
        })
        .catch(conflictOrMissing(normalizeMailboxName(name)));
    },

    rename(accountId, fromName, toName) {
      const from = normalizeMailboxName(fromName);
      const to = normalizeMailboxName(toName);
      return ctx
        .tx(async (tx) => {
          if (from === 'INBOX') {
            const inbox = await tx.one<MailboxRow>(
              `SELECT ${COLUMNS} FROM mailboxes WHERE account_id = $1 AND name = 'INBOX' FOR UPDATE`,
              [accountId],
            );
            if (!inbox) throw new StoreNotFoundError(`no mailbox ${from}`);
            if (to === '') throw new Error('mailbox name must not be empty');
            if (await mailboxRowByName(tx, accountId, to)) throw new StoreConflictError(`mailbox ${to} already exists`);
            await renameInbox(tx, inbox, to);
            return;
          }
          // The mailbox and its children `from/…`, locked in ascending id.
          const rows = await tx.rows<{ id: number; name: string }>(
            `SELECT id, name FROM mailboxes WHERE account_id = $1 AND (name = $2 OR starts_with(name, $2 || '/'))
             ORDER BY id FOR UPDATE`,
            [accountId, from],
          );
          if (!rows.some((r) => r.name === from)) throw new StoreNotFoundError(`no mailbox ${from}`);
          if (to === '') throw new Error('mailbox name must not be empty');
          if (await mailboxRowByName(tx, accountId, to)) throw new StoreConflictError(`mailbox ${to} already exists`);
          await renameTree(tx, accountId, from, to, rows);
        })
        .catch(conflictOrMissing(to));
    },

    delete(accountId, name) {
      const normalized = normalizeMailboxName(name);
      return ctx.tx(
        async (tx) => {
          if (normalized === 'INBOX') throw new StoreConflictError('INBOX cannot be deleted');
          const row = await tx.one<MailboxRow>(
            `SELECT ${COLUMNS} FROM mailboxes WHERE account_id = $1 AND name = $2 FOR UPDATE`,
            [accountId, normalized],
          );
          if (!row) return false;
          await publishMailboxGone(tx, row);
          await tx.run('DELETE FROM mailboxes WHERE id = $1', [row.id]);
          // RFC 3501 §6.3.6: the subscription outlives the mailbox.
          if (row.subscribed) {
            await tx.run('INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
              accountId,
              row.name,
            ]);
          }
          return true;
        },
        { essential: true },
      );
    },

    setSubscribed(accountId, name, subscribed) {
      const normalized = normalizeMailboxName(name);
      return ctx.tx(async (tx) => {
        const changed = await tx.run('UPDATE mailboxes SET subscribed = $3 WHERE account_id = $1 AND name = $2', [
          accountId,
          normalized,
          subscribed,
        ]);
        // Unsubscribing also drops a subscription kept from a deleted mailbox of that name.
        const kept = !subscribed && (await takeSubscription(tx, accountId, normalized));
        return changed > 0 || kept;
      });
    },

    async subscribedWithoutMailbox(accountId) {
      const rows = await ctx.rows<{ name: string }>(
        'SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name COLLATE "C"',
        [accountId],
      );
      return rows.map((r) => r.name);
    },

    async status(mailboxId): Promise<MailboxStatus> {
      // One statement, one snapshot: the counts agree with UIDNEXT and HIGHESTMODSEQ.
      const row = await ctx.one<{
        uidnext: number;
        uidvalidity: number;
        highestmodseq: number;
        size: number;
        messages: number;
        unseen: number;
      }>(
        `SELECT b.uidnext, b.uidvalidity, b.highestmodseq, b.total_size AS size, c.messages, c.unseen
         FROM mailboxes b, LATERAL (
           SELECT count(*) AS messages, count(*) FILTER (WHERE m.flags & ${FLAG_SEEN} = 0) AS unseen
           FROM messages m WHERE m.mailbox_id = b.id) c
         WHERE b.id = $1`,
        [mailboxId],
      );
      if (!row) throw new StoreNotFoundError(`no mailbox ${mailboxId}`);
      return {
        messages: row.messages,
        unseen: row.unseen,
        size: row.size,
        uidNext: row.uidnext,
        uidValidity: row.uidvalidity,
        highestModseq: row.highestmodseq,
      };
    },
  };
}
