/**
 * What IMAP SEARCH, SORT, THREAD and PREVIEW need from message content (RFC 9051 §6.4.4, RFC 5256,
 * RFC 8970), computed on demand from the raw message and its stored meta.
 *
 * Invariants:
 * - Matching is substring matching after case folding (`fold`: Unicode NFKD + lower case, close to
 *   the i;unicode-casemap comparator RFC 9051 §6.4.4 asks for), on decoded text: header values have
 *   their encoded-words decoded and are unfolded; bodies have their transfer encoding undone and are
 *   converted from their charset.
 * - BODY searches text parts (text/*), including those of encapsulated messages and the headers of
 *   those messages; other parts (images, PDFs…) are not text and are not searched. TEXT adds the
 *   message's own header.
 * - A `SearchableMessage` decodes each thing at most once, so one SEARCH with several keys does
 *   the work once per message. Nothing here throws on broken content.
 */

import { decodeWords, partText } from './decode.js';
import type { Address, Envelope } from './envelope.js';
import { fieldValue, scanHeader } from './header.js';
import type { MimePart } from './mime.js';

/** What the search needs from the stored meta (a MessageMeta has it). */
export interface SearchMeta {
  mime: MimePart;
  envelope: Envelope;
}

/** Case folding for comparisons (an approximation of i;unicode-casemap). */
export function fold(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s.toLowerCase() : s.normalize('NFKD').toLowerCase();
}

/** A header value as a reader sees it: unfolded and with encoded-words decoded. */
export function decodeHeaderValue(value: string): string {
  return decodeWords(value.replace(/\r?\n/g, ''));
}

/** Header fields of raw[start, end) as [name, decoded value], in order. */
export function decodedHeader(raw: Buffer, start: number, end: number): Array<[string, string]> {
  return scanHeader(raw, start, end).fields.map((f) => [
    f.name,
    decodeHeaderValue(fieldValue(raw, f.valueStart, f.valueEnd)),
  ]);
}

export type AddressField = 'from' | 'to' | 'cc' | 'bcc';

export class SearchableMessage {
  private header: Array<[string, string]> | null = null;
  private headerFolded: string | null = null;
  private bodyFolded: string | null = null;

  constructor(
    private readonly raw: Buffer,
    private readonly meta: SearchMeta,
  ) {}

  /** The message's header fields, [name, decoded value], in order. */
  fields(): Array<[string, string]> {
    this.header ??= decodedHeader(this.raw, this.meta.mime.start, this.meta.mime.body);
    return this.header;
  }

  /** Decoded values of every field named `name` (case-insensitive). */
  headerValues(name: string): string[] {
    const lower = name.toLowerCase();
    return this.fields()
      .filter(([n]) => n.toLowerCase() === lower)
      .map(([, v]) => v);
  }

  /**
   * HEADER field-name string (RFC 9051 §6.4.4): a field with that name contains the string; an empty
   * string matches any message that has the field.
   */
  matchHeader(name: string, needle: string): boolean {
    const values = this.headerValues(name);
    if (needle === '') return values.length > 0;
    const n = fold(needle);
    return values.some((v) => fold(v).includes(n));
  }

  /**
   * FROM / TO / CC / BCC (RFC 9051 §6.4.4): the string is in the envelope's field, i.e. in a display
   * name (decoded) or an address "mailbox@host", or in the decoded header field itself.
   */
  matchAddress(field: AddressField, needle: string): boolean {
    const n = fold(needle);
    const list: Address[] = this.meta.envelope[field] ?? [];
    for (const [name, , mailbox, host] of list) {
      if (name !== null && fold(decodeWords(name)).includes(n)) return true;
      if (mailbox !== null && host !== null && fold(`${mailbox}@${host}`).includes(n)) return true;
      if (mailbox !== null && host === null && fold(mailbox).includes(n)) return true; // group name
    }
    return this.headerValues(field).some((v) => fold(v).includes(n));
  }

  /** BODY string: the decoded text of the body contains the string. */
  matchBody(needle: string): boolean {
    this.bodyFolded ??= foldedBody(this.raw, this.meta.mime);
    return this.bodyFolded.includes(fold(needle));
  }

  /** TEXT string: the header or the body contains the string. */
  matchText(needle: string): boolean {
    if (this.headerFolded === null) {
      this.headerFolded = fold(
        this.fields()
          .map(([n, v]) => `${n}: ${v}`)
          .join('\n'),
      );
    }
    return this.headerFolded.includes(fold(needle)) || this.matchBody(needle);
  }

  /** SENTBEFORE/SENTON/SENTSINCE: the Date header's calendar date (time and zone disregarded). */
  sentDate(): number | null {
    return this.meta.envelope.date === null ? null : (parseDate(this.meta.envelope.date)?.day ?? null);
  }

