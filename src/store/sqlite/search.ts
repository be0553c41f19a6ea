/**
 * The body search index of the SQLite backend: an FTS5 table with the trigram tokenizer over the
 * decoded, case-folded text of each blob (src/mail `indexText`), for IMAP SEARCH BODY/TEXT.
 *
 * Invariants:
 * - The index narrows, the text decides: `searchText` returns candidates, a superset of the messages
 *   whose text contains the needle. It holds exactly the strings the IMAP engine compares (folded the
 *   same way) and the trigram tokenizer runs case-sensitively on them, so a phrase query finds every
 *   message containing the folded needle; false positives are left to the engine's check.
 * - One row per blob (rowid = blob id); the row goes with the blob (trigger `blobs_search_gc`). The
 *   table is contentless (`content=''`, `contentless_delete=1`): it keeps the trigram positions, not a
 *   second copy of the text.
 * - A blob without a row is listed in `search_pending` (schema V9): new blobs until the indexer takes
 *   them (`indexPending`, in batches, off the delivery's transaction: indexing costs about as much as
 *   the rest of a delivery, ~1-3 ms for a 4 KB message), blobs stored before the index existed or while
 *   it was unavailable, and blobs `reindex --all` marks. Their messages are always candidates, so
 *   results are right before they are indexed. With `indexAtWrite` a new blob is indexed in the
 *   transaction that stores it instead.
 * - The FTS table and its trigger are created when the store opens, not by a migration: they need
 *   FTS5 with the trigram tokenizer and `contentless_delete` (SQLite >= 3.43). Without them the store
 *   works unchanged, `searchText` answers null (the engine reads every message) and every new blob is
 *   pending.
 * - Trigrams need needles of at least 3 characters (code points); shorter ones get null.
 * - Messages over INDEX_MAX_BYTES are never indexed: they stay pending, always candidates, read at each
 *   search as before (decoding and indexing megabytes would hold the server's one thread and memory).
 */
import type Database from 'better-sqlite3';
import { fold, type IndexText } from '../../mail/search.js';
import { INDEX_MAX_BYTES, prepareIndexText } from '../search-text.js';
import type { JsonValue, SearchIndexStatus, SearchIndexStore } from '../types.js';
import { readBlob } from './blob-chunks.js';
import type { SqliteContext } from './db.js';

const CREATE = `
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5(
  body, header, mime,
  tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1, detail = full
);
CREATE TRIGGER IF NOT EXISTS blobs_search_gc AFTER DELETE ON blobs BEGIN
  DELETE FROM search_text WHERE rowid = OLD.id;
END;
`;

/**
 * Creates the index table when this SQLite can (see the header); returns whether the index is
 * there. `enabled: false` (tests, comparisons) leaves the database as it is and reports no index.
 */
export function ensureSearchIndex(db: Database.Database, enabled = true): boolean {
  if (!enabled) return false;
  const exists = () =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_text'").pluck().get() === 1;
  if (exists()) return true;
  try {
    db.transaction(() => db.exec(CREATE)).immediate();
    return exists();
  } catch {
    return false;
  }
}

// The largest message the index takes and the texts it holds: shared with PostgreSQL (../search-text.ts).
export { INDEX_MAX_BYTES, prepareIndexText };

/**
 * Records a new blob in the index, or as pending when there is no text or no index. Call inside the
 * write job that inserted the blob.
 */
export function indexNewBlob(ctx: SqliteContext, blobId: number, text: IndexText | null): void {
  if (text === null || !ctx.searchIndex) {
    ctx.sql('INSERT OR IGNORE INTO search_pending (blob_id) VALUES (?)').run(blobId);
    return;
  }
  ctx
    .sql('INSERT INTO search_text (rowid, body, header, mime) VALUES (?, ?, ?, ?)')
    .run(blobId, text.body, text.header, text.mime);
}

