/**
 * Messages and blobs on PostgreSQL: APPEND, flags, EXPUNGE, COPY/MOVE, QRESYNC's expunged set, batch
 * reads for FETCH, blob reads — the semantics of sqlite/messages.ts, for several nodes on one database.
 *
 * Invariants:
 * - UIDs, UIDNEXT and MODSEQs are allocated inside the write transaction from the mailbox row, in one
 *   `UPDATE mailboxes SET uidnext = uidnext + n, highestmodseq = highestmodseq + 1, total_size =
 *   total_size + bytes … RETURNING`. The row stays locked until COMMIT, so UIDs are dense and
 *   ascending in commit order on every node, never reused (a rolled-back write gives its UIDs back
 *   before anyone else can take them), and MODSEQs are in commit order (the feed relies on that).
 * - One write operation on a mailbox (an append of several messages, a copy, setFlags, an expunge)
 *   bumps HIGHESTMODSEQ once and stamps every row it adds, changes or expunges with that value; an
 *   operation that changes nothing bumps nothing.
 * - Read-modify-write (flags with UNCHANGEDSINCE, expungeDeleted of what is \Deleted *now*, expunge)
 *   locks the mailbox row first and reads after, so the test and the change are one step against
 *   every other node's writes.
 * - Lock order (db.ts): accounts (quota) before mailboxes, mailboxes in ascending id, blob rows after
 *   them. A write that adds bytes to an account under a quota locks the account row before any
 *   mailbox row (quota.ts), decides after reading what it adds, and throws OverQuotaError, which
 *   rolls the transaction back. Blob rows are locked by putBlob or by the refcount trigger in the
 *   order of the statement's rows; two multi-message writes in different mailboxes that share blobs
 *   in opposite orders can deadlock, which PostgreSQL detects and db.ts retries.
 * - `mailboxes.total_size` is maintained here, in the same statements that take UIDs or bump the
 *   MODSEQ of an expunge (also for MOVE and COPY); no trigger touches the hot mailbox row.
 * - Blobs are content-addressed by SHA-256: the same bytes stored twice are one row. Reference counts
 *   are kept by triggers (schema.ts), never in code. `putBlob` of a large blob (over 64 KiB) first
 *   tries the existing row with `SELECT … FOR NO KEY UPDATE` (no bytes sent): the lock conflicts with
 *   the trigger's delete of a last reference, so the row cannot vanish before this transaction
 *   references it; a row deleted meanwhile is not returned, and then `INSERT … ON CONFLICT (hash) DO
 *   UPDATE` inserts it again (or locks the row another node inserted first). A smaller blob goes to
 *   that INSERT at once, which locks an existing row the same way (one round trip, not two). A row is
 *   new exactly when its `refs` is still 0: a committed blob always has a reference. A new blob that
 *   is not indexed at once gets its `search_pending` mark in that INSERT's statement (a CTE).
 * - A write's statements while it holds a mailbox row are few: the UIDs are taken and the rows
 *   inserted in one statement (insertMessages), since each round trip there serialises the writers of
 *   that mailbox on every node.
 * - Changes are reported to `tx.publish` and reach subscribers only after COMMIT (feed.ts).
 * - Reads for FETCH go by (mailbox, UID), never by blob id alone: a message expunged by another
 *   session reads as absent. UID lists are bound as `$n::bigint[]` (`= ANY`, `unnest`); byte ranges
 *   are read with `substring(data FROM … FOR …)`, which fetches only the needed chunks of the
 *   uncompressed out-of-line `data` (schema.ts: STORAGE EXTERNAL).
 */
import { applyFlags, FLAG_DELETED, joinFlags, splitFlags } from '../normalize.js';
import {
  addBytes,
  ColumnsBuilder,
  keywordList,
  MESSAGE_COLUMNS,
  type MessageRow,
  type PreparedBlob,
  prepareBlob,
  type QuotaAdditions,
  toMessage,
} from '../rows.js';
import {
  type BlobStore,
  type JsonValue,
  type MessageInfo,
  type MessageStore,
  type NewMessage,
  OverQuotaError,
  type SetFlagsInput,
  type StoreFlagsResult,
  StoreNotFoundError,
} from '../types.js';
import { type PgContext, type PgQueryable, type PgTx, prepared } from './db.js';
import { bumpModseq, lockMailboxes } from './mailboxes.js';
import { accountsOverQuota } from './quota.js';
import { indexExistingBlob, indexNewBlob, searchText } from './search.js';

