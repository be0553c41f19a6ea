/**
 * What the POP3 engine needs from the rest of the server, shaped like the protocol: credentials checks
 * and a locked maildrop snapshot (RFC 1939 §8). `storeBackend` implements it on the Store and the
 * AuthService; tests may pass anything else that keeps the contract.
 *
 * Contract:
 * - `openMaildrop` takes the exclusive POP3 lock of the user's INBOX for `owner` (the session id) and
 *   then lists its messages; the list is a snapshot: mail delivered later is not part of it (RFC 1939
 *   §8). It answers `locked` without side effects when another session holds the lock.
 * - Until `close()`, the engine owns the lock. `close()` releases it, is idempotent, and must be called
 *   however the session ends (QUIT, dropped connection, timeout, server error).
 * - `read` returns null when the message is gone (e.g. expunged by an IMAP client and its bytes freed);
 *   otherwise it yields the stored bytes, unchanged, in chunks the engine may write as they come.
 *   Chunks must not be modified by the backend after they were yielded.
 * - `expunge` resolves only when the removal is durable; the engine answers `+OK` after that.
 */
import type { Store } from '../store/types.js';

export interface Pop3User {
  id: number;
  /** The account's address, shown in replies and logs. */
  address: string;
}

export interface MaildropMessage {
  uid: number;
  /** Octets of the stored message (CRLF line endings), as LIST and STAT report them. */
  size: number;
}

export interface Maildrop {
  readonly uidValidity: number;
  /** The snapshot, in ascending UID order; message number n is `messages[n - 1]`. */
  readonly messages: readonly MaildropMessage[];
  /** Bytes up to and including the empty line after the header, when known without reading. */
  headerLength(message: MaildropMessage): Promise<number | null>;
  /** The message bytes, or bytes [start, end) of them. */
  read(message: MaildropMessage, range?: { start: number; end: number }): Promise<Iterable<Buffer> | AsyncIterable<Buffer> | null>;
  /** Removes messages durably. */
  expunge(uids: number[]): Promise<void>;
  /** Releases the lock. */
  close(): Promise<void>;
}

export type MaildropOpening = { kind: 'open'; maildrop: Maildrop } | { kind: 'locked' };

/** The parts of AuthService (src/auth/service.ts) the engine uses. */
export interface Pop3Auth {
  plaintextAllowed(conn: { secure: boolean; remoteAddress: string }): boolean;
  login(username: string, password: string): Promise<Pop3User | null>;
  /** RFC 1939 §7: `digest` is MD5(timestamp + secret) in hex. */
  apop(username: string, timestamp: string, digest: string): Promise<Pop3User | null>;
}

export interface Pop3Backend extends Pop3Auth {
  openMaildrop(user: Pop3User, owner: string): Promise<MaildropOpening>;
}

/** Bytes handed to the engine per chunk. */
export const READ_CHUNK = 64 * 1024;

/** Pop3Backend on the Store: the INBOX, `store.locks`, `store.messages`, `store.blobs`. */
export function storeBackend(
  store: Pick<Store, 'mailboxes' | 'messages' | 'blobs' | 'locks'>,
  auth: Pop3Auth,
): Pop3Backend {
  return {
    plaintextAllowed: (conn) => auth.plaintextAllowed(conn),
    login: (username, password) => auth.login(username, password),
    apop: (username, timestamp, digest) => auth.apop(username, timestamp, digest),

    async openMaildrop(user, owner) {
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
              data = range
                ? await store.blobs.readRange(blobId, range.start, range.end)
                : await store.blobs.read(blobId);
            } catch (e) {
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
    },
  };
}

function* chunks(data: Buffer): Iterable<Buffer> {
  for (let at = 0; at < data.length; at += READ_CHUNK) yield data.subarray(at, at + READ_CHUNK);
}
