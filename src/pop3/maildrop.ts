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
        let data: Buffer;
        try {
          data = range ? await store.blobs.readRange(blobId, range.start, range.end) : await store.blobs.read(blobId);
        } catch (e) {
          // The blob goes with its last reference: another client expunged the message meanwhile.
          if (e instanceof Error && e.name === 'StoreNotFoundError') return null;
          throw e;
        }
        return chunks(data);
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

function* chunks(data: Buffer): Iterable<Buffer> {
  for (let at = 0; at < data.length; at += READ_CHUNK) yield data.subarray(at, at + READ_CHUNK);
}
