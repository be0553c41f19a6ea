/**
 * Web lab administrators in PostgreSQL (`admins`, as sqlite/admins.ts).
 *
 * Invariants:
 * - Names are stored trimmed and lower-cased and looked up the same way; lists are sorted by name in
 *   byte order (the column is `COLLATE "C"`), as on SQLite.
 * - A taken name is found by the primary key (`ON CONFLICT DO NOTHING`): two nodes creating one name
 *   at once give one admin and one StoreConflictError.
 * - Nothing is cached: the CLI and other nodes add admins while the server runs.
 */
import { type Admin, type AdminStore, StoreConflictError } from '../types.js';
import type { PgContext } from './db.js';

interface AdminRow {
  name: string;
  password_hash: string;
  created_at: number;
}

const COLUMNS = 'name, password_hash, created_at';

const toAdmin = (row: AdminRow): Admin => ({
  name: row.name,
  passwordHash: row.password_hash,
  createdAt: new Date(row.created_at),
});

const normalize = (name: string) => name.trim().toLowerCase();

export function pgAdmins(ctx: PgContext): AdminStore {
  return {
    create(input) {
      const name = normalize(input.name);
      if (name === '') return Promise.reject(new Error('admin name must not be empty'));
      return ctx.tx(async (tx) => {
        const row = await tx.one<AdminRow>(
          `INSERT INTO admins (name, password_hash, created_at) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
          [name, input.passwordHash, Date.now()],
        );
        if (!row) throw new StoreConflictError(`admin ${name} already exists`);
        return toAdmin(row);
      });
    },
    async get(name) {
      const row = await ctx.one<AdminRow>(`SELECT ${COLUMNS} FROM admins WHERE name = $1`, [normalize(name)]);
      return row ? toAdmin(row) : null;
    },
    async list() {
      return (await ctx.rows<AdminRow>(`SELECT ${COLUMNS} FROM admins ORDER BY name`)).map(toAdmin);
    },
    delete(name) {
      const n = normalize(name);
      return ctx.tx(async (tx) => (await tx.run('DELETE FROM admins WHERE name = $1', [n])) > 0);
    },
    setPassword(name, passwordHash) {
      const n = normalize(name);
      return ctx.tx(
        async (tx) => (await tx.run('UPDATE admins SET password_hash = $1 WHERE name = $2', [passwordHash, n])) > 0,
      );
    },
  };
}
