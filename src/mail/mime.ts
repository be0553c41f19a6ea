/**
 * The MIME structure of a raw message with exact byte offsets, computed once at delivery/APPEND and
 * stored as JSON, so FETCH BODY[section] is a byte-range read and BODYSTRUCTURE a tree walk.
 *
 * Invariants:
 * - A hand-written boundary scanner over the whole Buffer (no streams, no per-byte JS loop over
 *   bodies: `indexOf` finds "\n--" and line ends). It never throws: broken input degrades the way
 *   Dovecot's message-parser.c does, since Dovecot is the reference peer whose FETCH answers ours
 *   must equal. In particular:
 *   - A boundary line is "--" + boundary at a line start, followed by anything; when several open
 *     boundaries match, the longest wins, the innermost on a tie (RFC 2046 §5.1.2 asks for prefix
 *     matching; nested multiparts with the same prefix still split right).
 *   - The line end before a boundary line belongs to the boundary (RFC 2046 §5.1.1), so a part's
 *     body ends before it, as IMAP wants for BODY[n].
 *   - A boundary of an enclosing multipart closes every part inside it; a missing final boundary
 *     leaves the open parts running to the end of the message.
 *   - A boundary line inside a part's header ends that header there (the part has no body).
 *   - A header without an empty line runs to the end of its part (the body is empty).
 *   - Content-* fields count only in a MIME entity: a multipart child, or a header with MIME-Version
 *     or Content-Type (RFC 2045 §4, relaxed as Dovecot does). Otherwise, and without Content-Type,
 *     the part is text/plain (RFC 2045 §5.2), or message/rfc822 directly inside multipart/digest
 *     (RFC 2046 §5.1.5).
 *   - Limits: 100 nested parts, 10,000 parts in all; beyond them parts are no longer split and a
 *     cut-off multipart or message part becomes application/octet-stream.
 * - Offsets are byte offsets into the raw message; line ends may be CRLF, bare LF or mixed. Sizes in
 *   BODYSTRUCTURE are byte counts of the stored bytes (equal to Dovecot's when lines end in CRLF).
 * - Types, subtypes and parameter names keep the case they were written in (Dovecot does the same).
 * - message/global (RFC 6532 §3.5) is an encapsulated message like message/rfc822: its sub-parts
 *   are addressable; bodystructure.ts decides how to render it.
 */

import { buildEnvelope, ENVELOPE_FIELDS, type Envelope } from './envelope.js';
import { fieldValue, filterHeaderFields, MAX_NAME_LENGTH, unfold } from './header.js';
import { Rfc822Reader } from './rfc822.js';

/** text: has lines; multipart: has parts; message: has an encapsulated message; basic: anything else. */
export type PartKind = 'text' | 'multipart' | 'message' | 'basic';

export type Param = [name: string, value: string];

/** One MIME part. Optional fields are absent when the header has no such field. */
export interface MimePart {
  /** Start of the part's header: its MIME header, or the header of an (encapsulated) message. */
  start: number;
  /** Start of the body, which is the end of the header (after its empty line, when it has one). */
  body: number;
  /** End of the body (exclusive); in a multipart, before the line end that precedes the next boundary. */
  end: number;
  /** Line count of the body (its LF count), for text and message parts (IMAP body-fld-lines). */
  lines?: number;
  kind: PartKind;
  /** Media type as written; "text"/"plain" without Content-Type ("message"/"rfc822" inside a digest). */
  type: string;
  subtype: string;
  /** Content-Type parameters, RFC 2231 continuations merged (see rfc822.ts `parseParams`). */
  params?: Param[];
  id?: string;
  description?: string;
  /** Content-Transfer-Encoding as written; "7bit" when absent. */
  encoding?: string;
  md5?: string;
  disposition?: string;
  dispositionParams?: Param[];
  language?: string[];
  location?: string;
  /** multipart: the body parts, in order (may be empty when no boundary was found). */
  parts?: MimePart[];
  /** message/rfc822 and message/global: the encapsulated message (its header starts at `body`). */
  message?: MimePart;
  /** On the root of an encapsulated message: its ENVELOPE. */
  envelope?: Envelope;
}

export interface ParsedMime {
  /** The message: start 0, end raw.length. */
  root: MimePart;
  /** The message's ENVELOPE. */
  envelope: Envelope;
}

