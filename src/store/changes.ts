/**
 * The mailbox change bus: an in-process implementation of `ChangeFeed`, keyed by mailbox id.
 * Backend-neutral: the SQLite backend publishes into it after each commit; a PostgreSQL backend can feed
 * it from LISTEN/NOTIFY so that IDLE code is the same on one node and on many.
 *
 * Invariants:
 * - Only committed (durable) changes are published; publishing is the backend's last step after commit.
 * - Listeners of a mailbox are called synchronously, in subscription order, in publish order.
 * - A throwing listener does not stop the other listeners nor the writer; its error goes to `onError`.
 * - Unsubscribing is idempotent, and a listener removed during a publish is not called afterwards.
 */
import type { ChangeFeed, MailboxChange } from './types.js';

export type ChangeListener = (change: MailboxChange) => void;

export interface ChangeBusOptions {
  /** Called with an error thrown by a listener. Defaults to a process warning. */
  onError?: (error: unknown, change: MailboxChange) => void;
}

export class ChangeBus implements ChangeFeed {
  /** A mailbox's one listener as is (the common case: one session per mailbox), a Set for more. */
  readonly #listeners = new Map<number, ChangeListener | Set<ChangeListener>>();
  readonly #onError: (error: unknown, change: MailboxChange) => void;

  constructor(options: ChangeBusOptions = {}) {
    this.#onError =
      options.onError ??
      ((error) =>
        process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'ChangeListenerError'));
  }

  subscribe(mailboxId: number, listener: ChangeListener): () => void {
    // Wrap so that subscribing the same function twice gives two independent subscriptions.
    const entry: ChangeListener = (change) => listener(change);
    const current = this.#listeners.get(mailboxId);
    if (current === undefined) this.#listeners.set(mailboxId, entry);
    else if (typeof current === 'function') this.#listeners.set(mailboxId, new Set([current, entry]));
    else current.add(entry);
    return () => {
      const now = this.#listeners.get(mailboxId);
      if (now === entry) this.#listeners.delete(mailboxId);
      else if (now instanceof Set) {
        now.delete(entry);
        if (now.size === 0) this.#listeners.delete(mailboxId);
      }
    };
  }

  /** Delivers one committed change to the mailbox's listeners. */
  publish(change: MailboxChange): void {
    const current = this.#listeners.get(change.mailboxId);
    if (current === undefined) return;
    if (typeof current === 'function') {
      this.#call(current, change);
      return;
    }
    for (const listener of [...current]) {
      if (current.has(listener)) this.#call(listener, change);
    }
  }

  #call(listener: ChangeListener, change: MailboxChange): void {
    try {
      listener(change);
    } catch (error) {
      this.#onError(error, change);
    }
  }

  /** Number of subscriptions of a mailbox (for tests and stats). */
  listenerCount(mailboxId: number): number {
    const current = this.#listeners.get(mailboxId);
    if (current === undefined) return 0;
    return typeof current === 'function' ? 1 : current.size;
  }
}
