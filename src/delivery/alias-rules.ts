/**
 * The rules for making an alias, shared by the CLI (`postbode alias add`) and the web admin
 * (`PUT /api/aliases/ALIAS`), so both refuse the same mistakes with the same words.
 *
 * Invariants:
 * - An alias (or a catch-all `@domain`) is made only in a local domain: making one never makes its
 *   domain local (that would take over all mail for the domain, e.g. gmail.com, from every user).
 * - Each target is an address of another domain (delivered out), or a local address that resolves as
 *   delivery resolves it (delivery.ts `#expand`: an alias, else an account, else the domain's catch-all).
 * - No target is the alias itself, and the new targets close no loop through other aliases.
 * - Pure planning: nothing is written here; the caller writes `plan.targets` with `store.aliases.set`.
 */
import type { Store } from '../store/types.js';

export class AliasRuleError extends Error {
  override name = 'AliasRuleError';
}

export interface AliasRequest {
  /** Lower-case address or `@domain`, syntax already checked. */
  key: string;
  /** Lower-case addresses, syntax already checked. */
  targets: string[];
  /** Replace the targets of an existing alias instead of adding to them. */
  replace: boolean;
  /** How the user makes a domain local in this interface, e.g. `postbode domain add DOMAIN`. */
  howToAddDomain: (domain: string) => string;
}

export interface AliasPlan {
  key: string;
  /** The targets to store: the old ones plus the new unless `replace`. */
  targets: string[];
  /** The targets before, or null for a new alias. */
  previous: string[] | null;
  /** Targets in no local domain, delivered to other servers. */
  remote: string[];
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

export async function planAlias(store: Store, req: AliasRequest): Promise<AliasPlan> {
  const { key } = req;
  const keyDomain = key.startsWith('@') ? key.slice(1) : domainOf(key);
  if (!(await store.domains.has(keyDomain))) {
    throw new AliasRuleError(
      `${keyDomain} is not a local domain, so ${key} cannot be an alias here: mail to ${keyDomain} is delivered ` +
        `to its own servers. Making it local would take all its mail, and no user could send to anyone at ${keyDomain}. ` +
        `If this server is meant to receive mail for ${keyDomain}, add the domain first (${req.howToAddDomain(keyDomain)}).`,
    );
  }
  const previous = await store.aliases.get(key);
  const targets = req.replace || !previous ? [...new Set(req.targets)] : [...new Set([...previous, ...req.targets])];
  const remote: string[] = [];
  for (const t of req.targets) {
    if (t === key) throw new AliasRuleError(`${key} cannot be an alias of itself`);
    if (!(await store.domains.has(domainOf(t)))) {
      remote.push(t);
      continue;
    }
    if (!(await resolves(store, t, key))) {
      throw new AliasRuleError(
        `${t} is neither an account nor an alias (and ${domainOf(t)} has no catch-all): add the user or alias first, ` +
          'or give an address of another domain',
      );
    }
  }
  const loop = await findLoop(store, key, targets);
  if (loop) throw new AliasRuleError(`${key} -> ${targets.join(', ')} would make a loop: ${loop.join(' -> ')}`);
  return { key, targets, previous, remote };
}

/** Whether a local address delivers somewhere (ignoring the alias being planned). */
async function resolves(store: Store, address: string, planned: string): Promise<boolean> {
  if (address !== planned && (await store.aliases.get(address))) return true;
  if (await store.accounts.get(address)) return true;
  const catchAll = `@${domainOf(address)}`;
  return catchAll !== planned && (await store.aliases.get(catchAll)) !== null;
}

/**
 * A path from `key` back to itself when `key` gets `targets`, following delivery's order (alias, then
 * account, then catch-all) through local addresses; null when there is none.
 */
async function findLoop(store: Store, key: string, targets: string[]): Promise<string[] | null> {
  const aliasTargets = async (node: string) => (node === key ? targets : await store.aliases.get(node));
  const next = async (address: string): Promise<string | null> => {
    if (!(await store.domains.has(domainOf(address)))) return null;
    if (address === key || (await store.aliases.get(address))) return address;
    if (await store.accounts.get(address)) return null;
    const catchAll = `@${domainOf(address)}`;
    return catchAll === key || (await store.aliases.get(catchAll)) ? catchAll : null;
  };
  const seen = new Set<string>();
  const walk = async (node: string, path: string[]): Promise<string[] | null> => {
    for (const t of (await aliasTargets(node)) ?? []) {
      const n = await next(t);
      if (n === null) continue;
      const via = n === t ? [...path, t] : [...path, t, n];
      if (n === key) return via;
      if (seen.has(n)) continue;
      seen.add(n);
      const found = await walk(n, via);
      if (found) return found;
    }
    return null;
  };
  return walk(key, [key]);
}