/** The largest value of an int4 parameter (`substring` takes int4 positions and lengths). */
const INT4_MAX = 2_147_483_647;

/**
 * Blobs larger than this are looked up before they are sent (see the header); smaller ones go straight
 * to the INSERT, whose ON CONFLICT finds an existing row too: one round trip instead of two for the
 * common case of a new message, at the price of sending a few KB again for a rare repeated one.
 */
const LOOKUP_FIRST_BYTES = 64 * 1024;

/**
 * The id of the blob with these bytes, inserted when new, with its search index row (or pending mark)
 * in the same transaction; the row stays locked until COMMIT (see the header). Call inside a
 * transaction, after the mailbox rows it locks, and reference the blob before it commits.
 */
export async function putBlob(tx: PgTx, blob: PreparedBlob): Promise<number> {
  if (blob.raw.length > LOOKUP_FIRST_BYTES) {
    const existing = await tx.value<number>('SELECT id FROM blobs WHERE hash = $1 FOR NO KEY UPDATE', [blob.hash]);
    if (existing !== undefined) {
      await indexExistingBlob(tx, existing, blob.text);
      return existing;
    }
  }
  if (blob.text === null) {
    // Not indexed now (the background indexer will): a new blob's pending mark goes in the same
    // statement (one round trip); an existing blob keeps whatever mark it has.
    const row = await tx.one<{ id: number }>(
      `WITH b AS (
         INSERT INTO blobs (hash, size, refs, meta, data) VALUES ($1, $2, 0, $3, $4)
         ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash RETURNING id, refs
       ), pending AS (
         INSERT INTO search_pending (blob_id) SELECT id FROM b WHERE refs = 0 ON CONFLICT DO NOTHING
       )
       SELECT id FROM b`,
      [blob.hash, blob.raw.length, blob.meta, blob.raw],
    );
    if (!row) throw new Error('blob insert returned no row');
    return row.id;
  }
  const row = await tx.one<{ id: number; refs: number }>(
    `INSERT INTO blobs (hash, size, refs, meta, data) VALUES ($1, $2, 0, $3, $4)
     ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash RETURNING id, refs`,
    [blob.hash, blob.raw.length, blob.meta, blob.raw],
  );
  if (!row) throw new Error('blob insert returned no row');
  if (row.refs === 0) await indexNewBlob(tx, row.id, blob.text);
  else await indexExistingBlob(tx, row.id, blob.text);
  return row.id;
}

/** A message to add (its blob stored already). */
interface NewRow {
  blobId: number;
  size: number;
  flags: number;
  keywords: string;
  internalDate: number;
}

/**
 * Inserts messages into one mailbox with the next UIDs, in order, with one MODSEQ, and publishes
 * `exists` for each. Call inside a transaction that has locked the mailbox row (or lets this UPDATE
 * lock it: then it must lock no other mailbox after).
 */
