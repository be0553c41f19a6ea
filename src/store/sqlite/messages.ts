/**
 * Messages and blobs in SQLite: APPEND, flags, EXPUNGE, COPY, QRESYNC's expunged set, blob reads.
 *
 * Invariants:
 * - A new message takes the mailbox's UIDNEXT and bumps it, and bumps HIGHESTMODSEQ, in one UPDATE …
 *   RETURNING: UIDs are strictly ascending and never reused, even after expunge or restart.
 * - One write operation (setFlags, expunge) on a mailbox bumps HIGHESTMODSEQ once and stamps every
 *   changed message (or expunged row) with that value; an operation that changes nothing bumps nothing.
 * - Blobs are content-addressed by SHA-256: the same bytes stored twice are one row. A blob row is
 *   deleted by trigger when its last message or queue entry goes (schema.ts).
 * - Changes are reported to `tx.publish` and reach subscribers only after commit (writer.ts).
 * - APPEND and COPY (and MOVE into another account) decide the quota in their write job, before the
 *   first insert (quota.ts), and throw OverQuotaError, which rolls the job back.
 * - UID sets are bound as one JSON array of ascending, disjoint runs (`uidRuns`, `IN_RUNS`), so every
 *   statement has a fixed text and stays in the prepared-statement cache, and `1:*` of a big mailbox
 *   costs what the messages cost, not a JSON list of every UID. Rows read through `IN_RUNS` come in UID
 *   order without an ORDER BY: the runs are walked in order and each walks the primary key.
 * - The batch reads for FETCH walk the JSON list first (CROSS JOIN fixes that order: SQLite's planner
 *   would otherwise scan the mailbox and probe the list) and look each message up by its primary key.
 * - Reads for FETCH go by (mailbox, UID), never by blob id alone: a message expunged by another session
 *   reads as absent, even if its blob id has since been reused.
 * - A blob's meta lives in `blob_meta` (schema V2), so reading it never touches the message bytes, and
 *   `readMany` reads only the requested byte ranges: `substr` of an inline blob, the touched pieces
 *   of a large one (blob-chunks.ts), so a range read never loads a whole large message.
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
import { insertBlobRow, readBlob, readBlobRange, readChunks } from './blob-chunks.js';
import type { SqliteContext } from './db.js';
import { bumpModseq, mailboxRowById } from './mailboxes.js';
import { accountsOverQuota } from './quota.js';
import { indexExistingBlob, indexNewBlob, searchText } from './search.js';
import { ESSENTIAL, type WriteTx } from './writer.js';

/** Rows per read of `listColumns`. */
const COLUMNS_PAGE = 10_000;

/**
 * The id of the blob with these bytes, inserting it when new, with its search index row (or pending
 * mark) in the same transaction. Call inside a write job.
 */
export function putBlob(ctx: SqliteContext, blob: PreparedBlob): number {
  const existing = ctx.pluck('SELECT id FROM blobs WHERE hash = ?').get(blob.hash) as number | undefined;
  if (existing !== undefined) {
    indexExistingBlob(ctx, existing, blob.text);
    return existing;
  }
  const id = insertBlobRow(ctx, blob.hash, blob.raw);
  ctx.sql('INSERT INTO blob_meta (blob_id, meta) VALUES (?, ?)').run(id, blob.meta);
  indexNewBlob(ctx, id, blob.text);
  return id;
}

/**
 * A UID list as the JSON text of its runs, `[[first, last], …]`, ascending and disjoint (invalid UIDs
 * dropped, duplicates merged): `1:*` of a big mailbox is one pair, not a list of every UID.
 */
function uidRuns(uids: readonly number[]): string {
  return JSON.stringify(runsOf(uids));
}

/** The runs of `uidRuns`, as pairs. */
function runsOf(uids: readonly number[]): [number, number][] {
  const sorted = Uint32Array.from(uids.filter((u) => Number.isInteger(u) && u > 0 && u <= 0xffffffff)).sort();
  const runs: [number, number][] = [];
  for (const uid of sorted) {
    const last = runs[runs.length - 1];
    if (last && uid <= last[1] + 1) last[1] = uid;
    else runs.push([uid, uid]);
  }
  return runs;
}

