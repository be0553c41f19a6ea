import type { AdminStore } from '../types.js';
import type { PgContext } from './db.js';
import { notYet } from './todo.js';

export function pgAdmins(_ctx: PgContext): AdminStore {
  return notYet('admins');
}
