/**
 * Web lab administrators in SQLite (`admins`). Names are stored trimmed and lower-cased and looked up
 * the same way; nothing is cached (the CLI adds admins while the server runs).
 */
import { type Admin, type AdminStore, StoreConflictError } from '../types.js';
import type { SqliteContext } from './db.js';

interface AdminRow {
  name: string;
  password_hash: string;
  created_at: number;
}

const toAdmin = (row: AdminRow): Admin => ({
  name: row.name,
  passwordHash: row.password_hash,
  createdAt: new Date(row.created_at),
});

const normalize = (name: string) => name.trim().toLowerCase();

export function sqliteAdmins(ctx: SqliteContext): AdminStore {
  const byName = (name: string) =>
    ctx.sql('SELECT name, password_hash, created_at FROM admins WHERE name = ?').get(name) as AdminRow | undefined;
  return {
    create(input) {
      const name = normalize(input.name);
      if (name === '') return Promise.reject(new Error('admin name must not be empty'));
      return ctx.write(() => {
        if (byName(name)) throw new StoreConflictError(`admin ${name} already exists`);
        const row = ctx
          .sql('INSERT INTO admins (name, password_hash, created_at) VALUES (?, ?, ?) RETURNING *')
          .get(name, input.passwordHash, Date.now()) as AdminRow;
        return toAdmin(row);
      });
    },
    async get(name) {
      const row = byName(normalize(name));
      return row ? toAdmin(row) : null;
    },
    async list() {
      return (ctx.sql('SELECT name, password_hash, created_at FROM admins ORDER BY name').all() as AdminRow[]).map(
        toAdmin,
      );
    },
    delete(name) {
      const n = normalize(name);
      return ctx.write(() => ctx.sql('DELETE FROM admins WHERE name = ?').run(n).changes > 0);
    },
    setPassword(name, passwordHash) {
      const n = normalize(name);
      return ctx.write(
        () => ctx.sql('UPDATE admins SET password_hash = ? WHERE name = ?').run(passwordHash, n).changes > 0,
      );
    },
  };
}
