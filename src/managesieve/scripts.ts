/**
 * The checks every command that names or stores a script shares: the name (RFC 5804 §1.6, the store's
 * rule in src/store/sieve.ts), the size and count quotas (RFC 5804 §1.3 QUOTA/MAXSIZE,
 * QUOTA/MAXSCRIPTS) and the compile (errors with their line and column). Each answers the client
 * itself and returns whether the command may go on.
 *
 * Invariant: the limits hold whatever other sessions do: the size is checked on the bytes stored, and
 * the count once more by the store's write (`SieveStore.put` with `maxScripts`), so two sessions of
 * one account storing new scripts at once cannot both pass it.
 */
import type { SieveDiagnostic } from '../sieve/types.js';
import { sieveNameProblem } from '../store/sieve.js';
import type { ManageSieveSession } from './session.js';

/** Errors shown at most in one answer (the first ones; a script with more says how many more). */
const MAX_SHOWN = 20;

/** Compile errors as one text, a line per error: `line L, column C: message` (Pigeonhole's `line L:` first). */
export function diagnosticsText(errors: readonly SieveDiagnostic[]): string {
  const lines = errors.slice(0, MAX_SHOWN).map((e) => `line ${e.line}, column ${e.column}: ${e.message}`);
  if (errors.length > MAX_SHOWN) lines.push(`... and ${errors.length - MAX_SHOWN} more errors`);
  return lines.join('\r\n');
}

/** Whether `name` can name a script; answers NO with the reason when not. */
export function checkName(s: ManageSieveSession, name: string): boolean {
  const problem = sieveNameProblem(name);
  if (problem === null) return true;
  s.no(`Invalid script name: ${problem}`);
  return false;
}

/** Whether a script of `size` octets fits (RFC 5804 §2.5); answers NO (QUOTA/MAXSIZE) when not. */
export function checkSize(s: ManageSieveSession, size: number): boolean {
  const limit = s.settings.maxScriptBytes;
  if (size <= limit) return true;
  s.no(`The script is ${size} octets; the limit is ${limit} octets`, 'QUOTA/MAXSIZE');
  return false;
}

/** Whether the account may keep a script called `name` (an existing one is replaced); else NO (QUOTA/MAXSCRIPTS). */
export async function checkRoom(s: ManageSieveSession, accountId: number, name: string): Promise<boolean> {
  const scripts = await s.backend.store.sieve.list(accountId);
  const limit = s.settings.maxScripts;
  if (scripts.some((x) => x.name === name) || scripts.length < limit) return true;
  tooMany(s, limit);
  return false;
}

/** NO (QUOTA/MAXSCRIPTS): the account has `limit` scripts. */
export function tooMany(s: ManageSieveSession, limit: number): void {
  s.no(
    `You have ${limit} scripts, the limit. Delete one (DELETESCRIPT) or replace one by its name`,
    'QUOTA/MAXSCRIPTS',
  );
}

/** Whether `source` compiles; answers NO with the errors and their positions when not. */
export function checkSource(s: ManageSieveSession, source: string): boolean {
  const result = s.backend.compile(source);
  if (result.ok) return true;
  s.no(diagnosticsText(result.errors));
  return false;
}
