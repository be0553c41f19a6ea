import type { SessionLogStore } from '../types.js';
import type { PgContext } from './db.js';
import { notYet } from './todo.js';

export function pgSessionLog(_ctx: PgContext): SessionLogStore {
  return notYet('sessionLog');
}
