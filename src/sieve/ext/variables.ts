/**
 * variables (RFC 5229): names, `${…}` substitution and the modifiers of `set`.
 *
 * - A name is an identifier (case-insensitive); with include (RFC 6609 §3.5) also `global.name`.
 *   Match variables are `${0}`…`${9}`, set by a successful :matches.
 * - Substitution replaces `${name}` with the value ('' when unset) and leaves any other `${…}` as
 *   written; it runs once, so a value that contains `${x}` is not expanded again (RFC 5229 §3).
 * - Modifiers apply from the highest precedence down (§4.1); :lower/:upper change ASCII letters only,
 *   as Pigeonhole does.
 */

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Most variables one script (and the global scope) may have (Pigeonhole's sieve_variables_max_scope_size). */
export const MAX_VARIABLES = 255;

/** Precedence of each modifier of `set` (RFC 5229 §4.1); equal precedence excludes each other. */
export const MODIFIER_PRECEDENCE: Readonly<Record<string, number>> = {
  lower: 40,
  upper: 40,
  lowerfirst: 30,
  upperfirst: 30,
  quotewildcard: 20,
  length: 10,
};

export function isValidVariableName(name: string, globalNamespace: boolean): boolean {
  if (IDENT.test(name)) return true;
  if (!globalNamespace) return false;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(0, dot).toLowerCase() === 'global' && IDENT.test(name.slice(dot + 1));
}

const REFERENCE = /\$\{(\d+|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}/g;

/**
 * Replaces each variable reference by `lookup(name)` (name lower-cased; a number for match
 * variables). Values stop being inserted once the result would pass `maxLength` characters, so a
 * string of many references to a long variable cannot grow without bound (the text written in the
 * script itself is always kept).
 */
export function substitute(
  value: string,
  lookup: (name: string) => string,
  maxLength = Number.POSITIVE_INFINITY,
): string {
  if (!value.includes('${')) return value;
  let inserted = 0;
  const room = Math.max(0, maxLength - value.length);
  return value.replace(REFERENCE, (_all, name: string) => {
    const v = lookup(name.toLowerCase());
    const take = Math.min(v.length, room - inserted);
    inserted += take;
    return take === v.length ? v : v.slice(0, take);
  });
}

const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
const asciiUpper = (s: string) => s.replace(/[a-z]+/g, (m) => m.toUpperCase());

/** Applies `set` modifiers, already sorted by precedence (highest first). */
export function applyModifiers(value: string, modifiers: readonly string[]): string {
  let v = value;
  for (const m of modifiers) {
    switch (m) {
      case 'lower':
        v = asciiLower(v);
        break;
      case 'upper':
        v = asciiUpper(v);
        break;
      case 'lowerfirst':
        v = asciiLower(v.slice(0, 1)) + v.slice(1);
        break;
      case 'upperfirst':
        v = asciiUpper(v.slice(0, 1)) + v.slice(1);
        break;
      case 'quotewildcard':
        v = v.replace(/[*?\\]/g, (c) => `\\${c}`);
        break;
      case 'length':
        v = String([...v].length);
        break;
    }
  }
  return v;
}

/** Cuts a value to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(value: string, maxBytes: number): string {
  if (value.length * 3 <= maxBytes || Buffer.byteLength(value) <= maxBytes) return value;
  let bytes = 0;
  let end = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return value.slice(0, end);
}
