/**
 * Creates many postbode accounts at once, through the store API (what `postbode user add` does, minus
 * a process start and an scrypt hash per account): every account gets the same password hash.
 * Used for the POP3 load (one account per client: postbode locks a maildrop to one session, as
 * RFC 1939 §8 allows) and the logged-in idle connections. Runs before the server starts.
 */
export async function createPostbodeUsers(
  dataDir: string,
  addresses: readonly string[],
  password: string,
): Promise<void> {
  const { openStore } = await import('../src/store/index.js');
  const { hashPassword } = await import('../src/auth/password.js');
  const store = await openStore({ dataDir });
  try {
    const passwordHash = await hashPassword(password);
    for (const address of addresses) {
      await store.domains.add(address.slice(address.lastIndexOf('@') + 1));
      await store.accounts.create({ address, passwordHash, apopSecret: null, quotaBytes: null });
    }
  } finally {
    await store.close();
  }
}