const MAX_NESTED = 100;
const MAX_PARTS = 10000;
/** RFC 2046 allows 70; longer boundaries are cut here (Dovecot: BOUNDARY_STRING_MAX_LEN). */
const BOUNDARY_MAX = 80;
const BOUNDARY_END_MAX = BOUNDARY_MAX + 4;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;
const DASH = 0x2d;
const NL_DASHES = Buffer.from('\n--');

interface Boundary {
  bytes: Buffer;
  frame: Frame;
  epilogue: boolean;
}

interface Frame {
  part: MimePart;
  depth: number;
  /** A child of a multipart: Content-* fields apply without MIME-Version. */
  mimeChild: boolean;
  /** The root of a message (top level or encapsulated): collect the envelope. */
  messageRoot: boolean;
  /** multipart/digest: children default to message/rfc822. */
  digest: boolean;
  parent: Frame | null;
}

interface Field {
  name: string;
  valueStart: number;
  valueEnd: number;
}

/** Header names the parser reads, lower case (the envelope ones only on message roots). */
const CONTENT_FIELDS = new Set([
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-id',
  'content-description',
  'content-md5',
  'content-disposition',
  'content-language',
  'content-location',
]);

class MimeParser {
  private readonly len: number;
  private readonly boundaries: Boundary[] = [];
  private totalParts = 1;
  private envelope: Envelope | null = null;
  /** The innermost open part. */
  private cur: Frame;
  private pos = 0;

  constructor(private readonly raw: Buffer) {
    this.len = raw.length;
    this.cur = {
      part: newPart(0),
      depth: 0,
      mimeChild: false,
      messageRoot: true,
      digest: false,
      parent: null,
    };
  }

  parse(): ParsedMime {
    const root = this.cur.part;
    let inHeader = true;
    for (;;) {
      if (inHeader) {
        let hit = this.readHeader();
        let encapsulates = this.endOfHeader(hit !== null);
        if (hit === null) hit = this.boundaryAfterEmptyLine();
        if (hit !== null) {
          // A boundary line cut the header short: the part keeps its type but its body is empty,
          // and so is any message it encapsulates.
          const cut = this.cur;
          while (encapsulates) {
            this.openMessage();
            encapsulates = this.endOfHeader(true);
          }
          inHeader = this.atBoundary(hit.boundary, hit.line, hit.end, cut);
          continue;
        }
        if (encapsulates) {
          this.openMessage();
          continue;
        }
      }
      const hit = this.findBoundary();
      if (hit === null) break;
      inHeader = this.atBoundary(hit.boundary, hit.line, hit.end);
    }
    // the end of the message closes every open part
    for (let f: Frame | null = this.cur; f !== null; f = f.parent) f.part.end = this.len;
    countLines(this.raw, root);
    return { root, envelope: this.envelope ?? buildEnvelope([]) };
  }

  // --- headers ------------------------------------------------------------------------------

  /** The fields of interest of the header being read. */
  private fields: Field[] = [];
  /** Where the empty line ending the last header started, or -1. */
  private emptyLine = -1;

