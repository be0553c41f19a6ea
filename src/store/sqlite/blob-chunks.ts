/**
 * Where a blob's bytes live in SQLite, and bounded reads of them.
 *
 * SQLite has no partial read of a column value in SQL: `substr(data, …)` on a BLOB loads the whole
 * value first (100 MB: 80 ms and 100 MB of memory for ten bytes). So a large blob is stored in pieces.
 *
 * Invariants:
 * - A blob of at most INLINE_MAX bytes keeps its bytes in `blobs.data`. A larger one (written since
 *   schema V16) has an empty `blobs.data` and its bytes in `blob_chunks`, CHUNK_BYTES per row, `seq`
 *   0, 1, … in order; the rows go with the blob (ON DELETE CASCADE).
 * - Which form a blob has is told by `length(data) < size` (SQLite answers `length()` of a BLOB from
 *   the record header, without reading the value). Blobs stored inline before V16 stay inline.
 * - A range read of a chunked blob reads only the chunks the range touches, so reading [a, b) holds at
 *   most (b - a) + 2 × CHUNK_BYTES of memory whatever the blob's size.
 */
import type { SqliteContext } from './db.js';

/** The largest blob kept in one row. */
export const INLINE_MAX = 1024 * 1024;
/** The size of one row of `blob_chunks`. */
export const CHUNK_BYTES = 256 * 1024;

const EMPTY = Buffer.alloc(0);

/** Inserts a new blob's row and, when large, its chunks. Call inside a write job. Returns its id. */
export function insertBlobRow(ctx: SqliteContext, hash: string, raw: Buffer): number {
  const chunked = raw.length > INLINE_MAX;
  const id = ctx
    .pluck(`INSERT INTO blobs (hash, size, data, meta) VALUES (?, ?, ?, '') RETURNING id`)
    .get(hash, raw.length, chunked ? EMPTY : raw) as number;
  if (chunked) {
    const insert = ctx.sql('INSERT INTO blob_chunks (blob_id, seq, data) VALUES (?, ?, ?)');
    for (let seq = 0, at = 0; at < raw.length; seq++, at += CHUNK_BYTES) {
      insert.run(id, seq, raw.subarray(at, at + CHUNK_BYTES));
    }
  }
  return id;
}

/** Bytes [from, to) of a chunked blob (clamped to its size), reading only the chunks they lie in. */
export function readChunks(ctx: SqliteContext, blobId: number, size: number, from: number, to: number): Buffer {
  const start = Math.max(0, Math.min(from, size));
  const end = Math.max(start, Math.min(to, size));
  if (end === start) return EMPTY;
  const first = Math.floor(start / CHUNK_BYTES);
  const last = Math.floor((end - 1) / CHUNK_BYTES);
  const rows = ctx
    .sql('SELECT seq, data FROM blob_chunks WHERE blob_id = ? AND seq BETWEEN ? AND ? ORDER BY seq')
    .all(blobId, first, last) as { seq: number; data: Buffer }[];
  const parts = rows.map((r) => {
    const base = r.seq * CHUNK_BYTES;
    return r.data.subarray(Math.max(0, start - base), Math.min(r.data.length, end - base));
  });
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** Bytes [from, to) of any blob, inline or chunked; undefined when there is no such blob. */
export function readBlobRange(ctx: SqliteContext, blobId: number, from: number, to: number): Buffer | undefined {
  const start = Math.max(0, Math.floor(from));
  const length = Math.max(0, Math.floor(Math.min(to, Number.MAX_SAFE_INTEGER)) - start);
  // One statement tells the layout and, for an inline blob, reads the range: substr() on a BLOB counts
  // bytes, 1-based, and stops at the end of the value (an inline blob is at most INLINE_MAX, or an old
  // one). A chunked blob's `data` is empty, so its substr costs nothing.
  const row = ctx
    .sql('SELECT size, length(data) AS inline, substr(data, ?, ?) AS part FROM blobs WHERE id = ?')
    .get(start + 1, length, blobId) as { size: number; inline: number; part: Buffer | null } | undefined;
  if (row === undefined) return undefined;
  if (row.inline < row.size) return readChunks(ctx, blobId, row.size, from, to);
  return row.part ?? EMPTY;
}

/** A whole blob, inline or chunked; undefined when there is no such blob. */
export function readBlob(ctx: SqliteContext, blobId: number): Buffer | undefined {
  // The layout and an inline blob's bytes in one statement (a chunked blob's `data` is empty).
  const row = ctx.sql('SELECT size, length(data) AS inline, data FROM blobs WHERE id = ?').get(blobId) as
    | { size: number; inline: number; data: Buffer | null }
    | undefined;
  if (row === undefined) return undefined;
  if (row.inline < row.size) return readChunks(ctx, blobId, row.size, 0, row.size);
  return row.data ?? EMPTY;
}