  /** SORT DATE (RFC 5256 §3): the Date header's instant, or null (then INTERNALDATE is used). */
  sentTime(): number | null {
    return this.meta.envelope.date === null ? null : (parseDate(this.meta.envelope.date)?.time ?? null);
  }
}

/**
 * What BODY searches (RFC 9051 §6.4.4), case-folded: the decoded text parts, with the headers of
 * encapsulated messages, joined by newlines. The search index stores exactly this string.
 */
export function foldedBody(raw: Buffer, mime: MimePart): string {
  const parts: string[] = [];
  collectText(raw, mime, parts, false);
  return fold(parts.join('\n'));
}

/**
 * The message header as TEXT searches it, case-folded: "Name: decoded value" per field, joined by
 * newlines. `header` is the header's bytes (from the start of the message to the empty line).
 */
export function foldedHeader(header: Buffer): string {
  return fold(
    scanHeader(header)
      .fields.map((f) => `${f.name}: ${decodeHeaderValue(fieldValue(header, f.valueStart, f.valueEnd))}`)
      .join('\n'),
  );
}

/**
 * The decoded MIME headers of every body part (not the message's own header), case-folded, as TEXT
 * searches them.
 */
export function foldedMimeHeaders(raw: Buffer, mime: MimePart): string {
  const out: string[] = [];
  const walk = (part: MimePart, isRoot: boolean): void => {
    if (!isRoot) for (const [n, v] of decodedHeader(raw, part.start, part.body)) out.push(`${n}: ${v}`);
    for (const child of part.parts ?? []) walk(child, false);
    if (part.message !== undefined) walk(part.message, true); // its header is searched as body text
  };
  walk(mime, true);
  return fold(out.join('\n'));
}

/**
 * The three texts a body search index holds for a message, each exactly as SEARCH compares it (so an
 * index built on them can only narrow, never change, the result): `body` for BODY, and `header` and
 * `mime` that TEXT adds.
 */
export interface IndexText {
  body: string;
  header: string;
  mime: string;
}

export function indexText(raw: Buffer, meta: SearchMeta): IndexText {
  // SEARCH reads the header up to the end its own scan finds; the parsed structure's idea of where the
  // body starts could differ on a broken message, and then both are indexed.
  const scanned = scanHeader(raw).headerEnd;
  let header = foldedHeader(raw.subarray(0, scanned));
  if (meta.mime.body !== scanned) header += `\n${foldedHeader(raw.subarray(0, meta.mime.body))}`;
  return { body: foldedBody(raw, meta.mime), header, mime: foldedMimeHeaders(raw, meta.mime) };
}

function collectText(raw: Buffer, part: MimePart, out: string[], withHeader: boolean): void {
  if (withHeader) {
    for (const [n, v] of decodedHeader(raw, part.start, part.body)) out.push(`${n}: ${v}`);
  }
  if (part.kind === 'multipart') {
    for (const child of part.parts ?? []) collectText(raw, child, out, false);
  } else if (part.kind === 'message' && part.message !== undefined) {
    collectText(raw, part.message, out, true);
  } else if (part.kind === 'text') {
    out.push(partText(raw, part));
  }
}

// --- dates (RFC 5322 §3.3, obsolete forms §4.3) ---------------------------------------------------

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** Obsolete zone names (RFC 5322 §4.3), in minutes east of UTC; shared with Sieve's date test. */
export const OBSOLETE_ZONES: Readonly<Record<string, number>> = {
  ut: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

/**
 * Parses an RFC 5322 date-time, leniently: day-of-week optional, two- and three-digit years
 * (RFC 5322 §4.3), named zones, missing seconds or time. `day` is the written calendar date as UTC
 * midnight (ms); `time` the instant (ms). Null when there is no recognizable date.
 */
export function parseDate(value: string): { day: number; time: number } | null {
  const s = value.replace(/\([^)]*\)/g, ' ');
  const m =
    /^[\s,]*(?:[a-z]+[\s,]+)?(\d{1,2})[\s-]+([a-z]{3})[a-z]*\.?[\s-]+(\d{2,4})(?:[\sT]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\s*([+-]\d{4}|[a-z]+))?)?/i.exec(
      s,
    );
  if (m === null) return null;
  const month = MONTHS.indexOf(m[2].toLowerCase());
  const dayOfMonth = Number(m[1]);
  if (month < 0 || dayOfMonth < 1 || dayOfMonth > 31) return null;
  let year = Number(m[3]);
  if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3].length === 3) year += 1900;
  const day = Date.UTC(year, month, dayOfMonth);
  if (m[4] === undefined) return { day, time: day };
  let offset = 0;
  const zone = m[7];
  if (zone !== undefined) {
    if (zone[0] === '+' || zone[0] === '-') {
      const sign = zone[0] === '-' ? -1 : 1;
      offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
    } else {
      offset = OBSOLETE_ZONES[zone.toLowerCase()] ?? 0; // military and unknown zones: -0000 (RFC 5322 §4.3)
    }
  }
  const time =
    Date.UTC(year, month, dayOfMonth, Number(m[4]), Number(m[5]), m[6] === undefined ? 0 : Number(m[6])) -
    offset * 60000;
  return { day, time };
}

