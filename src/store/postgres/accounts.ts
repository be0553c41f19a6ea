/**
 * Accounts, domains and aliases in PostgreSQL (as sqlite/accounts.ts).
 *
 * Invariants:
 * - Addresses, alias targets and domain names are stored trimmed and lower-cased, and looked up the
 *   same way (normalize.ts).
 * - Nothing here is cached: other nodes and the CLI change these tables while the server runs, and
 *   the server must see it on the next read.
 * - An account is created together with DEFAULT_MAILBOXES in one transaction, their UIDVALIDITY
 *   values from the shared counter (uidvalidity.ts). A taken address is found by the unique index
 *   (`ON CONFLICT DO NOTHING`), so two nodes creating one address at once give one account and one
 *   StoreConflictError.
 * - Deleting an account locks its row and then its mailboxes' rows in ascending id (db.ts's lock
 *   order) before the cascade removes mailboxes, messages and expunged rows; the blob triggers delete
 *   blobs nothing references any more, in the same transaction. The expunge of every message is
 *   reported for each mailbox (`tx.publish`, as SQLite does).
 * - `update` reads and writes the account under its row lock, so the rule "a new password without
 *   SCRAM keys clears them" holds against concurrent updates from other nodes.
 */
import { localPartOf, normalizeAddress } from '../normalize.js';
import { ACCOUNT_COLUMNS, type AccountRow, toAccount } from '../rows.js';
import {
  type Account,
  type AccountStore,
  type AliasStore,
  DEFAULT_MAILBOXES,
  type DirectoryFacts,
  type DirectoryQuery,
  type DomainStore,
  StoreConflictError,
} from '../types.js';
import { type PgContext, prepared } from './db.js';
import { nextUidValidities } from './uidvalidity.js';

