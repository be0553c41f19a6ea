/**
 * Who may send as an address: the accounts that "own" it, for `smtp.sender_login_match`
 * (Postfix's `reject_sender_login_mismatch` with `smtpd_sender_login_maps` built from the accounts and
 * the alias table, as docker-mailserver and most virtual-domain setups do). Given to the SMTP engine as
 * `SmtpBackend.senderOwners`; the engine compares the result with the logged-in account.
 *
 * Invariants:
 * - An address outside the local domains has no owner (postbode's users own only local addresses).
 * - An account owns its own address (unless disabled, when it cannot log in anyway).
 * - An exact alias is owned by every account it delivers to, through nested aliases up to
 *   MAX_ALIAS_DEPTH (the same bound as delivery.ts), never looping; remote targets own nothing.
 * - Catch-all aliases (`@domain`) and the implicit postmaster fallback of delivery.ts give no ownership:
 *   receiving mail for an address that does not exist is not a licence to send as it.
 */
import type { Store } from '../store/types.js';

/** How deep nested aliases are followed (delivery.ts follows the same depth). */
const MAX_ALIAS_DEPTH = 8;

/** The lower-case addresses of the accounts that may use `address` as a sender; empty when none may. */
export async function senderOwners(store: Store, address: string): Promise<string[]> {
  const lower = address.toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at < 1 || at === lower.length - 1) return [];
  if (!(await store.domains.has(lower.slice(at + 1)))) return [];
  const owners = new Set<string>();
  const seen = new Set<string>();
  const walk = async (addr: string, depth: number): Promise<void> => {
    if (seen.has(addr) || depth > MAX_ALIAS_DEPTH) return;
    seen.add(addr);
    const account = await store.accounts.get(addr);
    if (account && !account.disabled) owners.add(account.address.toLowerCase());
    const targets = await store.aliases.get(addr);
    for (const t of targets ?? []) {
      if (!t.startsWith('@')) await walk(t.toLowerCase(), depth + 1);
    }
  };
  await walk(lower, 0);
  return [...owners];
}
