/**
 * What the POP3 engine needs from the rest of the server: the credential checks of AuthService and
 * the parts of the Store it reads and changes. The engine itself sees a `Maildrop` (maildrop.ts makes
 * it from the store): a locked snapshot of the INBOX, shaped like the protocol (RFC 1939 §8).
 *
 * Maildrop contract:
 * - `openMaildrop` (maildrop.ts) takes the exclusive POP3 lock of the user's INBOX for `owner` (the
 *   session id), then lists its messages; the list is a snapshot: mail delivered later is not part of
 *   it (RFC 1939 §8). It answers `locked` without side effects when another session holds the lock.
 * - Until `close()`, the engine owns the lock. `close()` releases it, is idempotent, and must be called
 *   however the session ends (QUIT, dropped connection, timeout, server error).
 * - `read` returns null when the message is gone (e.g. expunged by an IMAP client and its bytes freed);
 *   otherwise it yields the stored bytes, unchanged, in chunks the engine may write as they come.
 *   Chunks must not be modified by the backend after they were yielded.
 * - `expunge` resolves only when the removal is durable; the engine answers `+OK` after that.
 */
import type { SaslAuth } from '../auth/sasl.js';
import type { LoginClient, LoginResult } from '../auth/service.js';
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
  read(
    message: MaildropMessage,
    range?: { start: number; end: number },
  ): Promise<Iterable<Buffer> | AsyncIterable<Buffer> | null>;
  /** Removes messages durably. */
  expunge(uids: number[]): Promise<void>;
  /** Releases the lock. */
  close(): Promise<void>;
}

export type MaildropOpening = { kind: 'open'; maildrop: Maildrop } | { kind: 'locked' };

/** The parts of AuthService (src/auth/service.ts) the engine uses (for AUTH: `SaslAuth`). */
export interface Pop3Auth extends SaslAuth<Pop3User> {
  /** Whether USER/PASS and AUTH PLAIN/LOGIN may be used on this connection (TLS or a trusted network). */
  plaintextAllowed(conn: { secure: boolean; remoteAddress: string }): boolean;
  /** Under the shared login limits (src/auth/limiter.ts). */
  login(client: LoginClient, username: string, password: string): Promise<LoginResult<Pop3User>>;
  /** RFC 1939 §7: `digest` is MD5(timestamp + secret) in hex. */
  apop(client: LoginClient, username: string, timestamp: string, digest: string): Promise<LoginResult<Pop3User>>;
}

/** The Store, narrowed to what POP3 uses: the INBOX, its messages and blobs, and the POP3 lock. */
export type Pop3Store = Pick<Store, 'mailboxes' | 'messages' | 'blobs' | 'locks'>;

export interface Pop3Backend {
  auth: Pop3Auth;
  store: Pop3Store;
}
