import type { AccountStore, AliasStore, DomainStore } from '../types.js';
import type { PgContext } from './db.js';
import { notYet } from './todo.js';

export function pgAccounts(_ctx: PgContext): AccountStore {
  return notYet('accounts');
}
export function pgDomains(_ctx: PgContext): DomainStore {
  return notYet('domains');
}
export function pgAliases(_ctx: PgContext): AliasStore {
  return notYet('aliases');
}
