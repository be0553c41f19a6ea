/**
 * Per-account storage quota as IMAP shows it (RFC 9208: GETQUOTA, GETQUOTAROOT, STATUS). Whether
 * APPEND and COPY fit is not decided here but by the store, in the write (OverQuotaError).
 *
 * Invariants:
 * - One quota root per account, named "" (RFC 9208 §3.2 allows any name; Dovecot and Mox use one root
 *   per user too); every mailbox of the account belongs to it.
 * - The only resource is STORAGE (QUOTA=RES-STORAGE, RFC 9208 §5.1): the sum of the sizes of all
 *   messages of the account, copies counted each time (store.accounts.usage), shown in units of 1024
 *   octets, usage rounded up and the limit rounded down, so a client never sees room that is not there.
 * - The limit is the account's own quota, else the default of the store (`store.default_quota`, see
 *   `quotaLimit`); an account without a limit has the root but no resource in it: GETQUOTA answers
 *   without a QUOTA response, because `quota-list` needs at least one resource (RFC 9208 §7);
 *   Dovecot does the same.
 * - Limits are set by the administrator (`postbode user quota`); SETQUOTA is refused.
 */
import { quotaLimit, type Store } from '../store/types.js';

export const QUOTA_ROOT = '';

export interface QuotaState {
  /** Whether `extraBytes` more still fit: used + extraBytes <= limit (always true without a limit). */
  ok: boolean;
  /** Bytes in use; only computed when there is a limit (0 otherwise). */
  used: number;
  /** The limit in bytes, or null for none. */
  limit: number | null;
}

/** The account's quota state as it would be with `extraBytes` more (what GETQUOTA shows with 0). */
export async function quotaCheck(store: Store, accountId: number, extraBytes: number): Promise<QuotaState> {
  const account = await store.accounts.getById(accountId);
  const limit = account ? quotaLimit(store, account) : null;
  if (limit === null) return { ok: true, used: 0, limit: null };
  const used = await store.accounts.usage(accountId);
  return { ok: used + extraBytes <= limit, used, limit };
}

/** RFC 9208 §5.1: STORAGE (and DELETED-STORAGE, §4.1.4) is counted in units of 1024 octets. Usage rounds up. */
export function usageKiB(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

/** The limit rounds down (see the header). */
export function limitKiB(bytes: number): number {
  return Math.floor(bytes / 1024);
}