  /**
   * Reads the current part's header from `pos`, collecting the fields of interest. Returns the
   * boundary that cut it short, if one did.
   */
  private readHeader(): { boundary: Boundary; line: number; end: number } | null {
    const raw = this.raw;
    const len = this.len;
    const frame = this.cur;
    const fields: Field[] = [];
    this.fields = fields;
    this.emptyLine = -1;
    let last: Field | null = null;
    let prevNewline = 0;
    let p = this.pos;
    for (;;) {
      if (p >= len) {
        frame.part.body = len;
        this.pos = len;
        return null;
      }
      if (raw[p] === DASH && raw[p + 1] === DASH && this.boundaries.length > 0) {
        const b = this.matchBoundary(p);
        if (b !== null && b.frame !== frame) {
          // The header ends here; the line end before the boundary line belongs to the boundary.
          const end = p - prevNewline;
          frame.part.body = end;
          this.pos = end;
          return { boundary: b, line: p, end };
        }
      }
      const lf = raw.indexOf(LF, p);
      const contentEnd = lf < 0 ? len : lf > p && raw[lf - 1] === CR ? lf - 1 : lf;
      if (lf >= 0 && contentEnd === p) {
        frame.part.body = lf + 1;
        this.pos = lf + 1;
        this.emptyLine = p;
        return null;
      }
      const first = raw[p];
      if (first === SP || first === TAB) {
        if (last !== null) last.valueEnd = contentEnd;
      } else {
        last = null;
        let colon = p;
        while (colon < contentEnd && raw[colon] !== COLON) colon++;
        if (colon < contentEnd && colon - p <= MAX_NAME_LENGTH) {
          let nameEnd = colon;
          while (nameEnd > p && (raw[nameEnd - 1] === SP || raw[nameEnd - 1] === TAB)) nameEnd--;
          if (nameEnd - p <= 27) {
            const name = raw.toString('latin1', p, nameEnd).toLowerCase();
            if (CONTENT_FIELDS.has(name) || (frame.messageRoot && ENVELOPE_FIELDS.has(name))) {
              last = { name, valueStart: colon + 1, valueEnd: contentEnd };
              fields.push(last);
            }
          }
        }
      }
      if (lf < 0) {
        frame.part.body = len;
        this.pos = len;
        return null;
      }
      prevNewline = lf + 1 - contentEnd;
      p = lf + 1;
    }
  }

  /**
   * Applies the header just read; returns true when the part encapsulates a message (whose header
   * follows). `cut`: a boundary line ended the header, so the body is empty and no multipart opens.
   */
  private endOfHeader(cut: boolean): boolean {
    const raw = this.raw;
    const frame = this.cur;
    const part = frame.part;
    const fields = this.fields;

    if (frame.messageRoot) {
      const env = buildEnvelope(
        fields
          .filter((f) => ENVELOPE_FIELDS.has(f.name))
          .map((f) => [f.name, fieldValue(raw, f.valueStart, f.valueEnd)]),
      );
      if (frame.parent === null) this.envelope = env;
      else part.envelope = env;
    }

    let isMime = frame.mimeChild;
    let contentType: string | null = null;
    for (const f of fields) {
      if (f.name === 'mime-version') isMime = true;
      else if (f.name === 'content-type') {
        isMime = true;
        if (contentType === null) contentType = fieldValue(raw, f.valueStart, f.valueEnd);
      }
    }

    let boundary: string | null = null;
    if (isMime && contentType !== null) {
      const r = new Rfc822Reader(contentType);
      r.skipLwsp();
      const ret = r.parseContentType();
      const ct = r.str;
      const slash = ct.indexOf('/');
      part.type = slash < 0 ? ct : ct.slice(0, slash);
      part.subtype = slash < 0 ? '' : ct.slice(slash + 1);
      const lower = ct.toLowerCase();
      if (lower === 'message/rfc822' || lower === 'message/global') part.kind = 'message';
      else if (lower.startsWith('text') && (lower.length === 4 || lower[4] === '/')) part.kind = 'text';
      else if (lower.startsWith('multipart/')) {
        part.kind = 'multipart';
        frame.digest = lower === 'multipart/digest';
      } else if (lower === 'multipart') {
        truncate(part); // "multipart" without a subtype cannot be split (Dovecot: octet-stream)
      } else part.kind = 'basic';
      if (ret >= 0) {
        const params = r.parseParams();
        if (params.length > 0) part.params = params;
        if (part.kind === 'multipart') {
          const b = params.find(([k]) => k.toLowerCase() === 'boundary');
          if (b !== undefined) boundary = b[1].slice(0, BOUNDARY_MAX);
        }
      }
    } else if (frame.parent?.digest === true) {
      part.kind = 'message';
      part.type = 'message';
      part.subtype = 'rfc822';
    }
    if (isMime) readContentFields(raw, part, fields);

    this.fields = [];
    const tooDeep = frame.depth + 1 >= MAX_NESTED;
    if (part.kind === 'multipart') {
      if (tooDeep) {
        truncate(part);
      } else {
        part.parts = [];
        if (boundary !== null && !cut)
          this.boundaries.push({ bytes: Buffer.from(boundary, 'latin1'), frame, epilogue: false });
      }
      return false;
    }
    if (part.kind === 'message') {
      if (tooDeep || this.totalParts >= MAX_PARTS) {
        truncate(part);
        return false;
      }
      return true;
    }
    return false;
  }

