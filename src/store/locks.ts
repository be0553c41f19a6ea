/**
 * In-process mailbox locks (`MailboxLocks`), used by POP3 for its exclusive maildrop lock
 * (RFC 1939 §8). Backend-neutral; a multi-node backend replaces it with a shared lock.
 *
 * Invariants:
 * - At most one owner holds a mailbox at a time; acquiring again as the same owner succeeds.
 * - Only the owner can release; releasing a lock one does not hold is a no-op.
 * - Locks live in memory only: they vanish with the process, so a crash never leaves a mailbox locked.
 */
import type { MailboxLocks } from './types.js';

export class MemoryMailboxLocks implements MailboxLocks {
  readonly #owners = new Map<number, string>();

  async tryAcquire(mailboxId: number, owner: string): Promise<boolean> {
    const holder = this.#owners.get(mailboxId);
    if (holder !== undefined && holder !== owner) return false;
    this.#owners.set(mailboxId, owner);
    return true;
  }

  /** Whether `owner` holds the mailbox's lock now. */
  holds(mailboxId: number, owner: string): boolean {
    return this.#owners.get(mailboxId) === owner;
  }

  async release(mailboxId: number, owner: string): Promise<void> {
    if (this.#owners.get(mailboxId) === owner) this.#owners.delete(mailboxId);
  }
}
