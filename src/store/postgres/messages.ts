// TEST SCAFFOLDING of the pgqueue branch (reverted before hand-off): minimal blobs so that deliver() can
// queue entries; messages.ts proper comes from the pgmsg branch.
import { createHash } from 'node:crypto';
import type { IndexText } from '../../mail/search.js';
import type { BlobStore, JsonValue, MessageInfo, MessageStore } from '../types.js';
import type { PgContext, PgTx } from './db.js';
import { notYet } from './todo.js';

export interface PreparedBlob {
  hash: string;
  raw: Buffer;
  meta: string;
  text: IndexText | null;
}
export function prepareBlob(raw: Buffer, meta: JsonValue, _index: boolean): PreparedBlob {
  return { hash: createHash('sha256').update(raw).digest('hex'), raw, meta: JSON.stringify(meta ?? null), text: null };
}
/** The id of the blob with these bytes, inserted when new (ON CONFLICT). Call inside a transaction. */
export async function putBlob(tx: PgTx, blob: PreparedBlob): Promise<number> {
  const id = await tx.value<number>(
    `INSERT INTO blobs (hash, size, meta, data) VALUES ($1, $2, $3, $4)
     ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash RETURNING id`,
    [blob.hash, blob.raw.length, blob.meta, blob.raw],
  );
  if (id === undefined) throw new Error('no blob id');
  return id;
}
/** Inserts a message with the next UID of its (locked) mailbox and publishes `exists`. */
export async function insertMessage(
  _tx: PgTx,
  _input: { mailboxId: number; blobId: number; size: number; flags: number; keywords: string; internalDate: number },
): Promise<MessageInfo> {
  throw new Error('postgres insertMessage: not implemented yet');
}
export function pgMessages(_ctx: PgContext, _opts: { defaultQuotaBytes: number | null }): MessageStore {
  return notYet('messages');
}
export function pgBlobs(ctx: PgContext): BlobStore {
  return {
    async read(id) {
      const data = await ctx.value<Buffer>('SELECT data FROM blobs WHERE id = $1', [id]);
      if (!data) throw new Error(`no blob ${id}`);
      return data;
    },
    async readRange(id, start, end) {
      return (await this.read(id)).subarray(start, end);
    },
    async get(id) {
      const row = await ctx.one<{ id: number; hash: string; size: number; meta: string }>(
        'SELECT id, hash, size, meta FROM blobs WHERE id = $1',
        [id],
      );
      return row ? { id: row.id, hash: row.hash, size: row.size, meta: JSON.parse(row.meta) } : null;
    },
  };
}