  /** Opens the message encapsulated in the current part; its header starts at `pos`. */
  private openMessage(): void {
    const child = newPart(this.pos);
    this.cur.part.message = child;
    this.open(child, false, true);
    this.fields = [];
  }

  /**
   * A boundary line right after the empty line that ended a header: the line end of that empty line
   * is the one before the boundary (RFC 2046 §5.1.1), so the header ends before it and the body is
   * empty. Only another part's boundary counts; a multipart's own first boundary starts its parts.
   */
  private boundaryAfterEmptyLine(): { boundary: Boundary; line: number; end: number } | null {
    const p = this.pos;
    if (this.emptyLine < 0 || this.raw[p] !== DASH || this.raw[p + 1] !== DASH || this.boundaries.length === 0) {
      return null;
    }
    const b = this.matchBoundary(p);
    const frame = this.cur;
    if (b === null || b.frame === frame) return null;
    const top = this.boundaries[this.boundaries.length - 1];
    if (top.frame === frame) this.boundaries.pop();
    frame.part.body = this.emptyLine;
    this.pos = this.emptyLine;
    return { boundary: b, line: p, end: this.emptyLine };
  }

  private open(part: MimePart, mimeChild: boolean, messageRoot: boolean): void {
    this.totalParts++;
    this.cur = { part, depth: this.cur.depth + 1, mimeChild, messageRoot, digest: false, parent: this.cur };
  }

  // --- boundaries ---------------------------------------------------------------------------

  /** The open boundary that the line at `p` (starting with "--") is, or null. */
  private matchBoundary(p: number): Boundary | null {
    if (this.totalParts >= MAX_PARTS) return null;
    const raw = this.raw;
    const data = p + 2;
    const lf = raw.indexOf(LF, data);
    let size: number;
    let trailingDashes = false;
    if (lf >= 0) {
      size = lf - data;
      if (size > 0 && raw[lf - 1] === CR) size--;
      trailingDashes = size > 2 && raw[data + size - 1] === DASH && raw[data + size - 2] === DASH;
    } else {
      size = Math.min(this.len - data, BOUNDARY_END_MAX);
    }
    let best: Boundary | null = null;
    for (let i = this.boundaries.length - 1; i >= 0; i--) {
      const b = this.boundaries[i];
      const n = b.bytes.length;
      if (n > size || (best !== null && best.bytes.length >= n)) continue;
      if (raw.compare(b.bytes, 0, n, data, data + n) !== 0) continue;
      best = b;
      if (n === size || (trailingDashes && n === size - 2)) break;
    }
    if (best !== null) {
      const n = best.bytes.length;
      best.epilogue = data + n + 2 <= this.len && raw[data + n] === DASH && raw[data + n + 1] === DASH;
    }
    return best;
  }

  /** Scans the current body from `pos` for the next boundary line. */
  private findBoundary(): { boundary: Boundary; line: number; end: number } | null {
    if (this.boundaries.length === 0) return null;
    const raw = this.raw;
    const start = this.pos;
    // `pos` is always at a line start: the body's first line may be a boundary already.
    if (raw[start] === DASH && raw[start + 1] === DASH) {
      const b = this.matchBoundary(start);
      if (b !== null) return { boundary: b, line: start, end: start };
    }
    for (let i = raw.indexOf(NL_DASHES, start); i >= 0; i = raw.indexOf(NL_DASHES, i + 1)) {
      const b = this.matchBoundary(i + 1);
      if (b === null) continue;
      const end = i > start && raw[i - 1] === CR ? i - 1 : i;
      return { boundary: b, line: i + 1, end };
    }
    return null;
  }

