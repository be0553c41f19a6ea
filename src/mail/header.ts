/**
 * Header block helpers shared by the MIME model, ENVELOPE, SEARCH and FETCH BODY[HEADER.FIELDS].
 *
 * Invariants:
 * - A header block is a run of lines ending at the first empty line (RFC 5322 §2.1); without one it
 *   runs to the end of its range. A line starting with SP or HTAB continues the field before it
 *   (RFC 5322 §2.2.3). Line ends may be CRLF or bare LF.
 * - A field name is everything before the first ':' on its first line, trailing WSP trimmed
 *   (obsolete syntax, RFC 5322 §4.5); a line without ':' is a field without a name. This is the
 *   same split Dovecot makes (message-header-parser.c), which is the reference for IMAP output.
 * - Header bytes are text: valid UTF-8 is read as UTF-8 (RFC 6532), any other byte as Latin-1, so no
 *   byte is ever lost or replaced by U+FFFD; NUL becomes U+FFFD (as Dovecot does).
 */

import { isUtf8 } from 'node:buffer';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

/** Longer names are treated as a nameless line (Dovecot: MESSAGE_HEADER_NAME_MAX_LEN). */
export const MAX_NAME_LENGTH = 1000;

/** Reads header bytes as text: UTF-8 when valid, Latin-1 otherwise. */
export function headerText(raw: Buffer, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (raw[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  let s: string;
  if (ascii) s = raw.toString('latin1', start, end);
  else {
    const slice = raw.subarray(start, end);
    s = isUtf8(slice) ? slice.toString('utf8') : mixedText(slice);
  }
  return s.includes('\0') ? s.replace(/\0/g, '\uFFFD') : s;
}

/** Valid UTF-8 sequences as UTF-8, every other byte as Latin-1. */
function mixedText(bytes: Buffer): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const n = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 1;
    if (n > 1 && i + n <= bytes.length && isUtf8(bytes.subarray(i, i + n))) {
      out += bytes.toString('utf8', i, i + n);
      i += n;
    } else {
      out += String.fromCharCode(b);
      i++;
    }
  }
  return out;
}

/**
 * The value of a field whose value bytes are raw[valueStart, end): leading WSP on the first line
 * skipped (all of it, or one character when the line is only WSP), folding kept as "\n" followed by
 * the continuation line. This is Dovecot's `full_value`.
 */
export function fieldValue(raw: Buffer, valueStart: number, end: number): string {
  let s = valueStart;
  const firstLf = raw.indexOf(LF, s);
  const firstEnd = firstLf < 0 || firstLf > end ? end : firstLf;
  while (s < firstEnd && (raw[s] === SP || raw[s] === TAB)) s++;
  let lineEnd = firstEnd;
  if (lineEnd > valueStart && raw[lineEnd - 1] === CR && firstLf >= 0 && firstLf < end) lineEnd--;
  if (s === lineEnd && lineEnd > valueStart) s = valueStart + 1; // only WSP: skip one
  const text = headerText(raw, s, end);
  return text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text;
}

/** Unfolds: drops CR and LF, adding a space where a line break was not followed by WSP (Dovecot `nolf`). */
export function unfold(s: string): string {
  if (!/[\r\n]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\r' && c !== '\n') out += c;
    else {
      const next = s[i + 1];
      if (next !== undefined && next !== ' ' && next !== '\t' && next !== '\r' && next !== '\n') out += ' ';
    }
  }
  return out;
}

/** Whitespace runs (SP, HTAB, CR, LF) become one space; leading and trailing ones go (Dovecot "for humans"). */
export function collapseWhitespace(s: string): string {
  return s.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '');
}

/** One field of a header block; offsets are into the buffer that was scanned. */
export interface HeaderField {
  /** The name as written ('' for a line without ':'). */
  name: string;
  /** Start of the field's first line. */
  start: number;
  /** First byte after the ':' (equals `start` for a nameless line). */
  valueStart: number;
  /** End of the field's last line, before its line end. */
  valueEnd: number;
  /** First byte after the field's last line end. */
  next: number;
}

export interface HeaderScan {
  fields: HeaderField[];
  /** Where the header ends: after the empty line, or at `end` when there is none. */
  headerEnd: number;
  /** Whether the header ended with an empty line. */
  hasEmptyLine: boolean;
}

/** Splits raw[start, end) into header fields. */
export function scanHeader(raw: Buffer, start = 0, end = raw.length): HeaderScan {
  const fields: HeaderField[] = [];
  let last: HeaderField | null = null;
  let p = start;
  while (p < end) {
    let lf = raw.indexOf(LF, p);
    if (lf >= end) lf = -1;
    const next = lf < 0 ? end : lf + 1;
    const contentEnd = lf < 0 ? end : lf > p && raw[lf - 1] === CR ? lf - 1 : lf;
    if (lf >= 0 && contentEnd === p) return { fields, headerEnd: next, hasEmptyLine: true };
    const first = raw[p];
    if ((first === SP || first === TAB) && last !== null) {
      last.valueEnd = contentEnd;
      last.next = next;
    } else {
      let colon = p;
      while (colon < contentEnd && raw[colon] !== COLON) colon++;
      if (colon < contentEnd && colon - p <= MAX_NAME_LENGTH) {
        let nameEnd = colon;
        while (nameEnd > p && (raw[nameEnd - 1] === SP || raw[nameEnd - 1] === TAB)) nameEnd--;
        last = {
          name: raw.toString('latin1', p, nameEnd),
          start: p,
          valueStart: colon + 1,
          valueEnd: contentEnd,
          next,
        };
      } else {
        last = { name: '', start: p, valueStart: p, valueEnd: contentEnd, next };
      }
      fields.push(last);
    }
    p = next;
  }
  return { fields, headerEnd: end, hasEmptyLine: false };
}

const CRLF = Buffer.from('\r\n');

/**
 * BODY[HEADER.FIELDS (…)] and BODY[HEADER.FIELDS.NOT (…)] (RFC 9051 §6.4.5): the fields of a header
 * block whose names are (or, with `exclude`, are not) in `names`, compared case-insensitively, in
 * their original order and folding, line ends as CRLF (a last line without one stays without); then
 * the empty line when the header had one ("the blank line is included in all header fetches, except
 * in the case of a message which has no body and no blank line"). Lines without a name only pass
 * HEADER.FIELDS.NOT. Same bytes as Dovecot, except that Dovecot adds an empty line to a top-level
 * HEADER.FIELDS of a header that has none.
 */
export function filterHeaderFields(
  header: Buffer,
  names: readonly string[],
  exclude: boolean,
  /** Whether to end with the empty line; default: when `header` ends with one. */
  emptyLine?: boolean,
): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const scan = scanHeader(header);
  const out: Buffer[] = [];
  for (const f of scan.fields) {
    const match = f.name !== '' && wanted.has(f.name.toLowerCase());
    if (match === exclude) continue;
    let p = f.start;
    while (p < f.next) {
      const lf = header.indexOf(LF, p);
      if (lf < 0 || lf >= f.next) {
        out.push(header.subarray(p, f.next)); // the header's last line, without a line end
        break;
      }
      out.push(header.subarray(p, lf > p && header[lf - 1] === CR ? lf - 1 : lf), CRLF);
      p = lf + 1;
    }
  }
  if (emptyLine ?? scan.hasEmptyLine) out.push(CRLF);
  return Buffer.concat(out);
}
