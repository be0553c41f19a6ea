/**
 * Moving from the embedded SQLite store to PostgreSQL (`postbode migrate --from DATA_DIR --store URL`):
 * copies everything a user would miss — domains, aliases, accounts (password hashes, APOP secrets, SCRAM
 * keys, quotas), mailboxes with UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, subscriptions, messages with
 * their UIDs, flags, keywords, dates and MODSEQs, the expunged set (QRESYNC), the outbound queue with its
 * recipients, the web lab's administrators, and the Sieve scripts with their memory of vacation replies
 * — and checks the counts on both sides.
 *
 * Invariants:
 * - The source is opened as the server would (its schema brought up to date first); stop the server
 *   that uses it before migrating, or the copy misses what arrives meanwhile.
 * - The target must hold no accounts, mailboxes, messages or queue entries: nothing is merged or
 *   overwritten. Its schema is created by opening it as a store (schema.ts migrations).
 * - Everything is copied in ONE PostgreSQL transaction: a failed or interrupted migration leaves the
 *   target as it was. Ids are kept (every foreign key stays valid) and the sequences are moved past
 *   them; blob reference counts come from the schema's triggers as the messages and queue rows go in.
 * - The web lab's session history is not copied (it is a lab log, not mail); the search index is
 *   rebuilt on the target (every blob starts pending; the server's indexer or `postbode reindex`).
 * - Rows are copied in batches of bounded size, so memory stays bounded by the largest batch (blobs:
 *   by bytes), not by the store.
 */
import type Database from 'better-sqlite3';
import pg from 'pg';
import { connectionConfig } from './postgres/db.js';
import { openPgStore, schemaOf } from './postgres/index.js';
import { openDatabase } from './sqlite/db.js';

export interface MigrateCounts {
  domains: number;
  aliases: number;
  accounts: number;
  mailboxes: number;
  subscriptions: number;
  blobs: number;
  messages: number;
  expunged: number;
  queue: number;
  queueRecipients: number;
  admins: number;
  sieveScripts: number;
  sieveMemory: number;
}

export interface MigrateOptions {
  /** The SQLite database file. */
  from: string;
  /** `postgresql://…` of the target. */
  to: string;
  /** Progress lines (table and count). */
  progress?: (line: string) => void;
}

/** The tables copied, in dependency order, with the columns that go across unchanged or converted. */
interface TableCopy {
  key: keyof MigrateCounts;
  table: string;
  columns: string[];
  /** Column → conversion of the SQLite value for PostgreSQL. */
  convert?: Record<string, (value: unknown) => unknown>;
  /** PostgreSQL types of the columns, for `unnest` batches. */
  types: string[];
  order: string;
  /** Rows per batch, or a byte budget for tables of big rows. */
  batchRows: number;
  /** A serial id column whose sequence must move past the copied ids. */
  serial?: string;
}

const bool = (v: unknown) => v !== 0 && v !== null && v !== undefined;