async function insertMessages(tx: PgTx, mailboxId: number, items: readonly NewRow[]): Promise<MessageInfo[]> {
  if (items.length === 0) return [];
  const bytes = items.reduce((n, i) => n + i.size, 0);
  // One statement (one round trip while the mailbox row is locked): the UPDATE takes the UIDs and the
  // MODSEQ, the INSERT uses what it returns; no mailbox row, no slot, nothing inserted.
  const slot = await tx.one<{ first: number; modseq: number }>(
    `WITH slot AS (
       UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1, total_size = total_size + $3
       WHERE id = $1 RETURNING uidnext - $2 AS first, highestmodseq AS modseq
     ), added AS (
       INSERT INTO messages (${MESSAGE_COLUMNS})
       SELECT $1, slot.first + v.ord - 1, v.blob_id, v.size, v.flags, v.keywords, v.internaldate, slot.modseq
       FROM slot, unnest($4::bigint[], $5::bigint[], $6::integer[], $7::text[], $8::bigint[])
         WITH ORDINALITY AS v(blob_id, size, flags, keywords, internaldate, ord)
     )
     SELECT first, modseq FROM slot`,
    [
      mailboxId,
      items.length,
      bytes,
      items.map((i) => i.blobId),
      items.map((i) => i.size),
      items.map((i) => i.flags),
      items.map((i) => i.keywords),
      items.map((i) => i.internalDate),
    ],
  );
  if (!slot) throw new StoreNotFoundError(`no mailbox ${mailboxId}`);
  return items.map((item, k) => {
    const uid = slot.first + k;
    tx.publish({ kind: 'exists', mailboxId, uid, modseq: slot.modseq });
    return {
      mailboxId,
      uid,
      blobId: item.blobId,
      size: item.size,
      flags: joinFlags(item.flags, keywordList(item.keywords)),
      internalDate: new Date(item.internalDate),
      modseq: slot.modseq,
    };
  });
}

/**
 * Inserts a message with the next UID of its mailbox and publishes `exists`. Call inside a transaction
 * that has locked the mailbox row (lockMailboxesByName).
 */
export async function insertMessage(
  tx: PgTx,
  input: { mailboxId: number; blobId: number; size: number; flags: number; keywords: string; internalDate: number },
): Promise<MessageInfo> {
  const [info] = await insertMessages(tx, input.mailboxId, [input]);
  return info;
}

/** insertInBulk's statement (hot: every batch of deliveries runs it, `prepared`). */
const BULK = prepared(
  `WITH v AS (
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bytea[], $5::bigint[], $6::integer[], $7::text[], $8::bigint[])
       WITH ORDINALITY AS v(hash, size, meta, data, mailbox_id, flags, keywords, internaldate, ord)
   ), b AS (
     INSERT INTO blobs (hash, size, refs, meta, data)
     SELECT DISTINCT ON (hash) hash, size, 0, meta, data FROM v ORDER BY hash
     ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash RETURNING id, hash, refs
   ), pending AS (
     INSERT INTO search_pending (blob_id) SELECT id FROM b WHERE refs = 0 ON CONFLICT DO NOTHING
   ), n AS (
     SELECT mailbox_id, count(*) AS cnt, sum(size) AS bytes FROM v GROUP BY mailbox_id
   ), slot AS (
     UPDATE mailboxes m SET uidnext = m.uidnext + n.cnt, highestmodseq = m.highestmodseq + n.cnt,
       total_size = m.total_size + n.bytes
     FROM n WHERE m.id = n.mailbox_id
     RETURNING m.id, m.uidnext - n.cnt AS first, m.highestmodseq - n.cnt AS modseq
   ), k AS (
     SELECT v.*, row_number() OVER (PARTITION BY v.mailbox_id ORDER BY v.ord) - 1 AS rank FROM v
   ), r AS (
     SELECT k.ord, k.mailbox_id, slot.first + k.rank AS uid, b.id AS blob_id, k.size, k.flags, k.keywords,
       k.internaldate, slot.modseq + k.rank + 1 AS modseq
     FROM k JOIN slot ON slot.id = k.mailbox_id JOIN b ON b.hash = k.hash
   ), added AS (
     INSERT INTO messages (${MESSAGE_COLUMNS})
     SELECT mailbox_id, uid, blob_id, size, flags, keywords, internaldate, modseq FROM r
   )
   SELECT ord, mailbox_id, uid, blob_id, modseq FROM r ORDER BY ord`,
);

/** Whether a blob can go to insertInBulk: small (straight to its INSERT) and not indexed now. */
export function canInsertInBulk(blob: PreparedBlob): boolean {
  return blob.raw.length <= LOOKUP_FIRST_BYTES && blob.text === null;
}

