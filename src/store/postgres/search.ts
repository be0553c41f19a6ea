/**
 * The body search index of the PostgreSQL backend (as sqlite/search.ts): the case-folded texts of
 * each blob (src/mail `indexText`) in `search_text`, with `pg_trgm` GIN indexes, for IMAP SEARCH
 * BODY/TEXT.
 *
 * Invariants:
 * - The index narrows, the text decides: `searchText` returns candidates, a superset of the messages
 *   whose text contains the needle. `search_text` holds exactly the strings the IMAP engine compares,
 *   already folded (`fold`), and the needle is folded the same way and looked up with a case-SENSITIVE
 *   `LIKE '%needle%'` (wildcards escaped): that is the engine's own comparison (substring of the folded
 *   text), as SQLite's `trigram case_sensitive 1`, so no message containing the folded needle is
 *   missed; `ILIKE` would only add candidates, by a case mapping of the database's locale. The GIN
 *   trigram index only chooses the rows to recheck; PostgreSQL rechecks every row against the LIKE.
 * - `body` holds the decoded text parts (BODY); `text` the message header and the MIME headers of the
 *   parts, which TEXT adds (TEXT looks in both columns). NUL, which PostgreSQL text cannot hold, is
 *   stored as U+FFFD: a needle with NUL gets null, and a needle without one that was in the text is
 *   still in it.
 * - One row per blob; the row goes with the blob (foreign key, ON DELETE CASCADE).
 * - A blob without a row is listed in `search_pending`: new blobs until an indexer takes them
 *   (`indexPending`, on any node, in short batches), blobs stored while the index was unavailable,
 *   blobs `reindex --all` marks. Their messages are always candidates, so results are right before
 *   they are indexed. With `indexAtWrite` a new blob is indexed in the transaction that stores it.
 * - Several nodes index at once without doing the same work twice: a batch claims its pending rows
 *   (`FOR UPDATE SKIP LOCKED`) together with a key-share lock on their blobs, so a concurrent delete of
 *   the blob waits for the batch instead of deadlocking with it.
 * - The GIN indexes are created when the store opens, not by a migration: they need the `pg_trgm`
 *   extension (trusted, created in schema `public` once per database; the operator class is looked up
 *   where the extension lives). Creating runs under an advisory lock, so nodes starting at once create
 *   it once. Without the extension (no privilege, not installed) or in a database not encoded in UTF-8
 *   the store works unchanged: `searchText` answers null and every new blob is pending.
 * - Trigrams need needles of at least 3 characters (code points); shorter ones get null.
 * - Messages over INDEX_MAX_BYTES are never indexed: they stay pending, always candidates.
 */
import pg from 'pg';
import { fold, type IndexText } from '../../mail/search.js';
import { INDEX_MAX_BYTES, prepareIndexText } from '../search-text.js';
import type { JsonValue, SearchIndexStatus, SearchIndexStore } from '../types.js';
import { type PgContext, type PgQueryable, quoteIdent } from './db.js';

export { INDEX_MAX_BYTES, prepareIndexText };

/** The advisory lock key of creating the index (per database; the migrations' key is another). */
const SEARCH_INDEX_LOCK = 0x70677472; // 'pgtr'

const INDEXES = [
  { name: 'search_text_body_trgm', column: 'body' },
  { name: 'search_text_text_trgm', column: 'text' },
];

/** The schema holding pg_trgm's GIN operator class, or undefined when the extension is not there. */
async function trigramSchema(q: PgQueryable): Promise<string | undefined> {
  return q.value<string>(
    `SELECT n.nspname FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace
       JOIN pg_am a ON a.oid = c.opcmethod
     WHERE c.opcname = 'gin_trgm_ops' AND a.amname = 'gin' LIMIT 1`,
  );
}

/**
 * Creates the extension (when missing) and the trigram indexes (when missing); returns whether the
 * index is there (see the header). A refusal of the database (privilege, extension not installed)
 * gives false; a lost connection is thrown.
 */
