/**
 * The bytes of FETCH BODY[section] and BINARY[part] (RFC 9051 §6.4.5, RFC 3516 §4.2), cut from a
 * message's stored bytes with the offsets of its MIME tree (src/mail), and how much of the message a
 * request needs to read.
 *
 * Invariants:
 * - `raw` is the message's prefix [0, end) as read from the store, with absolute offsets; callers read
 *   at least `sectionEnd` / `binaryEnd` bytes. BODY sections are slices of it, never re-encoded.
 * - A section that names nothing (a missing part, HEADER/TEXT of a part that is not message/rfc822)
 *   is the empty string, as Dovecot answers it.
 * - BINARY decodes base64 and quoted-printable (RFC 2045 §6) and passes 7bit, 8bit and binary through;
 *   any other Content-Transfer-Encoding is `unknown-cte` (RFC 3516 §4.3: `NO [UNKNOWN-CTE]`).
 *   BINARY of a multipart or message part, and BINARY[] of the whole message, is that entity with
 *   every leaf decoded and its Content-Transfer-Encoding field replaced by "binary" at the end of its
 *   header, byte for byte as Dovecot converts it.
 */

import { decodeTransfer } from '../../mail/decode.js';
import { scanHeader } from '../../mail/header.js';
import { findPart, type MessageMeta, type MimePart, sectionBytes, sectionRange } from '../../mail/index.js';
import type { PartialFetch, Section } from '../commands/fetch-items.js';

const EMPTY = Buffer.alloc(0);
const CTE_BINARY = Buffer.from('Content-Transfer-Encoding: binary\r\n');

type MailSectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

function mailText(section: Section): MailSectionText | undefined {
  const t = section.text;
  if (t === null) return undefined;
  switch (t.kind) {
    case 'header':
      return 'HEADER';
    case 'text':
      return 'TEXT';
    case 'mime':
      return 'MIME';
    case 'header.fields':
      return t.not ? 'HEADER.FIELDS.NOT' : 'HEADER.FIELDS';
  }
}

/** RFC 9051 §6.4.5: the bytes of BODY[section]; empty when the section names nothing. */
export function bodySection(raw: Buffer, meta: MessageMeta, section: Section): Buffer {
  const fields = section.text?.kind === 'header.fields' ? section.text.fields : undefined;
  return sectionBytes(raw, meta, { path: section.part, text: mailText(section), fields }) ?? EMPTY;
}

/**
 * How many leading bytes of the message BODY[section] needs. HEADER.FIELDS(.NOT) looks two bytes past
 * the header to see whether its empty line is there (mime.ts `sectionBytes`).
 */
export function sectionEnd(meta: MessageMeta, section: Section, size: number): number {
  if (section.part.length === 0 && section.text === null) return size;
  const text = mailText(section);
  let end: number;
  if (section.part.length === 0) {
    end = text === 'TEXT' ? meta.mime.end : meta.mime.body;
  } else {
    const part = findPart(meta, section.part);
    if (part === null) return 0;
    if (text === undefined) end = part.end;
    else if (text === 'MIME') end = part.body;
    else if (part.kind !== 'message' || part.message === undefined) return 0;
    else end = text === 'TEXT' ? part.message.end : part.message.body;
  }
  if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') end += 2;
  return Math.min(end, size);
}

/**
 * BODY[section] as a byte range of the message, with `partial` applied: what `applyPartial(bodySection(…))`
 * would cut, without the bytes. Null for HEADER.FIELDS(.NOT), which is filtered, not cut. `meta` may
 * be null only for BODY[] (the whole message).
 */