/**
 * The messages of mailbox `@mailbox` (alias `m`) whose UIDs fall in the runs `@runs` (uidRuns), in UID order:
 * each run walks the primary key from its first UID, so a statement costs what it finds, not the
 * mailbox's size or the list's length.
 */
const IN_RUNS = `json_each(@runs) r CROSS JOIN messages m ON m.mailbox_id = @mailbox AND m.uid BETWEEN r.value ->> 0 AND r.value ->> 1`;

/** What a STORE makes of one (flags, keywords) pair, and the UIDs that had it and change. */
interface FlagOutcome {
  before: string[];
  bits: number;
  keywords: string;
  after: string[];
  same: boolean;
  uids: number[];
}

/**
 * Deletes messages of one mailbox, records them as expunged with one new modseq and publishes
 * `expunge`. `uids` must exist, ascending. Call inside a write job. Returns the modseq.
 */
function removeMessages(ctx: SqliteContext, tx: WriteTx, mailboxId: number, uids: number[]): number {
  const modseq = bumpModseq(ctx, mailboxId); // RFC 7162 §3.1: one modseq per operation
  const where = { mailbox: mailboxId, runs: uidRuns(uids), modseq };
  ctx
    .sql(`INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) SELECT @mailbox, m.uid, @modseq FROM ${IN_RUNS}`)
    .run(where);
  ctx.sql(`DELETE FROM messages WHERE mailbox_id = @mailbox AND uid IN (SELECT m.uid FROM ${IN_RUNS})`).run(where);
  tx.publish({ kind: 'expunge', mailboxId, uids, modseq });
  return modseq;
}