export async function ensurePgSearchIndex(ctx: PgContext): Promise<boolean> {
  try {
    return await ctx.tx(async (tx) => {
      if ((await tx.value<string>("SELECT current_setting('server_encoding')")) !== 'UTF8') return false;
      const missing = async () => {
        const found = await tx.rows<{ name: string }>(
          'SELECT name FROM unnest($1::text[]) AS i(name) WHERE to_regclass(quote_ident(i.name)) IS NULL',
          [INDEXES.map((i) => i.name)],
        );
        return new Set(found.map((f) => f.name));
      };
      // Checked before any lock: a node starting beside running ones takes no lock on search_text.
      if ((await missing()).size === 0 && (await trigramSchema(tx)) !== undefined) return true;
      await tx.run('SELECT pg_advisory_xact_lock($1)', [SEARCH_INDEX_LOCK]);
      let schema = await trigramSchema(tx);
      if (schema === undefined) {
        await tx.run('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public');
        schema = await trigramSchema(tx);
        if (schema === undefined) return false;
      }
      const todo = await missing();
      for (const index of INDEXES) {
        if (!todo.has(index.name)) continue;
        await tx.run(
          `CREATE INDEX IF NOT EXISTS ${quoteIdent(index.name)} ON search_text
           USING gin (${quoteIdent(index.column)} ${quoteIdent(schema)}.gin_trgm_ops)`,
        );
      }
      return true;
    });
  } catch (error) {
    // db.ts maps some refusals (lock_timeout, disk full) to its own errors, keeping the original as cause.
    const original = error instanceof pg.DatabaseError ? error : (error as { cause?: unknown } | null)?.cause;
    if (original instanceof pg.DatabaseError) return false;
    throw error;
  }
}