// --- base subject (RFC 5256 §2.1) -----------------------------------------------------------------

const LEADER = /^(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:/i;
const BLOB = /^\[[^[\]]*\] */;

/**
 * The base subject for SORT SUBJECT and THREAD ORDEREDSUBJECT/REFERENCES (RFC 5256 §2.1), and whether
 * the subject marked a reply or forward (a "Re:", "Fwd:", "(fwd)" or "[fwd: …]" was removed).
 * Encoded-words are decoded first; the result keeps its case (compare with `fold`).
 */
export function baseSubject(subject: string): { base: string; replyOrForward: boolean } {
  // (1) decode, whitespace runs → one space
  let s = decodeHeaderValue(subject).replace(/[ \t\r\n]+/g, ' ');
  let replyOrForward = false;
  for (;;) {
    // (2) trailing "(fwd)" and WSP
    for (;;) {
      if (s.endsWith(' ')) s = s.slice(0, -1);
      else if (s.toLowerCase().endsWith('(fwd)')) {
        s = s.slice(0, -5);
        replyOrForward = true;
      } else break;
    }
    // (3)-(5) leading subj-leader, then a subj-blob when something remains after it
    for (;;) {
      if (s.startsWith(' ')) {
        s = s.slice(1);
        continue;
      }
      const leader = LEADER.exec(s);
      if (leader !== null) {
        s = s.slice(leader[0].length);
        replyOrForward = true;
        continue;
      }
      const blob = BLOB.exec(s);
      if (blob !== null && /[^ ]/.test(s.slice(blob[0].length))) {
        s = s.slice(blob[0].length);
        continue;
      }
      break;
    }
    // (6) "[fwd: …]"
    if (s.length >= 6 && s.slice(0, 5).toLowerCase() === '[fwd:' && s.endsWith(']')) {
      s = s.slice(5, -1);
      replyOrForward = true;
      continue;
    }
    return { base: s, replyOrForward };
  }
}

// --- PREVIEW (RFC 8970) ---------------------------------------------------------------------------

/** Longest preview, in characters (RFC 8970 §3.1: at most 200). */
export const PREVIEW_MAX = 200;

/**
 * The PREVIEW text (RFC 8970): up to 200 characters of the first text part meant for reading
 * (text/plain preferred over text/html in a multipart/alternative; attachments skipped), with HTML
 * markup stripped crudely and whitespace runs collapsed. Empty when there is no such text.
 */
export function preview(raw: Buffer, meta: SearchMeta): string {
  let root = meta.mime;
  while (root.kind === 'message' && root.message !== undefined) root = root.message; // a message/rfc822 message
  const part = previewPart(root);
  if (part === null) return '';
  let text = partText(raw, part);
  if (part.subtype.toLowerCase() === 'html') text = stripHtml(text);
  const chars = Array.from(text.replace(/\s+/gu, ' ').trim());
  return chars.slice(0, PREVIEW_MAX).join('');
}

function previewPart(part: MimePart): MimePart | null {
  if (part.kind === 'text') {
    if (part.disposition?.toLowerCase() === 'attachment') return null;
    const sub = part.subtype.toLowerCase();
    return sub === 'plain' || sub === 'html' || sub === 'enriched' ? part : null;
  }
  if (part.kind !== 'multipart') return null;
  const children = part.parts ?? [];
  if (part.subtype.toLowerCase() === 'alternative') {
    const plain = children.find((c) => c.kind === 'text' && c.subtype.toLowerCase() === 'plain');
    if (plain !== undefined) return previewPart(plain);
    for (let i = children.length - 1; i >= 0; i--) {
      const found = previewPart(children[i]);
      if (found !== null) return found;
    }
    return null;
  }
  for (const child of children) {
    const found = previewPart(child);
    if (found !== null) return found;
  }
  return null;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * Crude HTML → text: drops head/script/style blocks, comments and tags (block-level ones become a
 * space); decodes common entities.
 */
export function stripHtml(html: string): string {
  return html
    .replace(/<(head|script|style|title)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<\/?(?:p|div|br|hr|li|ul|ol|tr|td|th|table|h[1-6]|blockquote|pre|section|article)\b[^>]*>/gi, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
      }
      return ENTITIES[name.toLowerCase()] ?? all;
    });
}