const TABLES: TableCopy[] = [
  { key: 'domains', table: 'domains', columns: ['name'], types: ['text'], order: 'name', batchRows: 1000 },
  {
    key: 'aliases',
    table: 'aliases',
    columns: ['address', 'targets'],
    types: ['text', 'text'],
    order: 'address',
    batchRows: 1000,
  },
  {
    key: 'accounts',
    table: 'accounts',
    columns: ['id', 'address', 'password_hash', 'apop_secret', 'quota_bytes', 'disabled', 'created_at', 'scram_sha256'],
    types: ['bigint', 'text', 'text', 'text', 'bigint', 'boolean', 'bigint', 'text'],
    convert: { disabled: bool },
    order: 'id',
    batchRows: 1000,
    serial: 'id',
  },
  {
    key: 'mailboxes',
    table: 'mailboxes',
    columns: [
      'id',
      'account_id',
      'name',
      'uidvalidity',
      'uidnext',
      'highestmodseq',
      'special_use',
      'subscribed',
      'total_size',
    ],
    types: ['bigint', 'bigint', 'text', 'bigint', 'bigint', 'bigint', 'text', 'boolean', 'bigint'],
    convert: { subscribed: bool },
    order: 'id',
    batchRows: 1000,
    serial: 'id',
  },
  {
    key: 'subscriptions',
    table: 'subscriptions',
    columns: ['account_id', 'name'],
    types: ['bigint', 'text'],
    order: 'account_id, name',
    batchRows: 1000,
  },
  {
    key: 'blobs',
    table: 'blobs',
    // meta from blob_meta (schema V2 moved it there); refs start at 0, the triggers count them.
    columns: ['id', 'hash', 'size', 'meta', 'data'],
    types: ['bigint', 'text', 'bigint', 'text', 'bytea'],
    order: 'id',
    batchRows: 200,
    serial: 'id',
  },
  {
    key: 'messages',
    table: 'messages',
    columns: ['mailbox_id', 'uid', 'blob_id', 'size', 'flags', 'keywords', 'internaldate', 'modseq'],
    types: ['bigint', 'bigint', 'bigint', 'bigint', 'integer', 'text', 'bigint', 'bigint'],
    order: 'mailbox_id, uid',
    batchRows: 5000,
  },
  {
    key: 'expunged',
    table: 'expunged',
    columns: ['mailbox_id', 'uid', 'modseq'],
    types: ['bigint', 'bigint', 'bigint'],
    order: 'mailbox_id, uid',
    batchRows: 5000,
  },
  {
    key: 'queue',
    table: 'queue',
    columns: [
      'id',
      'envelope_from',
      'blob_id',
      'dsn_ret',
      'dsn_envid',
      'created_at',
      'next_attempt_at',
      'attempts',
      'last_error',
      'delay_warned_at',
    ],
    types: ['bigint', 'text', 'bigint', 'text', 'text', 'bigint', 'bigint', 'integer', 'text', 'bigint'],
    order: 'id',
    batchRows: 1000,
    serial: 'id',
  },
  {
    key: 'queueRecipients',
    table: 'queue_recipients',
    columns: ['queue_id', 'position', 'address', 'notify', 'orcpt', 'state', 'last_error'],
    types: ['bigint', 'integer', 'text', 'text', 'text', 'text', 'text'],
    order: 'queue_id, position',
    batchRows: 2000,
  },
  {
    key: 'admins',
    table: 'admins',
    columns: ['name', 'password_hash', 'created_at'],
    types: ['text', 'text', 'bigint'],
    order: 'name',
    batchRows: 1000,
  },
  {
    key: 'sieveScripts',
    table: 'sieve_scripts',
    columns: ['account_id', 'name', 'source', 'active', 'updated_at'],
    types: ['bigint', 'text', 'text', 'boolean', 'bigint'],
    convert: { active: bool },
    order: 'account_id, name',
    batchRows: 500,
  },
  {
    key: 'sieveMemory',
    table: 'sieve_memory',
    columns: ['account_id', 'kind', 'key', 'expires_at'],
    types: ['bigint', 'text', 'text', 'bigint'],
    order: 'account_id, kind, key',
    batchRows: 5000,
  },
];

/** Blobs are read in batches of at most this many bytes (besides `batchRows`). */
const BLOB_BATCH_BYTES = 32 * 1024 * 1024;

export class MigrateError extends Error {
  override name = 'MigrateError';
}

/**
 * A blob some message or queue entry references: the others are orphans not yet swept
 * (sqlite/orphans.ts), which the target would keep forever with no reference to count.
 */
const REFERENCED_BLOB = `(EXISTS (SELECT 1 FROM messages WHERE blob_id = b.id) OR EXISTS (SELECT 1 FROM queue WHERE blob_id = b.id))`;

function sourceSelect(copy: TableCopy): string {
  if (copy.table === 'blobs') {
    return `SELECT b.id, b.hash, b.size, coalesce(m.meta, b.meta) AS meta, b.data FROM blobs b
            LEFT JOIN blob_meta m ON m.blob_id = b.id WHERE b.id > ? AND ${REFERENCED_BLOB} ORDER BY b.id LIMIT ?`;
  }
  return `SELECT ${copy.columns.join(', ')} FROM ${copy.table} ORDER BY ${copy.order} LIMIT ? OFFSET ?`;
}

