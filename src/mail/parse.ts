/**
 * Parse once: what delivery stores next to a message's raw bytes so that readers (POP3 TOP, IMAP
 * FETCH, the web UI) never re-scan them for the basics.
 *
 * `mime` (the MIME tree with byte offsets, mime.ts) and `envelope` (envelope.ts) are what IMAP FETCH
 * BODY[section], BODYSTRUCTURE and ENVELOPE read; see those files for their rules.
 *
 * Invariants:
 * - The raw bytes are never changed; everything here describes them (offsets are byte offsets).
 * - `parseMessage` scans the header block once with `indexOf`, decodes only the few fields it indexes,
 *   and counts body lines with `indexOf`: no per-byte JS loop over the body. The MIME scan (mime.ts)
 *   works the same way.
 * - Line ends may be CRLF or bare LF, mixed. The header ends at the first empty line (RFC 5322 §2.1);
 *   without one, the whole message is header.
 * - Header values are unfolded (RFC 5322 §2.2.3: line breaks before WSP removed), trimmed, and
 *   otherwise raw: encoded-words stay encoded; bytes are read as UTF-8 (RFC 6532). The first occurrence
 *   of a field wins.
 * - The result is plain JSON (stored as the blob's `meta`).
 */

import type { Envelope } from './envelope.js';
import { type MimePart, parseMime } from './mime.js';

/**
 * Bumped whenever what parseMessage stores changes shape or meaning, so readers can tell a stale
 * stored meta (see `currentMeta`) and parse the message again.
 */
export const MESSAGE_META_VERSION = 1;

export type MessageMeta = {
  /** MESSAGE_META_VERSION at the time of parsing (absent in metas stored before the MIME tree). */
  version: number;
  /** Bytes up to and including the empty line ending the header; the whole message when there is none. */
  headerLength: number;
  /** Lines in the body: its LF count, plus one for a last line without line end. */
  bodyLines: number;
  subject: string | null;
  from: string | null;
  to: string | null;
  cc: string | null;
  date: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  /** The MIME structure: part offsets, types, parameters (the root spans the whole message). */
  mime: MimePart;
  /** The IMAP ENVELOPE of the message. */
  envelope: Envelope;
};

type IndexedField = 'subject' | 'from' | 'to' | 'cc' | 'date' | 'messageId' | 'inReplyTo';

/** Lower-case field name → MessageMeta key. */
const FIELDS = new Map<string, IndexedField>([
  ['subject', 'subject'],
  ['from', 'from'],
  ['to', 'to'],
  ['cc', 'cc'],
  ['date', 'date'],
  ['message-id', 'messageId'],
  ['in-reply-to', 'inReplyTo'],
]);

/** Longest indexed name, plus room for obsolete WSP before the colon (RFC 5322 §4.5). */
const MAX_NAME = 16;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

export function parseMessage(raw: Buffer): MessageMeta {
  const { root, envelope } = parseMime(raw);
  const meta: MessageMeta = {
    version: MESSAGE_META_VERSION,
    headerLength: raw.length,
    bodyLines: 0,
    subject: null,
    from: null,
    to: null,
    cc: null,
    date: null,
    messageId: null,
    inReplyTo: null,
    mime: root,
    envelope,
  };
  const len = raw.length;
  let field: IndexedField | null = null; // the indexed field being read, if any
  let valueStart = 0;
  let valueEnd = 0;

  const finish = () => {
    if (field === null) return;
    if (meta[field] === null) meta[field] = unfold(raw.toString('utf8', valueStart, valueEnd));
    field = null;
  };

  let pos = 0;
  while (pos < len) {
    const lf = raw.indexOf(LF, pos);
    const next = lf < 0 ? len : lf + 1;
    const contentEnd = lf < 0 ? len : lf > pos && raw[lf - 1] === CR ? lf - 1 : lf;
    if (contentEnd === pos && lf >= 0) {
      meta.headerLength = next; // the empty line belongs to the header
      break;
    }
    const first = raw[pos];
    if (first === SP || first === TAB) {
      if (field !== null) valueEnd = contentEnd; // continuation of a folded field
    } else {
      finish();
      const colon = raw.indexOf(COLON, pos);
      if (colon > pos && colon < contentEnd && colon - pos <= MAX_NAME) {
        const name = raw.toString('latin1', pos, colon).trimEnd().toLowerCase();
        const key = FIELDS.get(name);
        if (key !== undefined && meta[key] === null) {
          field = key;
          valueStart = colon + 1;
          valueEnd = contentEnd;
        }
      }
    }
    pos = next;
  }
  finish();

  const bodyStart = meta.headerLength;
  if (bodyStart < len) {
    let lines = 0;
    for (let i = raw.indexOf(LF, bodyStart); i >= 0; i = raw.indexOf(LF, i + 1)) lines++;
    if (raw[len - 1] !== LF) lines++;
    meta.bodyLines = lines;
  }
  return meta;
}

/** Removes folding line breaks and surrounding WSP (RFC 5322 §2.2.3). */
function unfold(value: string): string {
  const unfolded = value.includes('\n') ? value.replace(/\r?\n/g, '') : value;
  return unfolded.replace(/^[ \t]+|[ \t\r]+$/g, '');
}

/**
 * The meta to use for a stored message: the stored one when it is current, else a fresh parse of
 * the raw bytes (blobs stored before the MIME tree existed, or by an older parser).
 */
export function currentMeta(raw: Buffer, stored: unknown): MessageMeta {
  if (
    typeof stored === 'object' &&
    stored !== null &&
    (stored as { version?: unknown }).version === MESSAGE_META_VERSION
  ) {
    return stored as MessageMeta;
  }
  return parseMessage(raw);
}