  /**
   * A boundary line starts at `line`; the innermost open part's body ends at `end`. Closes the parts
   * inside the boundary's multipart and steps over the boundary line. Returns true when a body part
   * header follows, false when the multipart's epilogue (or an outer body) continues.
   *
   * `cut`: the part whose header the boundary line cut short. The line end between `end` and `line`
   * then belongs to the part around it (as in Dovecot), so the parts enclosing `cut` end at `line`.
   */
  private atBoundary(b: Boundary, line: number, end: number, cut?: Frame): boolean {
    let at = end;
    while (this.cur !== b.frame) {
      this.cur.part.end = at;
      if (this.cur === cut) at = line;
      this.cur = this.cur.parent!;
    }
    const index = this.boundaries.indexOf(b);
    this.boundaries.length = b.epilogue ? index : index + 1;
    const lf = this.raw.indexOf(LF, line + 2 + b.bytes.length + (b.epilogue ? 2 : 0));
    if (lf < 0) {
      // the boundary line runs to the end of the message: no part follows it
      this.pos = this.len;
      return false;
    }
    this.pos = lf + 1;
    const top = this.boundaries[this.boundaries.length - 1];
    if (top === undefined || top.frame !== b.frame) return false;
    const child = newPart(this.pos);
    b.frame.part.parts!.push(child);
    this.open(child, true, false);
    return true;
  }
}

function newPart(start: number): MimePart {
  return { start, body: start, end: start, kind: 'text', type: 'text', subtype: 'plain' };
}

/** A multipart or message part cut off by the limits is sent as opaque data (as Dovecot does). */
function truncate(part: MimePart): void {
  part.kind = 'basic';
  part.type = 'application';
  part.subtype = 'octet-stream';
}

function readContentFields(raw: Buffer, part: MimePart, fields: Field[]): void {
  for (const f of fields) {
    switch (f.name) {
      case 'content-id':
        if (part.id === undefined) part.id = unfold(fieldValue(raw, f.valueStart, f.valueEnd));
        break;
      case 'content-description':
        if (part.description === undefined) part.description = unfold(fieldValue(raw, f.valueStart, f.valueEnd));
        break;
      case 'content-md5':
        if (part.md5 === undefined) part.md5 = unfold(fieldValue(raw, f.valueStart, f.valueEnd));
        break;
      case 'content-location':
        if (part.location === undefined) part.location = unfold(fieldValue(raw, f.valueStart, f.valueEnd));
        break;
      case 'content-transfer-encoding':
        if (part.encoding === undefined) {
          // mechanism := token, alone (RFC 2045 §6.1); anything else leaves the default 7bit
          const r = new Rfc822Reader(fieldValue(raw, f.valueStart, f.valueEnd));
          r.skipLwsp();
          if (r.parseMimeToken() >= 0 && r.skipLwsp() === 0 && r.str.length > 0) part.encoding = r.str;
        }
        break;
      case 'content-disposition':
        if (part.dispositionParams === undefined) {
          // RFC 2183: disposition-type *(";" disposition-parm)
          const r = new Rfc822Reader(fieldValue(raw, f.valueStart, f.valueEnd));
          r.skipLwsp();
          if (r.parseMimeToken() >= 0) {
            part.disposition = r.str;
            const params = r.parseParams();
            if (params.length > 0) part.dispositionParams = params;
          }
        }
        break;
      case 'content-language':
        if (part.language === undefined) {
          // RFC 3282: 1#Language-tag
          const r = new Rfc822Reader(fieldValue(raw, f.valueStart, f.valueEnd));
          const langs: string[] = [];
          r.skipLwsp();
          for (;;) {
            r.str = '';
            if (r.parseAtom() < 0) break;
            langs.push(r.str);
            if (r.pos >= r.end || r.cur() !== 0x2c) break;
            r.pos++;
            r.skipLwsp();
          }
          if (langs.length > 0) part.language = langs;
        }
        break;
    }
  }
}

function countLf(raw: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = raw.indexOf(LF, start); i >= 0 && i < end; i = raw.indexOf(LF, i + 1)) n++;
  return n;
}

/**
 * Sets `lines` on text and message parts. Each byte is counted at most once (a message part's count
 * is assembled from its sub-parts'), and the bodies of other parts are only counted inside a message
 * part, so deep nesting costs no more than one pass.
 */
function countLines(raw: Buffer, part: MimePart, need = false): number {
  const self = part.kind === 'text' || part.kind === 'message';
  const want = need || self;
  let n = 0;
  if (part.parts !== undefined) {
    let pos = part.body;
    for (const c of part.parts) {
      if (want) n += countLf(raw, pos, c.body);
      n += countLines(raw, c, want);
      pos = c.end;
    }
    if (want) n += countLf(raw, pos, part.end);
  } else if (part.message !== undefined) {
    const m = part.message;
    n = countLf(raw, part.body, m.body) + countLines(raw, m, true) + countLf(raw, m.end, part.end);
  } else if (want) {
    n = countLf(raw, part.body, part.end);
  }
  if (self) part.lines = n;
  return n;
}

