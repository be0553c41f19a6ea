/**
 * The maildrop on the Store (see the contract in backend.ts): the INBOX locked with `store.locks`
 * (RFC 1939 §8), its messages listed once at login, bytes read from `store.blobs`, removals with
 * `store.messages.expunge`.
 */
import type { Maildrop, MaildropOpening, Pop3Store, Pop3User } from './backend.js';

/** Bytes handed to the engine per chunk (it writes and drains after each). */
export const READ_CHUNK = 64 * 1024;

export async function openMaildrop(store: Pop3Store, user: Pop3User, owner: string): Promise<MaildropOpening> {
  const inbox = await store.mailboxes.get(user.id, 'INBOX');
  if (!inbox) throw new Error(`account ${user.address} has no INBOX`);
  if (!(await store.locks.tryAcquire(inbox.id, owner))) return { kind: 'locked' };
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await store.locks.release(inbox.id, owner);
  };
  try {
    const list = await store.messages.list(inbox.id);
    const blobs = new Map(list.map((m) => [m.uid, m.blobId]));
    const maildrop: Maildrop = {
      uidValidity: inbox.uidValidity,
      messages: list.map((m) => ({ uid: m.uid, size: m.size })),

      async headerLength(message) {
        const blobId = blobs.get(message.uid);
        const blob = blobId === undefined ? null : await store.blobs.get(blobId);
        const meta = blob?.meta;
        // MessageMeta.headerLength (src/mail/parse.ts), when the blob has it.
        if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
          const value = meta.headerLength;
          if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
        }
        return null;
      },

      async read(message, range) {
        const blobId = blobs.get(message.uid);
        if (blobId === undefined) return null;
        const start = range?.start ?? 0;
        const end = range?.end ?? message.size;
        // The first piece is read now, so a message removed meanwhile answers null (an -ERR before
        // any +OK); the rest piece by piece as the engine sends, so a large message never sits whole
        // in memory (the SQLite store reads only the pieces of a range, sqlite/blob-chunks.ts).
        let first: Buffer;
        try {
          first = await store.blobs.readRange(blobId, start, Math.min(end, start + READ_CHUNK));
        } catch (e) {
          // The blob goes with its last reference: another client expunged the message meanwhile.
          if (e instanceof Error && e.name === 'StoreNotFoundError') return null;
          throw e;
        }
        return pieces(store, blobId, first, start, end);
      },

      async expunge(uids) {
        if (uids.length > 0) await store.messages.expunge(inbox.id, uids);
      },

      close,
    };
    return { kind: 'open', maildrop };
  } catch (e) {
    await close();
    throw e;
  }
}

/** `first` (bytes from `start`), then bytes up to `end` READ_CHUNK at a time. */
async function* pieces(
  store: Pop3Store,
  blobId: number,
  first: Buffer,
  start: number,
  end: number,
): AsyncIterable<Buffer> {
  yield first;
  // A short piece means the blob ended (a stored size larger than the bytes never loops).
  if (first.length < READ_CHUNK) return;
  for (let at = start + first.length; at < end; ) {
    const piece = await store.blobs.readRange(blobId, at, Math.min(end, at + READ_CHUNK));
    if (piece.length === 0) return;
    yield piece;
    at += piece.length;
  }
}