export function pgAccounts(ctx: PgContext): AccountStore {
  return {
    create(input) {
      const address = normalizeAddress(input.address);
      if (address === '') return Promise.reject(new Error('account address must not be empty'));
      return ctx.tx(async (tx) => {
        const row = await tx.one<AccountRow>(
          `INSERT INTO accounts (address, password_hash, apop_secret, scram_sha256, quota_bytes, disabled, created_at)
           VALUES ($1, $2, $3, $4, $5, false, $6) ON CONFLICT (address) DO NOTHING RETURNING ${ACCOUNT_COLUMNS}`,
          [
            address,
            input.passwordHash,
            input.apopSecret ?? null,
            input.scramSha256 ?? null,
            input.quotaBytes ?? null,
            Date.now(),
          ],
        );
        if (!row) throw new StoreConflictError(`account ${address} already exists`);
        const uidValidities = await nextUidValidities(tx, DEFAULT_MAILBOXES.length);
        // A new account has no kept subscriptions: every default mailbox is subscribed.
        await tx.run(
          `INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed)
           SELECT $1, m.name, m.uidvalidity, 1, 1, m.special_use, true
           FROM unnest($2::text[], $3::bigint[], $4::text[]) AS m(name, uidvalidity, special_use)`,
          [row.id, DEFAULT_MAILBOXES.map((m) => m.name), uidValidities, DEFAULT_MAILBOXES.map((m) => m.specialUse)],
        );
        return toAccount(row);
      });
    },

    async get(address) {
      const row = await ctx.one<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE address = $1`, [
        normalizeAddress(address),
      ]);
      return row ? toAccount(row) : null;
    },

    async getById(id) {
      const row = await ctx.one<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]);
      return row ? toAccount(row) : null;
    },

    async list() {
      return (await ctx.rows<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY address`)).map(toAccount);
    },

    async withLocalPart(localPart) {
      // Addresses are stored lower-cased; a prefix compared with = whatever the database's collation.
      const prefix = `${normalizeAddress(localPart)}@`;
      const rows = await ctx.rows<AccountRow>(
        `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE left(address, $2) = $1 ORDER BY address`,
        [prefix, [...prefix].length],
      );
      return rows.map(toAccount).filter((a) => `${localPartOf(a.address)}@` === prefix);
    },

    update(address, patch) {
      const normalized = normalizeAddress(address);
      return ctx.tx(async (tx) => {
        const row = await tx.one<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE address = $1 FOR UPDATE`, [
          normalized,
        ]);
        if (!row) return false;
        const newPassword = patch.passwordHash !== undefined && patch.passwordHash !== row.password_hash;
        await tx.run(
          `UPDATE accounts SET password_hash = $1, apop_secret = $2, scram_sha256 = $3, quota_bytes = $4, disabled = $5
           WHERE id = $6`,
          [
            patch.passwordHash !== undefined ? patch.passwordHash : row.password_hash,
            patch.apopSecret !== undefined ? patch.apopSecret : row.apop_secret,
            patch.scramSha256 !== undefined ? patch.scramSha256 : newPassword ? null : row.scram_sha256,
            patch.quotaBytes !== undefined ? patch.quotaBytes : row.quota_bytes,
            patch.disabled !== undefined ? patch.disabled : row.disabled,
            row.id,
          ],
        );
        return true;
      });
    },

    setScram(address, passwordHash, scramSha256) {
      const normalized = normalizeAddress(address);
      return ctx.tx(
        async (tx) =>
          (await tx.run('UPDATE accounts SET scram_sha256 = $1 WHERE address = $2 AND password_hash = $3', [
            scramSha256,
            normalized,
            passwordHash,
          ])) > 0,
      );
    },

    delete(address) {
      const normalized = normalizeAddress(address);
      return ctx.tx(
        async (tx) => {
          const id = await tx.value<number>('SELECT id FROM accounts WHERE address = $1 FOR UPDATE', [normalized]);
          if (id === undefined) return false;
          // Lock order (db.ts): the account, then its mailboxes in ascending id, before the cascade.
          const mailboxes = await tx.rows<{ id: number; highestmodseq: number }>(
            'SELECT id, highestmodseq FROM mailboxes WHERE account_id = $1 ORDER BY id FOR UPDATE',
            [id],
          );
          if (mailboxes.length > 0) {
            const rows = await tx.rows<{ mailbox_id: number; uid: number }>(
              'SELECT mailbox_id, uid FROM messages WHERE mailbox_id = ANY($1::bigint[]) ORDER BY mailbox_id, uid',
              [mailboxes.map((m) => m.id)],
            );
            const uids = new Map<number, number[]>();
            for (const r of rows) {
              const list = uids.get(r.mailbox_id);
              if (list) list.push(r.uid);
              else uids.set(r.mailbox_id, [r.uid]);
            }
            for (const m of mailboxes) {
              const list = uids.get(m.id);
              if (list) tx.publish({ kind: 'expunge', mailboxId: m.id, uids: list, modseq: m.highestmodseq + 1 });
            }
          }
          await tx.run('DELETE FROM accounts WHERE id = $1', [id]);
          return true;
        },
        { essential: true },
      );
    },

    async usage(accountId) {
      // mailboxes.total_size is kept by the writes that add, remove and move messages (schema.ts).
      const bytes = await ctx.value<number>(
        'SELECT coalesce(sum(total_size), 0) AS bytes FROM mailboxes WHERE account_id = $1',
        [accountId],
      );
      return bytes ?? 0;
    },

    lookup: (query) => lookupDirectory(ctx, query),
  };
}

/** lookupDirectory's statement (hot: every recipient at RCPT runs it, `prepared`). */
const LOOKUP = prepared(
  `SELECT
       ARRAY(SELECT name FROM domains WHERE name = ANY($1::text[])) AS domains,
       (SELECT coalesce(json_agg(json_build_array(address, targets)), '[]') FROM aliases
         WHERE address = ANY($2::text[])) AS aliases,
       (SELECT coalesce(json_agg(a), '[]') FROM (
          SELECT ${ACCOUNT_COLUMNS},
                 CASE WHEN $4 THEN (SELECT coalesce(sum(total_size), 0) FROM mailboxes m WHERE m.account_id = accounts.id) END AS used
          FROM accounts WHERE address = ANY($3::text[])) a) AS accounts,
       (SELECT coalesce(json_agg(a ORDER BY a.address), '[]') FROM (
          SELECT DISTINCT ${ACCOUNT_COLUMNS} FROM accounts, unnest($5::text[]) AS p
          WHERE left(address, length(p)) = p) a) AS named`,
);

/**
 * `AccountStore.lookup`: the domains, aliases, accounts (with their usage when asked) and local parts
 * in ONE statement, so one snapshot and one round trip instead of one per read (the four reads of a
 * recipient at RCPT: domain, alias, account, usage). Nothing is cached: every call reads the tables.
 */
async function lookupDirectory(ctx: PgContext, query: DirectoryQuery): Promise<DirectoryFacts> {
  const norm = (list: readonly string[] | undefined) => [...new Set((list ?? []).map(normalizeAddress))];
  const domains = norm(query.domains);
  const aliases = norm(query.aliases);
  const addresses = norm(query.accounts);
  const prefixes = norm(query.localParts).map((p) => `${p}@`);
  const usage = query.usage === true;
  // Each part is skipped (an empty array matches nothing) when not asked; accounts come back as JSON
  // (bigint and boolean columns as JSON numbers and booleans, all far below 2^53).
  const row = await ctx.one<{
    domains: string[];
    aliases: [string, string][];
    accounts: (AccountRow & { used: number | null })[];
    named: AccountRow[];
  }>(LOOKUP, [domains, aliases, addresses, usage, prefixes]);
  if (!row) throw new Error('directory lookup returned no row');
  const accounts = new Map<string, Account>();
  const used = new Map<number, number>();
  for (const r of row.accounts) {
    accounts.set(r.address, toAccount(r));
    if (usage) used.set(r.id, Number(r.used ?? 0));
  }
  const localParts = new Map<string, Account[]>(prefixes.map((p) => [p.slice(0, -1), []]));
  for (const r of row.named) {
    const lp = localPartOf(r.address);
    localParts.get(lp)?.push(toAccount(r));
  }
  return {
    domains: new Set(row.domains),
    aliases: new Map(row.aliases.map(([a, t]) => [a, JSON.parse(t) as string[]])),
    accounts,
    usage: used,
    localParts,
  };
}

export function pgDomains(ctx: PgContext): DomainStore {
  return {
    add(name) {
      const domain = normalizeAddress(name);
      if (domain === '') return Promise.reject(new Error('domain name must not be empty'));
      return ctx.tx(
        async (tx) => (await tx.run('INSERT INTO domains (name) VALUES ($1) ON CONFLICT DO NOTHING', [domain])) > 0,
      );
    },
    remove(name) {
      const domain = normalizeAddress(name);
      return ctx.tx(async (tx) => (await tx.run('DELETE FROM domains WHERE name = $1', [domain])) > 0);
    },
    async list() {
      return (await ctx.rows<{ name: string }>('SELECT name FROM domains ORDER BY name')).map((r) => r.name);
    },
    async has(name) {
      return (await ctx.one('SELECT 1 FROM domains WHERE name = $1', [normalizeAddress(name)])) !== undefined;
    },
  };
}

export function pgAliases(ctx: PgContext): AliasStore {
  return {
    set(alias, targets) {
      const address = normalizeAddress(alias);
      if (address === '') return Promise.reject(new Error('alias must not be empty'));
      const list = [...new Set(targets.map(normalizeAddress).filter((t) => t !== ''))];
      return ctx.tx(async (tx) => {
        await tx.run(
          'INSERT INTO aliases (address, targets) VALUES ($1, $2) ON CONFLICT (address) DO UPDATE SET targets = excluded.targets',
          [address, JSON.stringify(list)],
        );
      });
    },
    remove(alias) {
      const address = normalizeAddress(alias);
      return ctx.tx(async (tx) => (await tx.run('DELETE FROM aliases WHERE address = $1', [address])) > 0);
    },
    async list() {
      const rows = await ctx.rows<{ address: string; targets: string }>(
        'SELECT address, targets FROM aliases ORDER BY address',
      );
      return rows.map((r) => ({ alias: r.address, targets: JSON.parse(r.targets) as string[] }));
    },
    async get(alias) {
      const targets = await ctx.value<string>('SELECT targets FROM aliases WHERE address = $1', [
        normalizeAddress(alias),
      ]);
      return targets === undefined ? null : (JSON.parse(targets) as string[]);
    },
  };
}