/**
 * Several messages, each with its blob (canInsertInBulk), into mailboxes this transaction has locked
 * already (deliver.ts), in ONE statement: the blobs as putBlob stores them (a blob given twice is one
 * row), then per mailbox the next UIDs and the next MODSEQs in the rows' order (one MODSEQ per
 * message, as that many insertMessage calls would give: these are separate deliveries). The
 * results are in the rows' order; `exists` is published for each. Throws StoreNotFoundError when a
 * mailbox is missing (nothing of the statement then counts: the caller's transaction must not commit
 * it, deliver.ts runs the batch again).
 */
export async function insertInBulk(
  tx: PgTx,
  rows: readonly {
    mailboxId: number;
    blob: PreparedBlob;
    flags: number;
    keywords: string;
    internalDate: number;
  }[],
): Promise<MessageInfo[]> {
  const found = await tx.rows<{ ord: number; mailbox_id: number; uid: number; blob_id: number; modseq: number }>(BULK, [
    rows.map((r) => r.blob.hash),
    rows.map((r) => r.blob.raw.length),
    rows.map((r) => r.blob.meta),
    rows.map((r) => r.blob.raw),
    rows.map((r) => r.mailboxId),
    rows.map((r) => r.flags),
    rows.map((r) => r.keywords),
    rows.map((r) => r.internalDate),
  ]);
  if (found.length !== rows.length) throw new StoreNotFoundError('a mailbox of a bulk delivery is missing');
  return found.map((f, i) => {
    const r = rows[i];
    tx.publish({ kind: 'exists', mailboxId: f.mailbox_id, uid: f.uid, modseq: f.modseq });
    return {
      mailboxId: f.mailbox_id,
      uid: f.uid,
      blobId: f.blob_id,
      size: r.blob.raw.length,
      flags: joinFlags(r.flags, keywordList(r.keywords)),
      internalDate: new Date(r.internalDate),
      modseq: f.modseq,
    };
  });
}

/** insertBlobAndMessage's statement (hot: every delivery runs it, `prepared`). */
const BLOB_AND_MESSAGE = prepared(
  `WITH b AS (
       INSERT INTO blobs (hash, size, refs, meta, data) VALUES ($1, $2, 0, $3, $4)
       ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash RETURNING id, refs
     ), pending AS (
       INSERT INTO search_pending (blob_id) SELECT id FROM b WHERE refs = 0 ON CONFLICT DO NOTHING
     ), slot AS (
       UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1, total_size = total_size + $2
       WHERE id = $5 RETURNING uidnext - 1 AS first, highestmodseq AS modseq
     ), added AS (
       INSERT INTO messages (${MESSAGE_COLUMNS})
       SELECT $5::bigint, slot.first, b.id, $2::bigint, $6::integer, $7::text, $8::bigint, slot.modseq FROM slot, b
     )
     SELECT b.id, slot.first, slot.modseq FROM b LEFT JOIN slot ON true`,
);

/**
 * putBlob and insertMessage in ONE statement (one round trip instead of two) when the blob goes
 * straight to its INSERT and is not indexed now (a small message: the common delivery); otherwise the
 * two calls. Call inside a transaction that has locked the mailbox row already (deliver.ts): the
 * statement then locks only the blob row, as putBlob does. The message row references the blob
 * inserted in the same statement (its foreign key and the refcount trigger run at the statement's end
 * and see it); `refs` read by the blob's INSERT is the value before this message, so the pending mark
 * goes with a new blob only, as in putBlob.
 */
export async function insertBlobAndMessage(
  tx: PgTx,
  blob: PreparedBlob,
  input: { mailboxId: number; flags: number; keywords: string; internalDate: number },
): Promise<MessageInfo> {
  const size = blob.raw.length;
  if (blob.raw.length > LOOKUP_FIRST_BYTES || blob.text !== null) {
    const blobId = await putBlob(tx, blob);
    return insertMessage(tx, { ...input, blobId, size });
  }
  const row = await tx.one<{ id: number; first: number | null; modseq: number | null }>(BLOB_AND_MESSAGE, [
    blob.hash,
    size,
    blob.meta,
    blob.raw,
    input.mailboxId,
    input.flags,
    input.keywords,
    input.internalDate,
  ]);
  if (!row) throw new Error('blob insert returned no row');
  if (row.first === null || row.modseq === null) throw new StoreNotFoundError(`no mailbox ${input.mailboxId}`);
  tx.publish({ kind: 'exists', mailboxId: input.mailboxId, uid: row.first, modseq: row.modseq });
  return {
    mailboxId: input.mailboxId,
    uid: row.first,
    blobId: row.id,
    size,
    flags: joinFlags(input.flags, keywordList(input.keywords)),
    internalDate: new Date(input.internalDate),
    modseq: row.modseq,
  };
}