/** A text as PostgreSQL can store it (see the header: NUL as U+FFFD). */
function storable(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

/** The columns of a blob's `search_text` row. */
function columns(text: IndexText): { body: string; text: string } {
  return { body: storable(text.body), text: storable(`${text.header}\n${text.mime}`) };
}

/**
 * Records a new blob in the index, or as pending when there is no text (`text` is null unless the
 * blob is to be indexed now: prepareBlob computes it only with `ctx.indexAtWrite`). Call inside the
 * transaction that inserted the blob.
 */
export async function indexNewBlob(tx: PgQueryable, blobId: number, text: IndexText | null): Promise<void> {
  if (text === null) {
    await tx.run('INSERT INTO search_pending (blob_id) VALUES ($1) ON CONFLICT DO NOTHING', [blobId]);
    return;
  }
  const row = columns(text);
  await tx.run(
    `INSERT INTO search_text (blob_id, body, text) VALUES ($1, $2, $3)
     ON CONFLICT (blob_id) DO UPDATE SET body = excluded.body, text = excluded.text`,
    [blobId, row.body, row.text],
  );
}

/**
 * An existing blob stored again: index it now if it is pending and its text is at hand. Call inside
 * the transaction that references it (which holds its row, from `putBlob`).
 */
export async function indexExistingBlob(tx: PgQueryable, blobId: number, text: IndexText | null): Promise<void> {
  if (text === null) return;
  const pending = await tx.run('DELETE FROM search_pending WHERE blob_id = $1', [blobId]);
  if (pending === 0) return;
  await indexNewBlob(tx, blobId, text);
}

/** A LIKE pattern for `needle` anywhere (backslash is LIKE's escape character). */
function containing(needle: string): string {
  return `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * `MessageStore.searchText` for PostgreSQL: the UIDs of the mailbox's messages that may contain
 * `needle` (see the header), or null when the index cannot answer. Pass the PgContext (it knows
 * whether the index exists).
 *
 * The planner does not count what reading and comparing a text costs (the texts are compressed or
 * out of line, and LIKE over kilobytes is costed as one operator), so left alone it reads every text
 * of the database (a sequential scan: 20 times slower than the trigram index on 20,000 messages of
 * 4 KB). The read of the texts therefore runs without sequential and plain index scans (for its
 * transaction only): what is left is the trigram index (GIN bitmap), or for a small mailbox its
 * messages' texts one by one (by blob id), whichever the planner finds cheaper. The pending blobs are
 * read before, planned as usual.
 */
export async function searchText(
  ctx: Pick<PgContext, 'searchIndex' | 'tx'>,
  mailboxId: number,
  field: 'body' | 'text',
  needle: string,
): Promise<Set<number> | null> {
  if (!ctx.searchIndex) return null;
  const folded = fold(needle);
  // Trigrams: a shorter needle has none to look up. NUL is not in the stored texts (see the header).
  if ([...folded].length < 3 || folded.includes('\0')) return null;
  const match = field === 'body' ? 's.body LIKE $2' : '(s.body LIKE $2 OR s.text LIKE $2)';
  return ctx.tx(async (tx) => {
    // Pending first: a blob the indexer takes in between is then found by the second read (index rows
    // stay until their blob goes), never missed by both.
    const pending = await tx.rows<{ uid: number }>(
      `SELECT m.uid FROM search_pending p JOIN messages m ON m.blob_id = p.blob_id WHERE m.mailbox_id = $1`,
      [mailboxId],
    );
    await tx.run("SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)");
    const found = await tx.rows<{ uid: number }>(
      `SELECT m.uid FROM messages m JOIN search_text s ON s.blob_id = m.blob_id WHERE m.mailbox_id = $1 AND ${match}`,
      [mailboxId, containing(folded)],
    );
    return new Set([...pending, ...found].map((r) => r.uid));
  });
}

/** Bytes of messages one `indexPending` call takes at most (beyond its first), to keep it short. */
const BATCH_BYTES = 256 * 1024;

/** `Store.searchIndex` for PostgreSQL: status, and indexing pending blobs in batches (`postbode reindex`). */
export function pgSearchIndex(ctx: PgContext): SearchIndexStore {
  return {
    async status(): Promise<SearchIndexStatus> {
      const row = await ctx.one<{ blobs: number; pending: number }>(
        'SELECT (SELECT count(*) FROM blobs) AS blobs, (SELECT count(*) FROM search_pending) AS pending',
      );
      const blobs = row?.blobs ?? 0;
      const pending = row?.pending ?? 0;
      return { available: ctx.searchIndex, indexed: blobs - pending, pending };
    },

    async indexPending(limit) {
      if (!ctx.searchIndex) return 0;
      return ctx.tx(async (tx) => {
        // Claim the batch: pending rows nobody else is indexing, their blobs kept from being deleted
        // until the batch commits (see the header).
        const due = await tx.rows<{ id: number; size: number }>(
          `SELECT p.blob_id AS id, b.size FROM search_pending p JOIN blobs b ON b.id = p.blob_id
           WHERE b.size <= $1 ORDER BY p.blob_id LIMIT $2
           FOR UPDATE OF p SKIP LOCKED FOR KEY SHARE OF b SKIP LOCKED`,
          [INDEX_MAX_BYTES, Math.max(1, Math.floor(limit))],
        );
        const take: number[] = [];
        let bytes = 0;
        for (const d of due) {
          if (take.length > 0 && bytes + d.size > BATCH_BYTES) break;
          bytes += d.size;
          take.push(d.id);
        }
        if (take.length === 0) return 0;
        const blobs = await tx.rows<{ id: number; data: Buffer; meta: string }>(
          'SELECT id, data, meta FROM blobs WHERE id = ANY($1::bigint[]) ORDER BY id',
          [take],
        );
        const rows = blobs.map((b) => ({
          id: b.id,
          ...columns(prepareIndexText(b.data, JSON.parse(b.meta) as JsonValue)),
        }));
        await tx.run(
          `INSERT INTO search_text (blob_id, body, text)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])
           ON CONFLICT (blob_id) DO UPDATE SET body = excluded.body, text = excluded.text`,
          [rows.map((r) => r.id), rows.map((r) => r.body), rows.map((r) => r.text)],
        );
        await tx.run('DELETE FROM search_pending WHERE blob_id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
        return rows.length;
      });
    },

    markAllPending() {
      return ctx.tx((tx) => tx.run('INSERT INTO search_pending (blob_id) SELECT id FROM blobs ON CONFLICT DO NOTHING'));
    },
  };
}