/** An existing blob stored again: index it now if it was pending and its text is at hand. */
export function indexExistingBlob(ctx: SqliteContext, blobId: number, text: IndexText | null): void {
  if (text === null || !ctx.searchIndex) return;
  const pending = ctx.pluck('DELETE FROM search_pending WHERE blob_id = ? RETURNING blob_id').get(blobId);
  if (pending === undefined) return;
  ctx.sql('DELETE FROM search_text WHERE rowid = ?').run(blobId);
  indexNewBlob(ctx, blobId, text);
}

/** An FTS5 string: the needle as one phrase (RFC-less: FTS5 query syntax, `"` doubled). */
function phrase(needle: string): string {
  return `"${needle.replaceAll('"', '""')}"`;
}

/** `MessageStore.searchText` for SQLite. */
export function searchText(
  ctx: SqliteContext,
  mailboxId: number,
  field: 'body' | 'text',
  needle: string,
): Set<number> | null {
  if (!ctx.searchIndex) return null;
  const folded = fold(needle);
  // Trigrams: a shorter needle has none to look up. NUL cannot be bound into a query string.
  if ([...folded].length < 3 || folded.includes('\0')) return null;
  const query = `${field === 'body' ? '{body}' : '{body header mime}'} : ${phrase(folded)}`;
  const uids = new Set<number>(
    ctx
      .pluck(
        `SELECT m.uid FROM search_text s JOIN messages m ON m.blob_id = s.rowid
         WHERE search_text MATCH ? AND m.mailbox_id = ?`,
      )
      .all(query, mailboxId) as number[],
  );
  // Messages whose content is not indexed yet are candidates too.
  for (const uid of ctx
    .pluck('SELECT m.uid FROM search_pending p JOIN messages m ON m.blob_id = p.blob_id WHERE m.mailbox_id = ?')
    .all(mailboxId) as number[]) {
    uids.add(uid);
  }
  return uids;
}

/** Bytes of messages one `indexPending` call takes at most (beyond its first), to keep its write short. */
const BATCH_BYTES = 256 * 1024;

/** `Store.searchIndex` for SQLite: status, and indexing pending blobs in batches (`postbode reindex`). */
export function sqliteSearchIndex(ctx: SqliteContext): SearchIndexStore {
  return {
    async status(): Promise<SearchIndexStatus> {
      const row = ctx
        .sql(`SELECT (SELECT count(*) FROM blobs) AS blobs, (SELECT count(*) FROM search_pending) AS pending`)
        .get() as { blobs: number; pending: number };
      return { available: ctx.searchIndex, indexed: row.blobs - row.pending, pending: row.pending };
    },

    async indexPending(limit) {
      if (!ctx.searchIndex) return 0;
      // Read and decode outside the write job, so the write lock is held only for the inserts.
      const due = ctx
        .sql(
          `SELECT p.blob_id AS id, b.size AS size FROM search_pending p JOIN blobs b ON b.id = p.blob_id
           WHERE b.size <= ? ORDER BY p.blob_id LIMIT ?`,
        )
        .all(INDEX_MAX_BYTES, Math.max(1, Math.floor(limit))) as { id: number; size: number }[];
      const texts: { id: number; text: IndexText }[] = [];
      let bytes = 0;
      for (const d of due) {
        if (texts.length > 0 && bytes + d.size > BATCH_BYTES) break;
        bytes += d.size;
        const meta = ctx.pluck('SELECT meta FROM blob_meta WHERE blob_id = ?').get(d.id) as string | undefined;
        const data = meta === undefined ? undefined : readBlob(ctx, d.id);
        if (meta !== undefined && data !== undefined) {
          texts.push({ id: d.id, text: prepareIndexText(data, JSON.parse(meta) as JsonValue) });
        }
      }
      if (texts.length === 0) return 0;
      await ctx.write(() => {
        for (const { id, text } of texts) indexExistingBlob(ctx, id, text);
      });
      return texts.length;
    },

    markAllPending() {
      return ctx.write(
        () => ctx.sql('INSERT OR IGNORE INTO search_pending (blob_id) SELECT id FROM blobs').run().changes as number,
      );
    },
  };
}
