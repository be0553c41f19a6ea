/**
 * The \Recent flag of IMAP4rev1 (RFC 3501 §2.3.2): a message is recent in exactly one session, the
 * first to be notified of it (by SELECT or an EXISTS update); EXAMINE and STATUS see recent messages
 * without claiming them. IMAP4rev2 removed the flag (RFC 9051 Appendix E), so sessions that ENABLEd
 * IMAP4rev2 are never shown it, but IMAP4rev1 clients (which is what this server also advertises) are.
 *
 * Invariants:
 * - Per mailbox (id + UIDVALIDITY, so a recreated mailbox starts over) we keep the highest UID a
 *   read-write session has claimed; a UID above it is recent for whoever claims it next. Claims only
 *   go up, so no message is recent in two sessions.
 * - Kept in memory, per Store (one process serves all sessions). After a restart nothing is claimed
 *   yet, and RFC 3501 §2.3.2 says "If it is not possible to determine whether or not this session is
 *   the first session to be notified about a message, then that message SHOULD be considered recent."
 */
import type { Mailbox } from '../store/types.js';

export class RecentClaims {
  readonly #claimed = new Map<string, number>();

  static #byStore = new WeakMap<object, RecentClaims>();

  /** The claims shared by every session on one store. */
  static of(store: object): RecentClaims {
    let c = RecentClaims.#byStore.get(store);
    if (!c) {
      c = new RecentClaims();
      RecentClaims.#byStore.set(store, c);
    }
    return c;
  }

  /** The highest UID claimed in the mailbox (0: none). */
  claimed(mailbox: Pick<Mailbox, 'id' | 'uidValidity'>): number {
    return this.#claimed.get(key(mailbox)) ?? 0;
  }

  /** Claims every UID up to `uid`; returns the previous claim (UIDs above it are this caller's). */
  claim(mailbox: Pick<Mailbox, 'id' | 'uidValidity'>, uid: number): number {
    const k = key(mailbox);
    const before = this.#claimed.get(k) ?? 0;
    if (uid > before) this.#claimed.set(k, uid);
    return before;
  }
}

function key(mailbox: Pick<Mailbox, 'id' | 'uidValidity'>): string {
  return `${mailbox.id}:${mailbox.uidValidity}`;
}