/** Parses the MIME structure of a raw message (CRLF or bare LF line ends). Never throws. */
export function parseMime(raw: Buffer): ParsedMime {
  return new MimeParser(raw).parse();
}

// --- sections (RFC 9051 §6.4.5) ------------------------------------------------------------------

/** What follows the part number in BODY[section]. */
export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The part that a section part number names (RFC 9051 §6.4.5), e.g. [1, 2] for "1.2"; [] is the
 * whole message. Multipart parts are numbered from 1; a non-multipart message (or part) has only
 * part 1, which is its body; the number after a message/rfc822 part addresses the parts of the
 * encapsulated message. Like Dovecot, one extra ".1" on a non-message leaf names the leaf itself.
 * Returns null when there is no such part.
 */
export function findPart(meta: MimePart | { mime: MimePart }, path: readonly number[]): MimePart | null {
  let part: MimePart | null = 'mime' in meta ? meta.mime : meta;
  for (let i = 0; i < path.length && part !== null; i++) {
    const num = path[i];
    const more = i + 1 < path.length;
    if (part.kind === 'multipart') {
      part = part.parts?.[num - 1] ?? null;
    } else if (num !== 1 || (more && part.kind !== 'message')) {
      part = null;
    }
    if (part !== null && more && part.kind === 'message') part = part.message ?? null;
  }
  return part;
}

/**
 * The bytes of BODY[section] as a range of the raw message, or null when the section does not exist
 * (a missing part; HEADER/TEXT of a part that is not a message; MIME without a part number).
 * For HEADER.FIELDS(.NOT) this is the whole header; pass its bytes to `filterHeaderFields`.
 */
export function sectionRange(
  meta: MimePart | { mime: MimePart },
  path: readonly number[],
  text?: SectionText,
): ByteRange | null {
  const root = 'mime' in meta ? meta.mime : meta;
  if (path.length === 0) {
    switch (text) {
      case undefined:
        return { start: root.start, end: root.end };
      case 'TEXT':
        return { start: root.body, end: root.end };
      case 'MIME':
        return null;
      default:
        return { start: root.start, end: root.body };
    }
  }
  const part = findPart(root, path);
  if (part === null) return null;
  switch (text) {
    case undefined:
      return { start: part.body, end: part.end };
    case 'MIME':
      return { start: part.start, end: part.body };
    default: {
      const m = part.kind === 'message' ? part.message : undefined;
      if (m === undefined) return null;
      return text === 'TEXT' ? { start: m.body, end: m.end } : { start: m.start, end: m.body };
    }
  }
}

/** A BODY[section] spec: part number, then what of it; `fields` for HEADER.FIELDS(.NOT). */
export interface Section {
  path: readonly number[];
  text?: SectionText;
  fields?: readonly string[];
}

/**
 * The bytes of BODY[section] (RFC 9051 §6.4.5), or null when the section does not exist. Byte ranges
 * of the stored message except HEADER.FIELDS(.NOT), which is filtered (header.ts
 * `filterHeaderFields`); it ends with the empty line when the header has one, also when that empty
 * line's CRLF is the one before a boundary (a part with an empty body, or an empty encapsulated
 * message), as Dovecot does.
 */
export function sectionBytes(raw: Buffer, meta: MimePart | { mime: MimePart }, section: Section): Buffer | null {
  const r = sectionRange(meta, section.path, section.text);
  if (r === null) return null;
  const bytes = raw.subarray(r.start, r.end);
  if (section.text !== 'HEADER.FIELDS' && section.text !== 'HEADER.FIELDS.NOT') return bytes;
  const e = r.end;
  const emptyAfter = (e === r.start || raw[e - 1] === LF) && (raw[e] === LF || (raw[e] === CR && raw[e + 1] === LF));
  return filterHeaderFields(bytes, section.fields ?? [], section.text === 'HEADER.FIELDS.NOT', emptyAfter || undefined);
}
