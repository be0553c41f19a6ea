/**
 * Mailboxes in SQLite: create, rename (with children, and the special INBOX rename), delete,
 * subscription and STATUS.
 *
 * Invariants:
 * - Names are stored normalized (normalize.ts): `INBOX` upper-case, also as a hierarchy prefix.
 * - UIDVALIDITY comes from one counter in `meta`, max(unix seconds, last + 1): unique per mailbox
 *   creation for the life of the database, and strictly increasing, so a mailbox deleted and created
 *   again within a second still gets a new value (RFC 9051 §2.3.1.1).
 * - Renaming keeps a mailbox's id, UIDVALIDITY, UIDs and messages; children (`from/…`) move along.
 * - Renaming INBOX moves its messages to a new mailbox and leaves INBOX empty; INBOX keeps its
 *   UIDVALIDITY and UIDNEXT, its children stay where they are, and the moved UIDs are recorded as
 *   expunged from INBOX (RFC 9051 §6.3.6).
 * - INBOX cannot be deleted (RFC 9051 §6.3.5); every account always has one, which delivery relies on.
 * - Deleting a mailbox deletes its messages (and orphaned blobs, by trigger) but not its children.
 * - Subscriptions are by name (RFC 3501 §6.3.6): an existing mailbox carries its mark in
 *   `mailboxes.subscribed`; a deleted subscribed mailbox leaves its name in `subscriptions`, and a
 *   mailbox that later gets that name (create, rename) takes it back. A name is never in both.
 */
import { FLAG_SEEN, normalizeMailboxName } from '../normalize.js';
import { type MailboxRowBase, toMailbox } from '../rows.js';
import { type MailboxStatus, type MailboxStore, StoreConflictError, StoreNotFoundError } from '../types.js';
import type { SqliteContext } from './db.js';
import { ESSENTIAL, type WriteTx } from './writer.js';

export interface MailboxRow extends MailboxRowBase {
  subscribed: number;
}

const COLUMNS = 'id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed';

export function mailboxRowByName(ctx: SqliteContext, accountId: number, name: string): MailboxRow | undefined {
  return ctx
    .sql(`SELECT ${COLUMNS} FROM mailboxes WHERE account_id = ? AND name = ?`)
    .get(accountId, normalizeMailboxName(name)) as MailboxRow | undefined;
}

export function mailboxRowById(ctx: SqliteContext, id: number): MailboxRow | undefined {
  return ctx.sql(`SELECT ${COLUMNS} FROM mailboxes WHERE id = ?`).get(id) as MailboxRow | undefined;
}

