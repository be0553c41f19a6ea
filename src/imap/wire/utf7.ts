/**
 * Modified UTF-7 (RFC 3501 §5.1.3): how IMAP4rev1 clients write international mailbox names.
 *
 * Invariants:
 * - Encoding is total: every JavaScript string encodes (a lone surrogate becomes U+FFFD first).
 * - Decoding is strict and canonical: a string decodes only if encoding the result gives back the same
 *   string, so each name has exactly one wire form and two spellings can never name two mailboxes.
 *   Errors say what is wrong and at which offset, for a `BAD` reply.
 * - Only printable US-ASCII (0x20-0x7e) appears on the wire; `&` is written `&-`.
 * - This module knows nothing about IMAP4rev2/UTF8=ACCEPT: there names are plain UTF-8 and never pass
 *   through here (RFC 9051 §5.1, RFC 6855 §3).
 */

// RFC 3501 §5.1.3: modified BASE64 of RFC 2152, with "," used instead of "/".
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const AMP = 0x26;

export type Utf7Result = { ok: true; name: string } | { ok: false; error: string; offset: number };

/** Whether a UTF-16 code unit stands for itself (RFC 3501 §5.1.3: printable US-ASCII, 0x20-0x7e). */
function direct(unit: number): boolean {
  return unit >= 0x20 && unit <= 0x7e;
}

/** Encodes a mailbox name for an IMAP4rev1 client. */
export function encodeModifiedUtf7(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const unit = name.charCodeAt(i);
    if (direct(unit)) {
      // RFC 3501 §5.1.3: "&" is represented by the two-octet sequence "&-".
      out += unit === AMP ? '&-' : name[i];
      i++;
      continue;
    }
    // RFC 3501 §5.1.3: a run of other characters is UTF-16 in modified BASE64 between "&" and "-".
    const units: number[] = [];
    while (i < name.length && !direct(name.charCodeAt(i))) {
      const u = name.charCodeAt(i);
      if (u >= 0xd800 && u <= 0xdbff) {
        const next = i + 1 < name.length ? name.charCodeAt(i + 1) : 0;
        if (next >= 0xdc00 && next <= 0xdfff) {
          units.push(u, next);
          i += 2;
          continue;
        }
        units.push(0xfffd);
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        units.push(0xfffd);
      } else {
        units.push(u);
      }
      i++;
    }
    out += `&${base64Units(units)}-`;
  }
  return out;
}

function base64Units(units: number[]): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const u of units) {
    acc = (acc << 16) | u;
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >>> bits) & 0x3f];
    }
    acc &= (1 << bits) - 1;
  }
  // RFC 3501 §5.1.3 (RFC 2152 rules): no "=" padding; the last character is zero-filled.
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 0x3f];
  return out;
}

/** Decodes a modified UTF-7 mailbox name from an IMAP4rev1 client, rejecting every non-canonical form. */
export function decodeModifiedUtf7(text: string): Utf7Result {
  let out = '';
  let i = 0;
  let lastShiftEnd = -1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (!direct(c)) {
      const what = c > 0x7e ? `8-bit character U+${hex4(c)}` : `control character 0x${c.toString(16).padStart(2, '0')}`;
      return fail(`${what} in a modified UTF-7 mailbox name (RFC 3501 section 5.1.3 allows printable ASCII only)`, i);
    }
    if (c !== AMP) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('-', i + 1);
    if (end < 0) return fail(`"&" starts a shifted sequence that is never closed with "-"`, i);
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    // RFC 3501 §5.1.3: "&U,BTFw-&ZeVnLIqe-" is not permitted because it contains a superfluous shift.
    if (lastShiftEnd === i) return fail('two shifted sequences in a row (they must be written as one)', i);
    let acc = 0;
    let bits = 0;
    let high = -1;
    for (let k = i + 1; k < end; k++) {
      const code = text.charCodeAt(k);
      const v = code < 128 ? DECODE[code] : -1;
      if (v < 0) return fail(`"${text[k]}" is not a modified BASE64 character (A-Z a-z 0-9 + ,)`, k);
      acc = ((acc << 6) | v) & 0xffffff;
      bits += 6;
      if (bits < 16) continue;
      bits -= 16;
      const unit = (acc >>> bits) & 0xffff;
      if (direct(unit)) {
        // RFC 3501 §5.1.3: modified BASE64 MUST NOT represent printable US-ASCII.
        return fail(`shifted sequence encodes the printable character "${String.fromCharCode(unit)}"`, i);
      }
      if (high >= 0) {
        if (unit < 0xdc00 || unit > 0xdfff) return fail('shifted sequence has an unpaired UTF-16 surrogate', i);
        out += String.fromCharCode(high, unit);
        high = -1;
      } else if (unit >= 0xd800 && unit <= 0xdbff) {
        high = unit;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        return fail('shifted sequence has an unpaired UTF-16 surrogate', i);
      } else {
        out += String.fromCharCode(unit);
      }
    }
    if (high >= 0) return fail('shifted sequence ends inside a UTF-16 surrogate pair', i);
    // The bits left over must be fewer than one BASE64 character and zero (RFC 2152 §"Rule 2").
    if (bits >= 6 || (acc & ((1 << bits) - 1)) !== 0) {
      return fail('shifted sequence has a bad length or non-zero padding bits', i);
    }
    i = end + 1;
    lastShiftEnd = i;
  }
  // Belt and braces: the canonical form is unique (catches anything the checks above let through).
  if (encodeModifiedUtf7(out) !== text) return fail('not the canonical modified UTF-7 form of the name', 0);
  return { ok: true, name: out };
}

/** Whether `text` is valid (canonical) modified UTF-7. */
export function isModifiedUtf7(text: string): boolean {
  return decodeModifiedUtf7(text).ok;
}

function fail(error: string, offset: number): Utf7Result {
  return { ok: false, error: `${error} at offset ${offset}`, offset };
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
