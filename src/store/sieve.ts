/**
 * Backend-neutral rules of `SieveStore` (types.ts): what a script name may be (RFC 5804 §1.6,
 * `SieveScriptInfo.name`), shared by every way a script is named (ManageSieve, the CLI, the web) so a
 * name one of them takes the others take too; and the expiry of a memory row.
 *
 * Invariants:
 * - A name is 1–128 characters of UTF-8 text in Unicode NFC (Net-Unicode, RFC 5198), with no control
 *   character (U+0000–U+001F, U+007F–U+009F) and no line or paragraph separator (U+2028, U+2029).
 * - Names are compared as given (code point for code point, case-sensitive), as Pigeonhole does.
 */

/** The longest script name, in characters. */
export const MAX_SIEVE_NAME_CHARS = 128;

const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

/** In `u` mode a paired surrogate is one code point, so this finds only the unpaired ones. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** Why `name` cannot name a script (a sentence for the user), or null when it can. */
export function sieveNameProblem(name: string): string | null {
  if (name.length === 0) return 'a script name must not be empty';
  const chars = [...name].length;
  if (chars > MAX_SIEVE_NAME_CHARS) {
    return `the script name is ${chars} characters long; the limit is ${MAX_SIEVE_NAME_CHARS}`;
  }
  if (FORBIDDEN.test(name)) return 'a script name must not contain control characters or line separators';
  if (LONE_SURROGATE.test(name)) return 'the script name is not valid Unicode';
  if (name.normalize('NFC') !== name) return 'the script name is not in Unicode normalization form C (RFC 5804 §1.6)';
  return null;
}

/** The expiry of a `SieveStore.remember` row, in unix ms: `seconds` after `now`, at least `now`. */
export function sieveMemoryExpiry(now: Date, seconds: number): number {
  const ms = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
  return Math.min(now.getTime() + ms, Number.MAX_SAFE_INTEGER);
}
