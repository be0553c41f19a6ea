/**
 * Accounts, domains and aliases in SQLite.
 *
 * Invariants:
 * - Addresses, alias targets and domain names are stored trimmed and lower-cased, and looked up the
 *   same way (normalize.ts).
 * - Nothing here is cached: the CLI changes these tables from another process while the server runs,
 *   and the server must see it on the next read.
 * - An account is created together with DEFAULT_MAILBOXES in one transaction.
 * - Deleting an account cascades to its mailboxes, messages and expunged rows; the blob GC triggers
 *   delete blobs nothing references any more, in the same transaction. Subscribers of its mailboxes
 *   get an `expunge` of every message.
 */
import { localPartOf, normalizeAddress } from '../normalize.js';
import { ACCOUNT_COLUMNS, type AccountRow, toAccount } from '../rows.js';
import {
  type AccountStore,
  type AliasStore,
  DEFAULT_MAILBOXES,
  type DomainStore,
  StoreConflictError,
} from '../types.js';
import type { SqliteContext } from './db.js';
import { insertMailbox, type MailboxRow, publishMailboxGone } from './mailboxes.js';
import { ESSENTIAL } from './writer.js';

export function sqliteAccounts(ctx: SqliteContext): AccountStore {
  const byAddress = (address: string) =>
    ctx.sql(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE address = ?`).get(normalizeAddress(address)) as
      | AccountRow
      | undefined;

  return {
    create(input) {
      const address = normalizeAddress(input.address);
      if (address === '') return Promise.reject(new Error('account address must not be empty'));
      return ctx.write(() => {
        if (byAddress(address)) throw new StoreConflictError(`account ${address} already exists`);
        const row = ctx
          .sql(
            `INSERT INTO accounts (address, password_hash, apop_secret, scram_sha256, quota_bytes, disabled, created_at)
             VALUES (?, ?, ?, ?, ?, 0, ?) RETURNING ${ACCOUNT_COLUMNS}`,
          )
          .get(
            address,
            input.passwordHash,
            input.apopSecret ?? null,
            input.scramSha256 ?? null,
            input.quotaBytes ?? null,
            Date.now(),
          ) as AccountRow;
        for (const mailbox of DEFAULT_MAILBOXES) {
          insertMailbox(ctx, { accountId: row.id, name: mailbox.name, specialUse: mailbox.specialUse });
        }
        return toAccount(row);
      });
    },

    async get(address) {
      const row = byAddress(address);
      return row ? toAccount(row) : null;
    },

    async getById(id) {
      const row = ctx.sql(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`).get(id) as AccountRow | undefined;
      return row ? toAccount(row) : null;
    },

    async list() {
      return (ctx.sql(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY address`).all() as AccountRow[]).map(toAccount);
    },

    async withLocalPart(localPart) {
      // Addresses are stored lower-cased and compared bytewise: 'name@' <= address < 'nameA' ('A' follows
      // '@') is the range of those that begin with 'name@', read through the address index.
      const local = normalizeAddress(localPart);
      const rows = ctx
        .sql(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE address >= ? AND address < ? ORDER BY address`)
        .all(`${local}@`, `${local}A`) as AccountRow[];
      return rows.map(toAccount).filter((a) => localPartOf(a.address) === local);
    },

    update(address, patch) {
      const normalized = normalizeAddress(address);
      return ctx.write(() => {
        const row = byAddress(normalized);
        if (!row) return false;
        const newPassword = patch.passwordHash !== undefined && patch.passwordHash !== row.password_hash;
        ctx
          .sql(
            `UPDATE accounts SET password_hash = ?, apop_secret = ?, scram_sha256 = ?, quota_bytes = ?, disabled = ?
             WHERE id = ?`,
          )
          .run(
            patch.passwordHash !== undefined ? patch.passwordHash : row.password_hash,
            patch.apopSecret !== undefined ? patch.apopSecret : row.apop_secret,
            patch.scramSha256 !== undefined ? patch.scramSha256 : newPassword ? null : row.scram_sha256,
            patch.quotaBytes !== undefined ? patch.quotaBytes : row.quota_bytes,
            patch.disabled !== undefined ? (patch.disabled ? 1 : 0) : row.disabled,
            row.id,
          );
        return true;
      });
    },

    setScram(address, passwordHash, scramSha256) {
      const normalized = normalizeAddress(address);
      return ctx.write(
        () =>
          ctx
            .sql('UPDATE accounts SET scram_sha256 = ? WHERE address = ? AND password_hash = ?')
            .run(scramSha256, normalized, passwordHash).changes > 0,
      );
    },

    delete(address) {
      const normalized = normalizeAddress(address);
      return ctx.write((tx) => {
        const row = byAddress(normalized);
        if (!row) return false;
        const mailboxes = ctx.sql('SELECT * FROM mailboxes WHERE account_id = ?').all(row.id) as MailboxRow[];
        for (const mailbox of mailboxes) publishMailboxGone(ctx, tx, mailbox);
        ctx.sql('DELETE FROM accounts WHERE id = ?').run(row.id);
        return true;
      }, ESSENTIAL);
    },

    async usage(accountId) {
      const row = ctx
        .sql(
          // mailboxes.total_size is kept by triggers (schema V8).
          'SELECT coalesce(sum(total_size), 0) AS bytes FROM mailboxes WHERE account_id = ?',
        )
        .get(accountId) as { bytes: number };
      return row.bytes;
    },
  };
}

export function sqliteDomains(ctx: SqliteContext): DomainStore {
  return {
    add(name) {
      const domain = normalizeAddress(name);
      if (domain === '') return Promise.reject(new Error('domain name must not be empty'));
      return ctx.write(() => ctx.sql('INSERT OR IGNORE INTO domains (name) VALUES (?)').run(domain).changes > 0);
    },
    remove(name) {
      const domain = normalizeAddress(name);
      return ctx.write(() => ctx.sql('DELETE FROM domains WHERE name = ?').run(domain).changes > 0);
    },
    async list() {
      return ctx.pluck('SELECT name FROM domains ORDER BY name').all() as string[];
    },
    async has(name) {
      return ctx.sql('SELECT 1 FROM domains WHERE name = ?').get(normalizeAddress(name)) !== undefined;
    },
  };
}

export function sqliteAliases(ctx: SqliteContext): AliasStore {
  return {
    set(alias, targets) {
      const address = normalizeAddress(alias);
      if (address === '') return Promise.reject(new Error('alias must not be empty'));
      const list = [...new Set(targets.map(normalizeAddress).filter((t) => t !== ''))];
      return ctx.write(() => {
        ctx
          .sql(
            'INSERT INTO aliases (address, targets) VALUES (?, ?) ON CONFLICT (address) DO UPDATE SET targets = excluded.targets',
          )
          .run(address, JSON.stringify(list));
      });
    },
    remove(alias) {
      const address = normalizeAddress(alias);
      return ctx.write(() => ctx.sql('DELETE FROM aliases WHERE address = ?').run(address).changes > 0);
    },
    async list() {
      const rows = ctx.sql('SELECT address, targets FROM aliases ORDER BY address').all() as {
        address: string;
        targets: string;
      }[];
      return rows.map((r) => ({ alias: r.address, targets: JSON.parse(r.targets) as string[] }));
    },
    async get(alias) {
      const targets = ctx.pluck('SELECT targets FROM aliases WHERE address = ?').get(normalizeAddress(alias)) as
        | string
        | undefined;
      return targets === undefined ? null : (JSON.parse(targets) as string[]);
    },
  };
}