/**
 * Deletes those of `uids` that are in the (locked) mailbox — with `onlyDeleted`, only those whose
 * \Deleted flag is set now — records them as expunged with one new MODSEQ, gives their bytes back to
 * `total_size` and publishes `expunge`. Returns the removed UIDs (ascending) and the MODSEQ (0: none).
 */
async function removeMessages(
  tx: PgTx,
  mailboxId: number,
  uids: readonly number[],
  onlyDeleted: boolean,
): Promise<{ uids: number[]; modseq: number }> {
  if (uids.length === 0) return { uids: [], modseq: 0 };
  const gone = await tx.rows<{ uid: number; size: number }>(
    `DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])
     ${onlyDeleted ? `AND flags & ${FLAG_DELETED} <> 0` : ''} RETURNING uid, size`,
    [mailboxId, uids],
  );
  if (gone.length === 0) return { uids: [], modseq: 0 };
  const removed = gone.map((g) => g.uid).sort((a, b) => a - b);
  const bytes = gone.reduce((n, g) => n + g.size, 0);
  const modseq = await tx.value<number>(
    `UPDATE mailboxes SET highestmodseq = highestmodseq + 1, total_size = total_size - $2 WHERE id = $1
     RETURNING highestmodseq`,
    [mailboxId, bytes],
  );
  if (modseq === undefined) throw new StoreNotFoundError(`no mailbox ${mailboxId}`);
  await tx.run(
    `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $2 FROM unnest($3::bigint[]) AS u
     ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq`,
    [mailboxId, modseq, removed],
  );
  tx.publish({ kind: 'expunge', mailboxId, uids: removed, modseq });
  return { uids: removed, modseq };
}

/** Distinct positive integer UIDs. */
function uniqueUids(uids: readonly number[]): number[] {
  return [...new Set(uids)].filter((u) => Number.isSafeInteger(u) && u > 0);
}

/** Locks the row of an account before any mailbox row (db.ts's order), for a quota decision later. */
async function lockAccount(tx: PgTx, accountId: number): Promise<void> {
  await tx.run('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', [accountId]);
}

