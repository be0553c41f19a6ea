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
  readonly #listeners = new Map<number, Set<ChangeListener>>();
  readonly #onError: (error: unknown, change: MailboxChange) => void;

  constructor(options: ChangeBusOptions = {}) {
    this.#onError =
      options.onError ??
      ((error) =>
        process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'ChangeListenerError'));
  }

  subscribe(mailboxId: number, listener: ChangeListener): () => void {
    let set = this.#listeners.get(mailboxId);
    if (!set) {
      set = new Set();
      this.#listeners.set(mailboxId, set);
    }
    // Wrap so that subscribing the same function twice gives two independent subscriptions.
    const entry: ChangeListener = (change) => listener(change);
    set.add(entry);
    return () => {
      const current = this.#listeners.get(mailboxId);
      if (!current) return;
      current.delete(entry);
      if (current.size === 0) this.#listeners.delete(mailboxId);
    };
  }

  /** Delivers one committed change to the mailbox's listeners. */
  publish(change: MailboxChange): void {
    const set = this.#listeners.get(change.mailboxId);
    if (!set) return;
    for (const listener of [...set]) {
      if (!set.has(listener)) continue;
      try {
        listener(change);
      } catch (error) {
        this.#onError(error, change);
      }
    }
  }

  /** Number of subscriptions of a mailbox (for tests and stats). */
  listenerCount(mailboxId: number): number {
    return this.#listeners.get(mailboxId)?.size ?? 0;
  }
}
