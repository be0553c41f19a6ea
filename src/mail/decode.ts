/**
 * Decoding message content to text: RFC 2047 encoded-words, RFC 2231 parameter values, transfer
 * encodings (RFC 2045 §6) and charsets. Used by SEARCH, PREVIEW and anything that shows text; never
 * by FETCH, which serves the stored bytes.
 *
 * Invariants:
 * - Never throws: undecodable input comes back as text anyway (unknown charsets are read as UTF-8,
 *   invalid UTF-8 without a declared charset as Latin-1, broken encoded-words stay as written).
 */

import { isUtf8 } from 'node:buffer';
import libmime from 'libmime';
import { decode as decodeCharsetBytes } from 'libmime/lib/charset.js';
import libqp from 'libqp';
import type { MimePart, Param } from './mime.js';

/** Bytes in a declared charset → text. No charset (or US-ASCII): UTF-8 when valid, else Latin-1. */
export function decodeCharset(bytes: Buffer, charset: string | null | undefined): string {
  const cs = charset?.trim().toLowerCase() ?? '';
  try {
    if (cs === '' || cs === 'us-ascii' || cs === 'ascii' || cs === 'utf-8' || cs === 'utf8') {
      return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
    }
    return decodeCharsetBytes(bytes, cs);
  } catch {
    return bytes.toString('utf8');
  }
}

/** Undoes a Content-Transfer-Encoding (base64, quoted-printable); others are identity. */
export function decodeTransfer(bytes: Buffer, encoding: string | null | undefined): Buffer {
  const enc = encoding?.toLowerCase();
  try {
    if (enc === 'base64') return Buffer.from(bytes.toString('latin1'), 'base64');
    if (enc === 'quoted-printable') return libqp.decode(bytes.toString('latin1'));
  } catch {
    // fall through: the raw bytes are the best text we have
  }
  return bytes;
}

const B_WORD = /=\?[^?\s]+\?[Bb]\?([^?\s]*)\?=/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Stands for the `=?` of an encoded-word left as written (a private-use character). */
const KEPT = '\uE000';

/**
 * Decodes RFC 2047 encoded-words (with charset conversion) in an unfolded header value. A "B"
 * encoded-word whose text is no base64 stays as written (RFC 2047 §6.3: what cannot be decoded is
 * shown as it is), not decoded into noise.
 */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  const kept = value.replace(B_WORD, (word, text: string) => (BASE64.test(text) ? word : KEPT + word.slice(2)));
  try {
    const decoded = libmime.decodeWords(kept);
    return kept === value ? decoded : decoded.replaceAll(KEPT, '=?');
  } catch {
    return value;
  }
}

/**
 * A parameter's value as text: an RFC 2231 extended value (`name*`, "charset'language'%XX…", what
 * `parseParams` produces for encoded or continued values) is percent-decoded and converted from its
 * charset; a plain value has its RFC 2047 encoded-words decoded (some clients write those in
 * quoted parameter values). Names compare case-insensitively; the extended form wins.
 */
export function paramValue(params: readonly Param[] | undefined, name: string): string | null {
  if (params === undefined) return null;
  const lower = name.toLowerCase();
  let plain: string | null = null;
  for (const [k, v] of params) {
    const key = k.toLowerCase();
    if (key === `${lower}*`) return decodeExtendedValue(v);
    if (key === lower && plain === null) plain = decodeWords(v);
  }
  return plain;
}

/** RFC 2231 §4: charset "'" [language] "'" percent-encoded octets. */
export function decodeExtendedValue(value: string): string {
  const first = value.indexOf("'");
  const second = first < 0 ? -1 : value.indexOf("'", first + 1);
  if (second < 0) return value;
  const charset = value.slice(0, first);
  const encoded = value.slice(second + 1);
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of Buffer.from(encoded[i], 'utf8')) bytes.push(b);
    }
  }
  return decodeCharset(Buffer.from(bytes), charset);
}

/** The decoded text of a (non-multipart) part's body: transfer encoding undone, charset converted. */
export function partText(raw: Buffer, part: MimePart): string {
  const bytes = decodeTransfer(raw.subarray(part.body, part.end), part.encoding);
  return decodeCharset(bytes, paramValue(part.params, 'charset'));
}
