/**
 * The digests of the key files every node's data dir must hold alike (`node_keys`), on PostgreSQL. The
 * contract is `NodeKeyStore` (types.ts); what is compared and when is server/node-keys.ts.
 *
 * Invariants:
 * - Only SHA-256 digests (hex) are stored, never a key.
 * - `recordIfNone` and `replace` run in one transaction under a table lock (`SHARE ROW EXCLUSIVE`, which
 *   conflicts with itself and not with reads), and look at the table inside it: of two nodes that start
 *   on an empty record at once, one records and the other reads that record.
 */
import type { NodeKeyStore } from '../types.js';
import type { PgContext, PgQueryable } from './db.js';

interface KeyRow {
  file: string;
  sha256: string;
}

async function read(q: PgQueryable): Promise<Map<string, string>> {
  const rows = await q.rows<KeyRow>('SELECT file, sha256 FROM node_keys ORDER BY file');
  return new Map(rows.map((r) => [r.file, r.sha256]));
}

async function insert(q: PgQueryable, files: ReadonlyMap<string, string>, by: string): Promise<void> {
  if (files.size === 0) return;
  await q.run(
    `INSERT INTO node_keys (file, sha256, recorded_by, recorded_at)
     SELECT f, h, $3, $4 FROM unnest($1::text[], $2::text[]) AS t(f, h)`,
    [[...files.keys()], [...files.values()], by, Date.now()],
  );
}

export function pgNodeKeys(ctx: PgContext): NodeKeyStore {
  return {
    list: () => read(ctx),

    recordIfNone(files, by) {
      return ctx.tx(async (tx) => {
        await tx.run('LOCK TABLE node_keys IN SHARE ROW EXCLUSIVE MODE');
        const recorded = await read(tx);
        if (recorded.size > 0) return recorded;
        await insert(tx, files, by);
        return new Map(files);
      });
    },

    replace(prefix, files, by) {
      return ctx.tx(async (tx) => {
        await tx.run('LOCK TABLE node_keys IN SHARE ROW EXCLUSIVE MODE');
        if (((await tx.value<number>('SELECT count(*) FROM node_keys')) ?? 0) === 0) return false;
        await tx.run('DELETE FROM node_keys WHERE starts_with(file, $1)', [prefix]);
        await insert(tx, new Map([...files].filter(([file]) => file.startsWith(prefix))), by);
        return true;
      });
    },
  };
}
