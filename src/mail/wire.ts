/**
 * IMAP string rendering for the FETCH data built in this folder (ENVELOPE, BODY, BODYSTRUCTURE).
 *
 * Invariants:
 * - Output is a JS string of IMAP wire text; the caller turns it into bytes with UTF-8. A literal's
 *   length is the UTF-8 byte length of its content, so the result is exact once encoded.
 * - A value goes out as a quoted string when it can (RFC 9051 §4.3: no CR, LF or NUL; `"` and `\`
 *   escaped; 8-bit only when UTF-8 is allowed on the connection, i.e. UTF8=ACCEPT or IMAP4rev2),
 *   otherwise as a synchronizing literal `{n}\r\n…` (RFC 9051 §4.3).
 */

export interface WireOptions {
  /** The client may receive UTF-8 in quoted strings (UTF8=ACCEPT enabled, RFC 9051 / RFC 6855). */
  utf8: boolean;
}

/** An IMAP string for `value` (never NIL). */
export function imapString(value: string, utf8: boolean): string {
  let needsEscape = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0 || (c >= 0x80 && !utf8)) {
      return `{${Buffer.byteLength(value, 'utf8')}}\r\n${value}`;
    }
    if (c === 0x22 || c === 0x5c) needsEscape = true;
  }
  return needsEscape ? `"${value.replace(/["\\]/g, '\\$&')}"` : `"${value}"`;
}

/** An IMAP nstring: NIL for null. */
export function imapNString(value: string | null | undefined, utf8: boolean): string {
  return value === null || value === undefined ? 'NIL' : imapString(value, utf8);
}
