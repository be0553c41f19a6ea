import type { SearchIndexStore } from '../types.js';
import type { PgContext } from './db.js';
import { notYet } from './todo.js';

export async function ensurePgSearchIndex(_ctx: PgContext): Promise<boolean> {
  return false;
}
export function pgSearchIndex(_ctx: PgContext): SearchIndexStore {
  return notYet('searchIndex');
}