/** The next UIDVALIDITY (see header). Call inside a write job. */
function nextUidValidity(ctx: SqliteContext): number {
  const row = ctx.sql(`SELECT value FROM meta WHERE key = 'uidvalidity'`).get() as { value: number } | undefined;
  const next = Math.max(Math.floor(Date.now() / 1000), (row?.value ?? 0) + 1);
  if (next > 0xffffffff) throw new Error('UIDVALIDITY space exhausted'); // nz-number is 32-bit (RFC 9051 §9)
  ctx
    .sql(
      `INSERT INTO meta (key, value) VALUES ('uidvalidity', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    )
    .run(next);
  return next;
}

/** Inserts a mailbox. Call inside a write job. Throws StoreConflictError when the name is taken. */
export function insertMailbox(
  ctx: SqliteContext,
  input: { accountId: number; name: string; specialUse: string | null; subscribed?: boolean },
): MailboxRow {
  const name = normalizeMailboxName(input.name);
  if (name === '') throw new Error('mailbox name must not be empty');
  if (mailboxRowByName(ctx, input.accountId, name)) throw new StoreConflictError(`mailbox ${name} already exists`);
  const uidvalidity = nextUidValidity(ctx);
  // A name still subscribed from a deleted mailbox takes its subscription back (RFC 3501 §6.3.6).
  const kept = takeSubscription(ctx, input.accountId, name);
  return ctx
    .sql(
      `INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed)
       VALUES (?, ?, ?, 1, 1, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(
      input.accountId,
      name,
      uidvalidity,
      input.specialUse,
      kept || input.subscribed !== false ? 1 : 0,
    ) as MailboxRow;
}

/**
 * Removes the kept subscription of a name without a mailbox (table `subscriptions`); true if there
 * was one. Called whenever a mailbox comes to have that name, which then carries the mark, so a name
 * is never both in `subscriptions` and a mailbox.
 */
function takeSubscription(ctx: SqliteContext, accountId: number, name: string): boolean {
  return ctx.sql('DELETE FROM subscriptions WHERE account_id = ? AND name = ?').run(accountId, name).changes > 0;
}

/** Bumps HIGHESTMODSEQ and returns the new value. Call inside a write job. */
export function bumpModseq(ctx: SqliteContext, mailboxId: number): number {
  const row = ctx
    .sql('UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ? RETURNING highestmodseq')
    .get(mailboxId) as { highestmodseq: number } | undefined;
  if (!row) throw new StoreNotFoundError(`no mailbox ${mailboxId}`);
  return row.highestmodseq;
}

/** Publishes the removal of all messages of a mailbox that is going away. Call inside a write job. */
export function publishMailboxGone(ctx: SqliteContext, tx: WriteTx, row: MailboxRow): void {
  const uids = ctx.pluck('SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid').all(row.id) as number[];
  if (uids.length > 0) tx.publish({ kind: 'expunge', mailboxId: row.id, uids, modseq: row.highestmodseq + 1 });
}

function renameInbox(ctx: SqliteContext, tx: WriteTx, inbox: MailboxRow, to: string): void {
  const target = insertMailbox(ctx, { accountId: inbox.account_id, name: to, specialUse: null });
  const uids = ctx.pluck('SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid').all(inbox.id) as number[];
  ctx.sql('UPDATE mailboxes SET uidnext = ? WHERE id = ?').run(inbox.uidnext, target.id);
  if (uids.length === 0) return;
  const modseq = bumpModseq(ctx, inbox.id);
  ctx
    .sql(
      'INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) SELECT mailbox_id, uid, ? FROM messages WHERE mailbox_id = ?',
    )
    .run(modseq, inbox.id);
  // Moved messages keep UIDs, flags and dates; in their new mailbox their modseq is its first, 1.
  ctx.sql('UPDATE messages SET mailbox_id = ?, modseq = 1 WHERE mailbox_id = ?').run(target.id, inbox.id);
  tx.publish({ kind: 'expunge', mailboxId: inbox.id, uids, modseq });
}

function renameTree(ctx: SqliteContext, accountId: number, from: string, to: string): void {
  // Children `from/…` are exactly the names in [from + '/', from + '0'): '0' follows '/' in UTF-8.
  const rows = ctx
    .sql('SELECT id, name FROM mailboxes WHERE account_id = ? AND (name = ? OR (name >= ? AND name < ?))')
    .all(accountId, from, from + '/', from + '0') as { id: number; name: string }[];
  const moving = new Set(rows.map((r) => r.id));
  const renamed = rows.map((r) => ({ id: r.id, name: normalizeMailboxName(to + r.name.slice(from.length)) }));
  for (const r of renamed) {
    const other = mailboxRowByName(ctx, accountId, r.name);
    if (other && !moving.has(other.id)) throw new StoreConflictError(`mailbox ${r.name} already exists`);
  }
  // Two passes, so that renaming into one's own subtree (a -> a/b) never collides midway.
  const setName = ctx.sql('UPDATE mailboxes SET name = ? WHERE id = ?');
  for (const r of renamed) setName.run(`\u0001rename\u0001${r.id}`, r.id);
  for (const r of renamed) setName.run(r.name, r.id);
  // A new name that was still subscribed (its mailbox deleted earlier) stays subscribed.
  const subscribe = ctx.sql('UPDATE mailboxes SET subscribed = 1 WHERE id = ?');
  for (const r of renamed) if (takeSubscription(ctx, accountId, r.name)) subscribe.run(r.id);
}

export function sqliteMailboxes(ctx: SqliteContext): MailboxStore {
  return {
    async list(accountId) {
      const rows = ctx.sql(`SELECT ${COLUMNS} FROM mailboxes WHERE account_id = ? ORDER BY name`).all(accountId);
      return (rows as MailboxRow[]).map(toMailbox);
    },

    async get(accountId, name) {
      const row = mailboxRowByName(ctx, accountId, name);
      return row ? toMailbox(row) : null;
    },

    async getById(id) {
      const row = mailboxRowById(ctx, id);
      return row ? toMailbox(row) : null;
    },

    create(accountId, name, specialUse = null, opts = {}) {
      return ctx.write(() => {
        if (!ctx.sql('SELECT 1 FROM accounts WHERE id = ?').get(accountId)) {
          throw new StoreNotFoundError(`no account ${accountId}`);
        }
        return toMailbox(insertMailbox(ctx, { accountId, name, specialUse, subscribed: opts.subscribed }));
      });
    },

    rename(accountId, fromName, toName) {
      const from = normalizeMailboxName(fromName);
      const to = normalizeMailboxName(toName);
      return ctx.write((tx) => {
        const source = mailboxRowByName(ctx, accountId, from);
        if (!source) throw new StoreNotFoundError(`no mailbox ${from}`);
        if (to === '') throw new Error('mailbox name must not be empty');
        if (mailboxRowByName(ctx, accountId, to)) throw new StoreConflictError(`mailbox ${to} already exists`);
        if (from === 'INBOX') renameInbox(ctx, tx, source, to);
        else renameTree(ctx, accountId, from, to);
      });
    },

    delete(accountId, name) {
      const normalized = normalizeMailboxName(name);
      return ctx.write((tx) => {
        if (normalized === 'INBOX') throw new StoreConflictError('INBOX cannot be deleted');
        const row = mailboxRowByName(ctx, accountId, normalized);
        if (!row) return false;
        publishMailboxGone(ctx, tx, row);
        ctx.sql('DELETE FROM mailboxes WHERE id = ?').run(row.id);
        // RFC 3501 §6.3.6: the subscription outlives the mailbox.
        if (row.subscribed) {
          ctx.sql('INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)').run(accountId, row.name);
        }
        return true;
      }, ESSENTIAL);
    },

    setSubscribed(accountId, name, subscribed) {
      const normalized = normalizeMailboxName(name);
      return ctx.write(() => {
        const info = ctx
          .sql('UPDATE mailboxes SET subscribed = ? WHERE account_id = ? AND name = ?')
          .run(subscribed ? 1 : 0, accountId, normalized);
        // Unsubscribing also drops a subscription kept from a deleted mailbox of that name.
        const kept = !subscribed && takeSubscription(ctx, accountId, normalized);
        return info.changes > 0 || kept;
      });
    },

    async subscribedWithoutMailbox(accountId) {
      return ctx.pluck('SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name').all(accountId) as string[];
    },

    async status(mailboxId): Promise<MailboxStatus> {
      const row = mailboxRowById(ctx, mailboxId);
      if (!row) throw new StoreNotFoundError(`no mailbox ${mailboxId}`);
      const counts = ctx
        .sql(
          `SELECT count(*) AS messages, coalesce(sum(flags & ${FLAG_SEEN} = 0), 0) AS unseen, coalesce(sum(size), 0) AS size
           FROM messages WHERE mailbox_id = ?`,
        )
        .get(mailboxId) as { messages: number; unseen: number; size: number };
      return {
        messages: counts.messages,
        unseen: counts.unseen,
        size: counts.size,
        uidNext: row.uidnext,
        uidValidity: row.uidvalidity,
        highestModseq: row.highestmodseq,
      };
    },
  };
}