export function sectionSpan(
  meta: MessageMeta | null,
  section: Section,
  partial: PartialFetch | null,
  size: number,
): { start: number; end: number } | null {
  const text = mailText(section);
  if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') return null;
  let start = 0;
  let end = size;
  if (section.part.length > 0 || text !== undefined) {
    if (meta === null) return null;
    const r = sectionRange(meta, section.part, text);
    if (r === null) return { start: 0, end: 0 };
    start = Math.min(r.start, size);
    end = Math.max(start, Math.min(r.end, size));
  }
  if (partial !== null) {
    if (partial.offset >= end - start) return { start: 0, end: 0 };
    start += partial.offset;
    end = Math.min(end, start + partial.length);
  }
  return { start, end };
}

/** RFC 9051 §6.4.5 `<origin.octets>`: an origin beyond the end gives the empty string. */
export function applyPartial(data: Buffer, partial: PartialFetch | null): Buffer {
  if (partial === null) return data;
  if (partial.offset >= data.length) return EMPTY;
  return data.subarray(partial.offset, partial.offset + partial.length);
}

export type BinaryResult = { ok: true; data: Buffer } | { ok: false; encoding: string };

/** RFC 3516 §4.2 BINARY[part]: the decoded content of the part (see the header); `[]` is the whole message. */
export function binarySection(raw: Buffer, meta: MessageMeta, part: readonly number[]): BinaryResult {
  const out: Buffer[] = [];
  if (part.length === 0) {
    const bad = convert(raw, meta.mime, out, true);
    return bad === null ? { ok: true, data: Buffer.concat(out) } : { ok: false, encoding: bad };
  }
  const target = findPart(meta, part);
  if (target === null) return { ok: true, data: EMPTY };
  const bad = convert(raw, target, out, false);
  return bad === null
    ? { ok: true, data: out.length === 1 ? out[0] : Buffer.concat(out) }
    : { ok: false, encoding: bad };
}

/** How many leading bytes BINARY[part] needs. */
export function binaryEnd(meta: MessageMeta, part: readonly number[], size: number): number {
  if (part.length === 0) return size;
  const target = findPart(meta, part);
  return target === null ? 0 : Math.min(target.end, size);
}

const IDENTITY = new Set(['7bit', '8bit', 'binary']);
const DECODED = new Set(['base64', 'quoted-printable']);

/**
 * Appends the binary form of `part` to `out`: its header too when `withHeader`. Returns null, or the
 * unknown Content-Transfer-Encoding that stopped it.
 */
function convert(raw: Buffer, part: MimePart, out: Buffer[], withHeader: boolean): string | null {
  if (part.kind === 'multipart') {
    if (withHeader) out.push(raw.subarray(part.start, part.body));
    let pos = part.body;
    for (const child of part.parts ?? []) {
      out.push(raw.subarray(pos, child.start));
      const bad = convert(raw, child, out, true);
      if (bad !== null) return bad;
      pos = child.end;
    }
    out.push(raw.subarray(pos, part.end));
    return null;
  }
  if (part.kind === 'message' && part.message !== undefined) {
    if (withHeader) out.push(raw.subarray(part.start, part.body));
    const bad = convert(raw, part.message, out, true);
    if (bad !== null) return bad;
    out.push(raw.subarray(part.message.end, part.end));
    return null;
  }
  const encoding = (part.encoding ?? '7bit').toLowerCase();
  if (IDENTITY.has(encoding)) {
    out.push(raw.subarray(withHeader ? part.start : part.body, part.end));
    return null;
  }
  // RFC 3516 §4.3: an encoding we cannot undo is [UNKNOWN-CTE].
  if (!DECODED.has(encoding)) return part.encoding ?? encoding;
  if (withHeader) {
    // Dovecot's binary converter: the CTE field goes, "Content-Transfer-Encoding: binary" ends the header.
    const scan = scanHeader(raw, part.start, part.body);
    let last = part.start;
    for (const f of scan.fields) {
      if (f.name.toLowerCase() !== 'content-transfer-encoding') out.push(raw.subarray(f.start, f.next));
      last = f.next;
    }
    out.push(CTE_BINARY, raw.subarray(last, part.body));
  }
  out.push(decodeTransfer(raw.subarray(part.body, part.end), encoding));
  return null;
}
