/**
 * Creates many postbode accounts at once, through the store API (what `postbode user add` does, minus
 * a process start and an scrypt hash per account): every account gets the same password hash.
 * Used for the POP3 and IMAP loads (one account per client: postbode locks a maildrop to one session,
 * as RFC 1939 §8 allows) and the logged-in idle connections. Runs before the server starts.
 *
 * Also fills the large mailbox of the IMAP SEARCH benchmark straight through `store.deliver` (parsed
 * with src/mail's parseMessage, as delivery does), in parallel batches that the store's group commit
 * turns into one transaction each.
 */
export interface BulkMailbox {
  address: string;
  count: number;
  message: (i: number) => { raw: Buffer; flags: string[]; date: Date };
}

export async function createPostbodeUsers(
  dataDir: string,
  addresses: readonly string[],
  password: string,
  fill: readonly BulkMailbox[] = [],
  /** The store url (default: the SQLite database of `dataDir`), e.g. a PostgreSQL schema. */
  url?: string,
): Promise<void> {
  const { openStore } = await import('../src/store/open.js');
  const { hashPassword } = await import('../src/auth/password.js');
  const store = await openStore({ dataDir, ...(url ? { url, node: 'bench-setup' } : {}) });
  try {
    const passwordHash = await hashPassword(password);
    for (const address of addresses) {
      await store.domains.add(address.slice(address.lastIndexOf('@') + 1));
      await store.accounts.create({ address, passwordHash, apopSecret: null, quotaBytes: null });
    }
    if (fill.length > 0) {
      const { parseMessage } = await import('../src/mail/parse.js');
      for (const box of fill) {
        const account = await store.accounts.get(box.address);
        if (!account) throw new Error(`no account ${box.address} to fill`);
        const batch = 2000;
        for (let from = 0; from < box.count; from += batch) {
          const jobs: Promise<unknown>[] = [];
          for (let i = from; i < Math.min(box.count, from + batch); i++) {
            const { raw, flags, date } = box.message(i);
            jobs.push(
              store.deliver({
                raw,
                // biome-ignore lint/suspicious/noExplicitAny: MessageMeta is JSON; the store types it as JsonValue.
                meta: parseMessage(raw) as any,
                internalDate: date,
                local: [{ accountId: account.id, mailbox: 'INBOX', flags }],
              }),
            );
          }
          await Promise.all(jobs);
        }
      }
    }
  } finally {
    await store.close();
  }
}
