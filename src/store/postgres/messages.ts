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
export function prepareBlob(_raw: Buffer, _meta: JsonValue, _index: boolean): PreparedBlob {
  throw new Error('postgres prepareBlob: not implemented yet');
}
/** The id of the blob with these bytes, inserted when new (ON CONFLICT). Call inside a transaction. */
export async function putBlob(_tx: PgTx, _blob: PreparedBlob): Promise<number> {
  throw new Error('postgres putBlob: not implemented yet');
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
export function pgBlobs(_ctx: PgContext): BlobStore {
  return notYet('blobs');
}