/** Copies the SQLite store at `from` into the empty PostgreSQL store at `to` (see the header). */
export async function migrateSqliteToPg(
  opts: MigrateOptions,
): Promise<{ source: MigrateCounts; target: MigrateCounts }> {
  const progress = opts.progress ?? (() => {});
  const db = openDatabase(opts.from);
  try {
    // Creates (or updates) the target's schema.
    await (await openPgStore({ url: opts.to, node: 'migrate' })).close();
    const client = new pg.Client(connectionConfig({ url: opts.to, schema: schemaOf(opts.to), node: 'migrate' }));
    await client.connect();
    try {
      const busy = await client.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM mailboxes) + (SELECT count(*) FROM messages)
           + (SELECT count(*) FROM queue) AS n`,
      );
      if (busy.rows[0].n > 0) {
        throw new MigrateError(
          'the target database already holds accounts, mailboxes, messages or queue entries; migrate into an empty one',
        );
      }
      const source = countSqlite(db);
      await client.query('BEGIN');
      try {
        for (const copy of TABLES) {
          const n = await copyTable(db, client, copy);
          progress(`${copy.table}: ${n}`);
        }
        for (const copy of TABLES) {
          if (!copy.serial) continue;
          await client.query(
            `SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT coalesce(max(${copy.serial}), 0) FROM ${copy.table}), 1))`,
            [copy.table, copy.serial],
          );
        }
        const uidvalidity = db.prepare(`SELECT value FROM meta WHERE key = 'uidvalidity'`).get() as
          | { value: number }
          | undefined;
        if (uidvalidity) {
          await client.query(
            `INSERT INTO meta (key, value) VALUES ('uidvalidity', $1)
             ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, EXCLUDED.value)`,
            [uidvalidity.value],
          );
        }
        await client.query('INSERT INTO search_pending (blob_id) SELECT id FROM blobs ON CONFLICT DO NOTHING');
        const target = await countPg(client);
        const differs = (Object.keys(source) as (keyof MigrateCounts)[]).filter((k) => source[k] !== target[k]);
        if (differs.length > 0) {
          throw new MigrateError(
            `the copy does not match the source (${differs.map((k) => `${k}: ${source[k]} → ${target[k]}`).join(', ')}); nothing was kept`,
          );
        }
        await client.query('COMMIT');
        return { source, target };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      await client.end();
    }
  } finally {
    db.close();
  }
}

async function copyTable(db: Database.Database, client: pg.Client, copy: TableCopy): Promise<number> {
  const select = db.prepare(sourceSelect(copy));
  const insert = `INSERT INTO ${copy.table} (${copy.columns.join(', ')})
    SELECT * FROM unnest(${copy.types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
  let copied = 0;
  let lastBlobId = 0;
  for (;;) {
    const rows = (
      copy.table === 'blobs' ? select.all(lastBlobId, copy.batchRows) : select.all(copy.batchRows, copied)
    ) as Record<string, unknown>[];
    if (rows.length === 0) return copied;
    // Blobs: cut the batch further by bytes.
    let batch = rows;
    if (copy.table === 'blobs') {
      let bytes = 0;
      let n = 0;
      while (n < rows.length && (n === 0 || bytes + (rows[n].size as number) <= BLOB_BATCH_BYTES)) {
        bytes += rows[n].size as number;
        n++;
      }
      batch = rows.slice(0, n);
      lastBlobId = batch[batch.length - 1].id as number;
      // A large blob's bytes are in pieces (sqlite/blob-chunks.ts, schema V16); PostgreSQL keeps them
      // in one value.
      for (const row of batch) {
        if ((row.data as Buffer).length < (row.size as number)) {
          const pieces = db.prepare('SELECT data FROM blob_chunks WHERE blob_id = ? ORDER BY seq').pluck();
          row.data = Buffer.concat(pieces.all(row.id) as Buffer[]);
        }
      }
    }
    const columns = copy.columns.map((c) => batch.map((r) => (copy.convert?.[c] ? copy.convert[c](r[c]) : r[c])));
    await client.query(insert, columns);
    copied += batch.length;
  }
}

function countSqlite(db: Database.Database): MigrateCounts {
  const n = (table: string) =>
    (
      db
        .prepare(`SELECT count(*) AS n FROM ${table === 'blobs' ? `blobs b WHERE ${REFERENCED_BLOB}` : table}`)
        .get() as { n: number }
    ).n;
  return countsOf(n);
}

async function countPg(client: pg.Client): Promise<MigrateCounts> {
  const counts: Record<string, number> = {};
  for (const copy of TABLES) {
    const result = await client.query<{ n: number }>(`SELECT count(*) AS n FROM ${copy.table}`);
    counts[copy.table] = Number(result.rows[0].n);
  }
  return countsOf((table) => counts[table]);
}

function countsOf(n: (table: string) => number): MigrateCounts {
  const counts = {} as MigrateCounts;
  for (const copy of TABLES) counts[copy.key] = n(copy.table);
  return counts;
}
