/**
 * Creates many postbode accounts at once, through the store API (what `postbode user add` does, minus
 * a process start and an scrypt hash per account): every account gets the same password hash and SCRAM
 * keys.
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

export interface BulkOptions {
  fill?: readonly BulkMailbox[];
  /** The store url (default: the SQLite database of `dataDir`), e.g. a PostgreSQL schema. */
  url?: string;
  /**
   * scrypt cost of the accounts' one password hash, log2(N) (default 14, the server's default). The idle
   * accounts take 10 (`auth.scrypt_log_n`'s minimum): their first logins, 10,000 of them with
   * --imap-idle 10000, are the warm-up before a memory figure, which counts no scrypt either way.
   */
  scryptLogN?: number;
}

export async function createPostbodeUsers(
  dataDir: string,
  addresses: readonly string[],
  password: string,
  options: BulkOptions = {},
): Promise<void> {
  const { fill = [], url, scryptLogN } = options;
  const { openStore } = await import('../src/store/open.js');
  const { hashPassword } = await import('../src/auth/password.js');
  const { deriveScramKeys, formatScramKeys } = await import('../src/auth/scram.js');
  const store = await openStore({ dataDir, ...(url ? { url, node: 'bench-setup' } : {}) });
  try {
    const passwordHash = await hashPassword(password, scryptLogN);
    // As `postbode user add`: SCRAM keys with the hash, so that a first login does not write them.
    const scramSha256 = formatScramKeys(await deriveScramKeys(password));
    for (const domain of new Set(addresses.map((a) => a.slice(a.lastIndexOf('@') + 1))))
      await store.domains.add(domain);
    // In parallel batches, which the store's group commit writes as one transaction each: 10,000
    // accounts (--imap-idle 10000) take a few seconds instead of a commit each.
    const batch = 500;
    for (let from = 0; from < addresses.length; from += batch) {
      await Promise.all(
        addresses
          .slice(from, from + batch)
          .map((address) =>
            store.accounts.create({ address, passwordHash, scramSha256, apopSecret: null, quotaBytes: null }),
          ),
      );
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
      // Delivery leaves new messages to the server's background indexer, which takes a small share of a
      // busy server: the filled mailbox stands for mail delivered and indexed earlier, so it is indexed
      // here, at once (as `postbode reindex` would), not during the other loads of the run.
      while ((await store.searchIndex.indexPending(2000)) > 0) {
        // until nothing is pending
      }
    }
  } finally {
    await store.close();
  }
}