/** Inserts a message with the next UID of its mailbox and publishes `exists`. Call inside a write job. */
export function insertMessage(
  ctx: SqliteContext,
  tx: WriteTx,
  input: { mailboxId: number; blobId: number; size: number; flags: number; keywords: string; internalDate: number },
): MessageInfo {
  const slot = ctx
    .sql(
      `UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 WHERE id = ?
       RETURNING uidnext - 1 AS uid, highestmodseq AS modseq`,
    )
    .get(input.mailboxId) as { uid: number; modseq: number } | undefined;
  if (!slot) throw new StoreNotFoundError(`no mailbox ${input.mailboxId}`);
  ctx
    .sql(`INSERT INTO messages (${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(
      input.mailboxId,
      slot.uid,
      input.blobId,
      input.size,
      input.flags,
      input.keywords,
      input.internalDate,
      slot.modseq,
    );
  tx.publish({ kind: 'exists', mailboxId: input.mailboxId, uid: slot.uid, modseq: slot.modseq });
  return {
    mailboxId: input.mailboxId,
    uid: slot.uid,
    blobId: input.blobId,
    size: input.size,
    flags: joinFlags(input.flags, keywordList(input.keywords)),
    internalDate: new Date(input.internalDate),
    modseq: slot.modseq,
  };
}

/** A whole message as `readMany` asks for it: a length beyond any message. */
const WHOLE = Number.MAX_SAFE_INTEGER;

/** Throws OverQuotaError when `additions` take an account beyond its quota. Call inside a write job. */
export function refuseOverQuota(ctx: SqliteContext, defaultQuotaBytes: number | null, additions: QuotaAdditions): void {
  const over = accountsOverQuota(ctx, defaultQuotaBytes, additions);
  if (over.length > 0) throw new OverQuotaError(over, Math.max(...over.map((id) => additions.get(id) ?? 0)));
}

export function sqliteMessages(ctx: SqliteContext, opts: { defaultQuotaBytes: number | null }): MessageStore {
  /**
   * Copies messages (same blob, flags, date) into another mailbox inside a write job: [source, new]
   * UIDs. The copies must fit the target account's quota unless they stay in the source's account and
   * `move` says the originals go.
   */
  const copyInto = (
    tx: WriteTx,
    fromMailboxId: number,
    uids: readonly number[],
    toMailboxId: number,
    move: boolean,
  ): [number, number][] => {
    const target = mailboxRowById(ctx, toMailboxId);
    if (!target) throw new StoreNotFoundError(`no mailbox ${toMailboxId}`);
    const source = { mailbox: fromMailboxId, runs: uidRuns(uids) };
    const sources = ctx.pluck(`SELECT m.uid FROM ${IN_RUNS}`).all(source) as number[];
    const count = sources.length;
    if (count === 0) return [];
    if (!move || mailboxRowById(ctx, fromMailboxId)?.account_id !== target.account_id) {
      const bytes = ctx.pluck(`SELECT total(m.size) FROM ${IN_RUNS}`).get(source) as number;
      refuseOverQuota(ctx, opts.defaultQuotaBytes, new Map([[target.account_id, bytes]]));
    }
    // One UPDATE takes `count` UIDs and modseqs, one INSERT … SELECT makes the copies in source order:
    // the same UIDs and modseqs as one insertMessage per copy, without a statement per message.
    const slot = ctx
      .sql(
        `UPDATE mailboxes SET uidnext = uidnext + @count, highestmodseq = highestmodseq + @count WHERE id = @id
         RETURNING uidnext - @count AS uid, highestmodseq - @count + 1 AS modseq`,
      )
      .get({ count, id: toMailboxId }) as { uid: number; modseq: number };
    ctx
      .sql(
        `INSERT INTO messages (${MESSAGE_COLUMNS})
         SELECT @to, @uid + row_number() OVER (ORDER BY m.uid) - 1, m.blob_id, m.size, m.flags, m.keywords,
                m.internaldate, @modseq + row_number() OVER (ORDER BY m.uid) - 1
         FROM ${IN_RUNS} ORDER BY m.uid`,
      )
      .run({ ...source, to: toMailboxId, uid: slot.uid, modseq: slot.modseq });
    const pairs: [number, number][] = new Array(count);
    for (let i = 0; i < count; i++) {
      pairs[i] = [sources[i], slot.uid + i];
      tx.publish({ kind: 'exists', mailboxId: toMailboxId, uid: slot.uid + i, modseq: slot.modseq + i });
    }
    return pairs;
  };

  function appendMany(inputs: NewMessage[]): Promise<MessageInfo[]> {
    const prepared = inputs.map((input) => ({
      mailboxId: input.mailboxId,
      blob: prepareBlob(input.raw, input.meta, ctx.indexAtWrite),
      size: input.raw.length,
      flags: splitFlags(input.flags ?? []),
      internalDate: (input.internalDate ?? new Date()).getTime(),
    }));
    return ctx.write((tx) => {
      const additions: QuotaAdditions = new Map();
      for (const p of prepared) {
        const mailbox = mailboxRowById(ctx, p.mailboxId);
        if (!mailbox) throw new StoreNotFoundError(`no mailbox ${p.mailboxId}`);
        addBytes(additions, mailbox.account_id, p.size);
      }
      refuseOverQuota(ctx, opts.defaultQuotaBytes, additions);
      return prepared.map((p) =>
        insertMessage(ctx, tx, {
          mailboxId: p.mailboxId,
          blobId: putBlob(ctx, p.blob),
          size: p.size,
          flags: p.flags.bits,
          keywords: p.flags.keywords.join(' '),
          internalDate: p.internalDate,
        }),
      );
    });
  }

  function storeFlags(input: SetFlagsInput): Promise<StoreFlagsResult> {
    const change = splitFlags(input.flags);
    const since = input.unchangedSince;
    const mailboxId = input.mailboxId;
    const where = { mailbox: mailboxId, runs: uidRuns(input.uids) };
    // What the operation makes of each distinct (flags, keywords) pair, worked out once per pair: a
    // STORE on a big mailbox meets few of them. The flag lists are shared by the results that have them.
    const outcomes = new Map<string, FlagOutcome>();
    const outcomeOf = (bits: number, keywords: string): FlagOutcome => {
      const key = `${bits} ${keywords}`;
      let o = outcomes.get(key);
      if (!o) {
        const before = keywordList(keywords);
        const next = applyFlags({ bits, keywords: before }, input.op, change);
        const nextKeywords = next.keywords.join(' ');
        o = {
          before: joinFlags(bits, before),
          bits: next.bits,
          keywords: nextKeywords,
          after: joinFlags(next.bits, next.keywords),
          same: next.bits === bits && nextKeywords === keywords,
          uids: [],
        };
        outcomes.set(key, o);
      }
      return o;
    };
    return ctx.write((tx) => {
      const result: StoreFlagsResult = { changed: [], unchanged: [], modified: [] };
      const rows = ctx
        .sql(`SELECT m.uid, m.blob_id, m.size, m.flags, m.keywords, m.internaldate, m.modseq FROM ${IN_RUNS} -- raw`)
        .raw(true)
        .all(where) as [number, number, number, number, string, number, number][];
      const info = (r: (typeof rows)[number], flags: string[], modseq: number): MessageInfo => ({
        mailboxId,
        uid: r[0],
        blobId: r[1],
        size: r[2],
        flags,
        internalDate: new Date(r[5]),
        modseq,
      });
      let modseq = 0;
      for (const r of rows) {
        const o = outcomeOf(r[3], r[4]);
        // RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is not touched (0 always fails).
        if (since !== undefined && r[6] > since) result.modified.push(info(r, o.before, r[6]));
        else if (o.same) result.unchanged.push(info(r, o.before, r[6]));
        else {
          if (modseq === 0) modseq = bumpModseq(ctx, mailboxId); // RFC 7162 §3.1: one per operation
          o.uids.push(r[0]);
          result.changed.push(info(r, o.after, modseq));
          tx.publish({ kind: 'flags', mailboxId, uid: r[0], flags: o.after, modseq });
        }
      }
      // One UPDATE per run of UIDs that end with the same flags: one for `STORE 1:* +FLAGS (\Seen)`
      // on a mailbox where no message had it.
      const update = ctx.sql(
        `UPDATE messages SET flags = @bits, keywords = @keywords, modseq = @modseq
         WHERE mailbox_id = @mailbox AND uid BETWEEN @first AND @last`,
      );
      for (const o of outcomes.values()) {
        for (const [first, last] of runsOf(o.uids)) {
          update.run({ bits: o.bits, keywords: o.keywords, modseq, mailbox: mailboxId, first, last });
        }
      }
      return result;
    }, ESSENTIAL);
  }

  return {
    async list(mailboxId) {
      const rows = ctx.sql(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? ORDER BY uid`).all(mailboxId);
      return (rows as MessageRow[]).map(toMessage);
    },

    async listColumns(mailboxId) {
      const count = ctx.pluck('SELECT count(*) FROM messages WHERE mailbox_id = ?').get(mailboxId) as number;
      const out = new ColumnsBuilder(count);
      // Raw rows (arrays, no object per row), a page at a time by the primary key: `all` is faster than
      // `iterate`, and pages bound what one read holds. This statement text is used only here, so making
      // its cached statement raw changes nothing else.
      const page = ctx
        .sql(
          `SELECT uid, blob_id, size, flags, keywords, internaldate, modseq FROM messages
           WHERE mailbox_id = ? AND uid > ? ORDER BY uid LIMIT ${COLUMNS_PAGE}`,
        )
        .raw(true);
      for (let after = 0; ; ) {
        const rows = page.all(mailboxId, after) as [number, number, number, number, string, number, number][];
        for (const r of rows) out.add(r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
        if (rows.length < COLUMNS_PAGE) break;
        after = rows[rows.length - 1][0];
      }
      return out.done();
    },

    async changedSince(mailboxId, sinceModseq) {
      const rows = ctx
        .sql(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`)
        .all(mailboxId, sinceModseq);
      return (rows as MessageRow[]).map(toMessage);
    },

    async countChangedSince(mailboxId, sinceModseq) {
      return ctx
        .pluck('SELECT count(*) FROM messages WHERE mailbox_id = ? AND modseq > ?')
        .get(mailboxId, sinceModseq) as number;
    },

    async get(mailboxId, uid) {
      const row = ctx
        .sql(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND uid = ?`)
        .get(mailboxId, uid);
      return row ? toMessage(row as MessageRow) : null;
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

    expunge(mailboxId, uids) {
      const where = { mailbox: mailboxId, runs: uidRuns(uids) };
      return ctx.write((tx) => {
        const removed = ctx.pluck(`SELECT m.uid FROM ${IN_RUNS}`).all(where) as number[];
        if (removed.length > 0) removeMessages(ctx, tx, mailboxId, removed);
        return removed;
      }, ESSENTIAL);
    },

    expungeDeleted(mailboxId, uids) {
      const where = { mailbox: mailboxId, runs: uidRuns(uids) };
      return ctx.write((tx) => {
        const removed = ctx
          .pluck(`SELECT m.uid FROM ${IN_RUNS} WHERE m.flags & ${FLAG_DELETED} != 0`)
          .all(where) as number[];
        const modseq = removed.length > 0 ? removeMessages(ctx, tx, mailboxId, removed) : 0;
        return { uids: removed, modseq };
      }, ESSENTIAL);
    },

    copy(fromMailboxId, uids, toMailboxId) {
      return ctx.write((tx) => copyInto(tx, fromMailboxId, uids, toMailboxId, false));
    },

    move(fromMailboxId, uids, toMailboxId) {
      return ctx.write((tx) => {
        const pairs = copyInto(tx, fromMailboxId, uids, toMailboxId, true);
        // The copies reference the blobs before the originals go, so the blob GC trigger keeps them.
        const modseq =
          pairs.length > 0
            ? removeMessages(
                ctx,
                tx,
                fromMailboxId,
                pairs.map(([uid]) => uid),
              )
            : 0;
        return { pairs, modseq };
      }, ESSENTIAL);
    },

    async expungedSince(mailboxId, sinceModseq) {
      return ctx
        .pluck('SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid')
        .all(mailboxId, sinceModseq) as number[];
    },

    async metaMany(mailboxId, uids) {
      const rows = ctx
        .sql(
          `SELECT m.uid AS uid, b.hash AS hash, bm.meta AS meta
           FROM ${IN_RUNS}
           JOIN blobs b ON b.id = m.blob_id
           JOIN blob_meta bm ON bm.blob_id = m.blob_id`,
        )
        .all({ mailbox: mailboxId, runs: uidRuns(uids) }) as { uid: number; hash: string; meta: string }[];
      const out = new Map<number, { hash: string; meta: JsonValue }>();
      for (const row of rows) out.set(row.uid, { hash: row.hash, meta: JSON.parse(row.meta) as JsonValue });
      return out;
    },

    async readMany(mailboxId, reads) {
      // [uid, 1-based start, length] per message; substr() reads only that range of an inline BLOB.
      const list = reads.map((r) => {
        const start = Math.max(0, Math.floor(r.start ?? 0));
        const length = r.end === undefined ? WHOLE : Math.max(0, Math.floor(r.end) - start);
        return [r.uid, start + 1, length];
      });
      const rows = ctx
        .sql(
          `SELECT m.uid AS uid, substr(b.data, j.value ->> 1, j.value ->> 2) AS data, b.id AS blob,
                  b.size AS size, length(b.data) < b.size AS chunked, j.value ->> 1 AS start, j.value ->> 2 AS length
           FROM json_each(?) j
           CROSS JOIN messages m ON m.mailbox_id = ? AND m.uid = j.value ->> 0
           JOIN blobs b ON b.id = m.blob_id`,
        )
        .all(JSON.stringify(list), mailboxId) as {
        uid: number;
        data: Buffer | null;
        blob: number;
        size: number;
        chunked: number;
        start: number;
        length: number;
      }[];
      const out = new Map<number, Buffer>();
      for (const row of rows) {
        const from = row.start - 1;
        const data = row.chunked
          ? readChunks(ctx, row.blob, row.size, from, Math.min(row.size, from + row.length))
          : row.data;
        out.set(row.uid, data ?? Buffer.alloc(0));
      }
      return out;
    },

    async searchText(mailboxId, field, needle) {
      return searchText(ctx, mailboxId, field, needle);
    },
  };
}

export function sqliteBlobs(ctx: SqliteContext): BlobStore {
  return {
    async read(blobId) {
      const data = readBlob(ctx, blobId);
      if (data === undefined) throw new StoreNotFoundError(`no blob ${blobId}`);
      return data;
    },

    async readRange(blobId, start, end) {
      const data = readBlobRange(ctx, blobId, Math.max(0, Math.floor(start)), Math.max(0, Math.floor(end)));
      if (data === undefined) throw new StoreNotFoundError(`no blob ${blobId}`);
      return data;
    },

    async get(blobId) {
      const row = ctx
        .sql('SELECT b.id, b.hash, b.size, m.meta FROM blobs b JOIN blob_meta m ON m.blob_id = b.id WHERE b.id = ?')
        .get(blobId) as { id: number; hash: string; size: number; meta: string } | undefined;
      return row ? { id: row.id, hash: row.hash, size: row.size, meta: JSON.parse(row.meta) as JsonValue } : null;
    },
  };
}
