import type { MailboxStore } from '../types.js';
import type { PgContext, PgTx } from './db.js';
import { notYet } from './todo.js';

/**
 * The mailbox of each target (its named mailbox, else INBOX), its row locked FOR UPDATE, rows locked
 * in ascending id; undefined for a target whose account has neither. Call inside a transaction.
 */
export async function lockMailboxesByName(
  _tx: PgTx,
  _targets: readonly { accountId: number; mailbox: string }[],
): Promise<({ id: number; account_id: number } | undefined)[]> {
  throw new Error('postgres lockMailboxesByName: not implemented yet');
}
export function pgMailboxes(_ctx: PgContext): MailboxStore {
  return notYet('mailboxes');
}
