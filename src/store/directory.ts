/**
 * Reads of domains, aliases and accounts for one decision (resolving a recipient, attributing a
 * session), with what the decision will ask first read at once (`AccountStore.lookup`: one statement
 * on PostgreSQL instead of one round trip per read).
 *
 * Invariants:
 * - Nothing outlives the decision: a DirectoryReads is made for one decision and dropped after it, so
 *   an account, alias or domain added or removed on any node is seen by the next decision, as with the
 *   single reads. Within the decision, the prefetched answers are those of one snapshot taken when it
 *   started (the single reads would have been taken a few round trips apart).
 * - An answer is taken from the prefetch only for a name the prefetch asked; anything else (a deeper
 *   alias target, a store without `lookup`) is read on its own, as before.
 */
import { normalizeAddress } from './normalize.js';
import type { Account, DirectoryFacts, DirectoryQuery, Store } from './types.js';

export class DirectoryReads {
  readonly #store: Store;
  readonly #facts: DirectoryFacts | null;
  readonly #asked: {
    domains: Set<string>;
    aliases: Set<string>;
    accounts: Set<string>;
    usage: boolean;
  };

  private constructor(store: Store, query: DirectoryQuery, facts: DirectoryFacts | null) {
    this.#store = store;
    this.#facts = facts;
    const set = (list: readonly string[] | undefined) => new Set((list ?? []).map(normalizeAddress));
    this.#asked = {
      domains: set(query.domains),
      aliases: set(query.aliases),
      accounts: set(query.accounts),
      usage: query.usage === true,
    };
  }

  /** Reads `query` at once when the store can and it asks something (else each read goes on its own). */
  static async prefetch(store: Store, query: DirectoryQuery): Promise<DirectoryReads> {
    const asks = [query.domains, query.aliases, query.accounts, query.localParts].some((l) => l && l.length > 0);
    const facts = store.accounts.lookup && asks ? await store.accounts.lookup(query) : null;
    return new DirectoryReads(store, query, facts);
  }

  hasDomain(name: string): Promise<boolean> {
    const key = normalizeAddress(name);
    if (this.#facts && this.#asked.domains.has(key)) return Promise.resolve(this.#facts.domains.has(key));
    return this.#store.domains.has(key);
  }

  alias(address: string): Promise<string[] | null> {
    const key = normalizeAddress(address);
    if (this.#facts && this.#asked.aliases.has(key)) return Promise.resolve(this.#facts.aliases.get(key) ?? null);
    return this.#store.aliases.get(key);
  }

  account(address: string): Promise<Account | null> {
    const key = normalizeAddress(address);
    if (this.#facts && this.#asked.accounts.has(key)) return Promise.resolve(this.#facts.accounts.get(key) ?? null);
    return this.#store.accounts.get(key);
  }

  /** The usage of an account; from the prefetch when it found that account and `usage` was asked. */
  usage(account: Account): Promise<number> {
    const known = this.#asked.usage ? this.#facts?.usage.get(account.id) : undefined;
    return known !== undefined ? Promise.resolve(known) : this.#store.accounts.usage(account.id);
  }

  withLocalPart(localPart: string): Promise<Account[]> {
    const known = this.#facts?.localParts.get(normalizeAddress(localPart));
    return known !== undefined ? Promise.resolve(known) : this.#store.accounts.withLocalPart(localPart);
  }
}