export function pgMessages(ctx: PgContext, opts: { defaultQuotaBytes: number | null }): MessageStore {
  const rowsIn = (q: PgQueryable, mailboxId: number, uids: readonly number[]) =>
    q.rows<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid`,
      [mailboxId, uids],
    );

  /** Throws OverQuotaError when `additions` take an account beyond its quota (locks limited accounts). */
  async function refuseOverQuota(tx: PgTx, additions: QuotaAdditions): Promise<void> {
    const over = await accountsOverQuota(tx, opts.defaultQuotaBytes, additions);
    if (over.length > 0) throw new OverQuotaError(over, Math.max(...over.map((id) => additions.get(id) ?? 0)));
  }

  /**
   * Copies messages (same blob, flags, date) into another mailbox inside a transaction: [source, new]
   * UIDs, ascending by source. The copies must fit the target account's quota unless they stay in the
   * source's account and `move` says the originals go. Locks both mailbox rows (ascending id), after
   * the target account's row when the quota is decided.
   */
  async function copyInto(
    tx: PgTx,
    fromMailboxId: number,
    uids: readonly number[],
    toMailboxId: number,
    move: boolean,
  ): Promise<[number, number][]> {
    // A mailbox's account never changes: read without a lock, to lock the account first.
    const owners = new Map(
      (
        await tx.rows<{ id: number; account_id: number }>(
          'SELECT id, account_id FROM mailboxes WHERE id = ANY($1::bigint[])',
          [[fromMailboxId, toMailboxId]],
        )
      ).map((r) => [r.id, r.account_id]),
    );
    const targetAccount = owners.get(toMailboxId);
    if (targetAccount === undefined) throw new StoreNotFoundError(`no mailbox ${toMailboxId}`);
    const list = uniqueUids(uids);
    if (list.length === 0) return [];
    const checkQuota = !move || owners.get(fromMailboxId) !== targetAccount;
    if (checkQuota) await lockAccount(tx, targetAccount);
    const locked = await lockMailboxes(tx, [fromMailboxId, toMailboxId]);
    if (!locked.has(toMailboxId)) throw new StoreNotFoundError(`no mailbox ${toMailboxId}`);
    const rows = await rowsIn(tx, fromMailboxId, list);
    if (rows.length === 0) return [];
    if (checkQuota) {
      const additions: QuotaAdditions = new Map();
      for (const row of rows) addBytes(additions, targetAccount, row.size);
      await refuseOverQuota(tx, additions);
    }
    const copies = await insertMessages(
      tx,
      toMailboxId,
      rows.map((r) => ({
        blobId: r.blob_id,
        size: r.size,
        flags: r.flags,
        keywords: r.keywords,
        internalDate: r.internaldate,
      })),
    );
    return rows.map((r, i) => [r.uid, copies[i].uid]);
  }

  function appendMany(inputs: NewMessage[]): Promise<MessageInfo[]> {
    const prepared = inputs.map((input) => ({
      mailboxId: input.mailboxId,
      blob: prepareBlob(input.raw, input.meta, ctx.indexAtWrite),
      size: input.raw.length,
      flags: splitFlags(input.flags ?? []),
      internalDate: (input.internalDate ?? new Date()).getTime(),
    }));
    return ctx.tx(async (tx) => {
      if (prepared.length === 0) return [];
      const ids = [...new Set(prepared.map((p) => p.mailboxId))];
      // Accounts first (the quota, quota.ts), then the mailboxes: a mailbox's account never changes.
      const owners = new Map(
        (
          await tx.rows<{ id: number; account_id: number }>(
            'SELECT id, account_id FROM mailboxes WHERE id = ANY($1::bigint[])',
            [ids],
          )
        ).map((r) => [r.id, r.account_id]),
      );
      const additions: QuotaAdditions = new Map();
      for (const p of prepared) {
        const accountId = owners.get(p.mailboxId);
        if (accountId === undefined) throw new StoreNotFoundError(`no mailbox ${p.mailboxId}`);
        addBytes(additions, accountId, p.size);
      }
      await refuseOverQuota(tx, additions);
      const locked = await lockMailboxes(tx, ids);
      for (const id of ids) if (!locked.has(id)) throw new StoreNotFoundError(`no mailbox ${id}`);
      const items: (NewRow & { mailboxId: number })[] = [];
      for (const p of prepared) {
        items.push({
          mailboxId: p.mailboxId,
          blobId: await putBlob(tx, p.blob),
          size: p.size,
          flags: p.flags.bits,
          keywords: p.flags.keywords.join(' '),
          internalDate: p.internalDate,
        });
      }
      // One UID range and MODSEQ per mailbox, UIDs in the order given.
      const out: MessageInfo[] = new Array(items.length);
      for (const id of ids) {
        const at = items.flatMap((item, i) => (item.mailboxId === id ? [i] : []));
        const infos = await insertMessages(
          tx,
          id,
          at.map((i) => items[i]),
        );
        at.forEach((i, k) => {
          out[i] = infos[k];
        });
      }
      return out;
    });
  }

  function storeFlags(input: SetFlagsInput): Promise<StoreFlagsResult> {
    const change = splitFlags(input.flags);
    const since = input.unchangedSince;
    const list = uniqueUids(input.uids);
    return ctx.tx(
      async (tx) => {
        const result: StoreFlagsResult = { changed: [], unchanged: [], modified: [] };
        if (list.length === 0) return result;
        // The mailbox row first: the test, the read and the change are one step (see the header).
        await tx.run('SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE', [input.mailboxId]);
        const updates: { row: MessageRow; flags: number; keywords: string }[] = [];
        for (const row of await rowsIn(tx, input.mailboxId, list)) {
          // RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is not touched (0 always fails).
          if (since !== undefined && row.modseq > since) {
            result.modified.push(toMessage(row));
            continue;
          }
          const next = applyFlags({ bits: row.flags, keywords: keywordList(row.keywords) }, input.op, change);
          const keywords = next.keywords.join(' ');
          if (next.bits === row.flags && keywords === row.keywords) result.unchanged.push(toMessage(row));
          else updates.push({ row, flags: next.bits, keywords });
        }
        if (updates.length === 0) return result;
        const modseq = await bumpModseq(tx, input.mailboxId); // RFC 7162 §3.1: one per operation
        await tx.run(
          `UPDATE messages m SET flags = v.flags, keywords = v.keywords, modseq = $2
           FROM unnest($3::bigint[], $4::integer[], $5::text[]) AS v(uid, flags, keywords)
           WHERE m.mailbox_id = $1 AND m.uid = v.uid`,
          [
            input.mailboxId,
            modseq,
            updates.map((u) => u.row.uid),
            updates.map((u) => u.flags),
            updates.map((u) => u.keywords),
          ],
        );
        for (const u of updates) {
          const info = toMessage({ ...u.row, flags: u.flags, keywords: u.keywords, modseq });
          result.changed.push(info);
          tx.publish({ kind: 'flags', mailboxId: input.mailboxId, uid: info.uid, flags: info.flags, modseq });
        }
        return result;
      },
      { essential: true },
    );
  }

  /** expunge / expungeDeleted: the mailbox row first, then the delete of what qualifies now. */
  function expungeWhere(mailboxId: number, uids: readonly number[], onlyDeleted: boolean) {
    const list = uniqueUids(uids);
    return ctx.tx(
      async (tx) => {
        if (list.length === 0) return { uids: [], modseq: 0 };
        await tx.run('SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE', [mailboxId]);
        return removeMessages(tx, mailboxId, list, onlyDeleted);
      },
      { essential: true },
    );
  }

  return {
    async list(mailboxId) {
      const rows = await ctx.rows<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 ORDER BY uid`,
        [mailboxId],
      );
      return rows.map(toMessage);
    },

    async listColumns(mailboxId) {
      const rows = await ctx.rows<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 ORDER BY uid`,
        [mailboxId],
      );
      const out = new ColumnsBuilder(rows.length);
      for (const r of rows) out.add(r.uid, r.blob_id, r.size, r.flags, r.keywords, r.internaldate, r.modseq);
      return out.done();
    },

    async changedSince(mailboxId, sinceModseq) {
      const rows = await ctx.rows<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid`,
        [mailboxId, sinceModseq],
      );
      return rows.map(toMessage);
    },

    async countChangedSince(mailboxId, sinceModseq) {
      const rows = await ctx.rows<{ n: string }>(
        'SELECT count(*) AS n FROM messages WHERE mailbox_id = $1 AND modseq > $2',
        [mailboxId, sinceModseq],
      );
      return Number(rows[0].n);
    },

    async get(mailboxId, uid) {
      const row = await ctx.one<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND uid = $2`,
        [mailboxId, uid],
      );
      return row ? toMessage(row) : null;
    },

    async append(input) {
      const [info] = await appendMany([input]);
      return info;
    },

    appendMany,

    async setFlags(input) {
      return (await storeFlags(input)).changed;
    },

    storeFlags,

    async expunge(mailboxId, uids) {
      return (await expungeWhere(mailboxId, uids, false)).uids;
    },

    expungeDeleted(mailboxId, uids) {
      return expungeWhere(mailboxId, uids, true);
    },

    copy(fromMailboxId, uids, toMailboxId) {
      return ctx.tx((tx) => copyInto(tx, fromMailboxId, uids, toMailboxId, false));
    },

    move(fromMailboxId, uids, toMailboxId) {
      return ctx.tx(
        async (tx) => {
          const pairs = await copyInto(tx, fromMailboxId, uids, toMailboxId, true);
          // The copies reference the blobs before the originals go, so the refcount trigger keeps them.
          const { modseq } = await removeMessages(
            tx,
            fromMailboxId,
            pairs.map(([uid]) => uid),
            false,
          );
          return { pairs, modseq };
        },
        { essential: true },
      );
    },

    async expungedSince(mailboxId, sinceModseq) {
      const rows = await ctx.rows<{ uid: number }>(
        'SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid',
        [mailboxId, sinceModseq],
      );
      return rows.map((r) => r.uid);
    },

    async metaMany(mailboxId, uids) {
      const rows = await ctx.rows<{ uid: number; hash: string; meta: string }>(
        `SELECT m.uid, b.hash, b.meta
         FROM unnest($2::bigint[]) AS u(uid)
         JOIN messages m ON m.mailbox_id = $1 AND m.uid = u.uid
         JOIN blobs b ON b.id = m.blob_id`,
        [mailboxId, uniqueUids(uids)],
      );
      const out = new Map<number, { hash: string; meta: JsonValue }>();
      for (const row of rows) out.set(row.uid, { hash: row.hash, meta: JSON.parse(row.meta) as JsonValue });
      return out;
    },

    async readMany(mailboxId, reads) {
      // Per read: the UID, the 1-based start and the length (null: to the end).
      const valid = reads.filter((r) => Number.isSafeInteger(r.uid) && r.uid > 0);
      if (valid.length === 0) return new Map();
      const starts: number[] = [];
      const lengths: (number | null)[] = [];
      for (const r of valid) {
        const start = Math.min(Math.max(0, Math.floor(r.start ?? 0)), INT4_MAX - 1);
        starts.push(start + 1);
        lengths.push(r.end === undefined ? null : Math.min(Math.max(0, Math.floor(r.end) - start), INT4_MAX));
      }
      const rows = await ctx.rows<{ uid: number; data: Buffer | null }>(
        `SELECT m.uid, CASE WHEN r.len IS NULL THEN substring(b.data FROM r.start)
                            ELSE substring(b.data FROM r.start FOR r.len) END AS data
         FROM unnest($2::bigint[], $3::integer[], $4::integer[]) AS r(uid, start, len)
         JOIN messages m ON m.mailbox_id = $1 AND m.uid = r.uid
         JOIN blobs b ON b.id = m.blob_id`,
        [mailboxId, valid.map((r) => r.uid), starts, lengths],
      );
      const out = new Map<number, Buffer>();
      for (const row of rows) out.set(row.uid, row.data ?? Buffer.alloc(0));
      return out;
    },

    searchText(mailboxId, field, needle) {
      return searchText(ctx, mailboxId, field, needle);
    },
  };
}

export function pgBlobs(ctx: PgContext): BlobStore {
  return {
    async read(blobId) {
      const row = await ctx.one<{ data: Buffer }>('SELECT data FROM blobs WHERE id = $1', [blobId]);
      if (!row) throw new StoreNotFoundError(`no blob ${blobId}`);
      return row.data;
    },

    async readRange(blobId, start, end) {
      const from = Math.min(Math.max(0, Math.floor(start)), INT4_MAX - 1);
      const length = Math.min(Math.max(0, Math.floor(end) - from), INT4_MAX);
      // substring() on bytea counts bytes, 1-based; it reads only the chunks of the range.
      const row = await ctx.one<{ data: Buffer | null }>(
        'SELECT substring(data FROM $2 FOR $3) AS data FROM blobs WHERE id = $1',
        [blobId, from + 1, length],
      );
      if (!row) throw new StoreNotFoundError(`no blob ${blobId}`);
      return row.data ?? Buffer.alloc(0);
    },

    async get(blobId) {
      const row = await ctx.one<{ id: number; hash: string; size: number; meta: string }>(
        'SELECT id, hash, size, meta FROM blobs WHERE id = $1',
        [blobId],
      );
      return row ? { id: row.id, hash: row.hash, size: row.size, meta: JSON.parse(row.meta) as JsonValue } : null;
    },
  };
}
