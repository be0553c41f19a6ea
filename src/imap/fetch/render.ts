/**
 * FETCH response data (RFC 9051 §7.5.2): what a list of fetch items needs (a `FetchPlan`) and how one
 * message's `* n FETCH (...)` line is written.
 *
 * Invariants:
 * - Message bytes go out as literals straight from the stored bytes (no copy, no re-encoding), except
 *   that a literal cannot carry NUL (CHAR8, RFC 3501 §4.3): BODY[...] and RFC822* send each NUL as 0x80
 *   (a copy, only when there is one), as Dovecot does. A BINARY item keeps the exact bytes and uses
 *   literal8 `~{n}` exactly when its content has a NUL (RFC 3516 §4.3).
 * - Items that are a plain byte range of the message (RFC822, RFC822.TEXT, BODY[] and BODY[section]
 *   other than HEADER.FIELDS, with or without a partial: `streamSpan`) of a streamed message (one with
 *   a `reader`, content.ts) go out as deferred literals, read piece by piece as the session writes.
 * - FLAGS carries \Recent for IMAP4rev1 sessions when the message is recent in this session
 *   (RenderOptions.recent, src/imap/recent.ts).
 * - Each item is answered once even when asked for twice; UID comes first in UID FETCH (RFC 9051
 *   §6.4.9: "UID ... is always included"), then the items in the order asked, then what the server adds:
 *   FLAGS after an implicit \Seen (RFC 9051 §6.4.5), MODSEQ when RFC 7162 wants it.
 * - Response names echo the request: BODY.PEEK[...] answers as BODY[...], a partial as BODY[...]<origin>
 *   (RFC 9051 §7.5.2); header field names keep the client's spelling.
 */
import { bodyStructureText, envelopeText, type MessageMeta, preview } from '../../mail/index.js';
import { type FetchItem, fetchResponseName, type Section } from '../commands/fetch-items.js';
import type { SelectedMessage } from '../selected.js';
import type { ResponseBuilder } from '../wire/encoder.js';
import type { MessageContent } from './content.js';
import { emailId } from './objectid.js';
import { applyPartial, binaryEnd, binarySection, bodySection, sectionEnd, sectionSpan } from './sections.js';

export interface FetchPlan {
  /** The items to answer, duplicates removed. */
  items: FetchItem[];
  /** Some item needs the parsed meta (or the content hash). */
  meta: boolean;
  /** Some item needs message bytes. */
  bytes: boolean;
  /** Some item sets \Seen (RFC 9051 §6.4.5: BODY[...] without .PEEK, BINARY[...], RFC822, RFC822.TEXT). */
  setsSeen: boolean;
  /** MODSEQ was asked for (a CONDSTORE-enabling item, RFC 7162 §3.1). */
  modseq: boolean;
  /** UID was asked for. */
  uid: boolean;
}

const NO_META = new Set<FetchItem['kind']>([
  'flags',
  'internaldate',
  'rfc822.size',
  'uid',
  'modseq',
  'savedate',
  'threadid',
  'rfc822',
]);

function needsBytes(item: FetchItem): boolean {
  switch (item.kind) {
    case 'body-section':
    case 'binary':
    case 'binary.size':
    case 'preview':
    case 'rfc822':
    case 'rfc822.header':
    case 'rfc822.text':
      return true;
    default:
      return false;
  }
}

function needsMeta(item: FetchItem): boolean {
  if (item.kind === 'body-section') return item.section.part.length > 0 || item.section.text !== null;
  return !NO_META.has(item.kind);
}

export function planFetch(requested: readonly FetchItem[]): FetchPlan {
  const seen = new Set<string>();
  const items: FetchItem[] = [];
  for (const item of requested) {
    const key =
      fetchResponseName(item) + (item.kind === 'body-section' && item.partial ? `.${item.partial.length}` : '');
    if (seen.has(key)) continue;
    seen.add(key);
    items.push(item);
  }
  return {
    items,
    meta: items.some(needsMeta),
    bytes: items.some(needsBytes),
    setsSeen: items.some(
      (i) =>
        ((i.kind === 'body-section' || i.kind === 'binary') && !i.peek) ||
        i.kind === 'rfc822' ||
        i.kind === 'rfc822.text',
    ),
    modseq: items.some((i) => i.kind === 'modseq'),
    uid: items.some((i) => i.kind === 'uid'),
  };
}

const HEADER: Section = { part: [], text: { kind: 'header' } };
const TEXT: Section = { part: [], text: { kind: 'text' } };

/** How many leading bytes of a message the plan's items need (0: none). */
export function bytesNeeded(plan: FetchPlan, m: SelectedMessage, meta: MessageMeta | null): number {
  let end = 0;
  for (const item of plan.items) {
    let e = 0;
    switch (item.kind) {
      case 'rfc822':
      case 'preview':
        e = m.size;
        break;
      case 'rfc822.header':
        e = meta ? sectionEnd(meta, HEADER, m.size) : m.size;
        break;
      case 'rfc822.text':
        e = meta ? sectionEnd(meta, TEXT, m.size) : m.size;
        break;
      case 'body-section': {
        const s = item.section;
        if (s.part.length === 0 && s.text === null) {
          e = item.partial ? Math.min(m.size, item.partial.offset + item.partial.length) : m.size;
        } else {
          e = meta ? sectionEnd(meta, s, m.size) : m.size;
        }
        break;
      }
      case 'binary':
      case 'binary.size':
        e = meta ? binaryEnd(meta, item.part, m.size) : m.size;
        break;
      default:
        break;
    }
    if (e > end) end = e;
  }
  return end;
}

/**
 * The byte range of the message an item sends, when it is a plain range that can be streamed; null for
 * the items that need bytes in memory (headers filtered or whole, BINARY decoding, PREVIEW).
 */
export function streamSpan(
  item: FetchItem,
  m: SelectedMessage,
  meta: MessageMeta | null,
): { start: number; end: number } | null {
  switch (item.kind) {
    case 'rfc822':
      return { start: 0, end: m.size };
    case 'rfc822.text':
      return meta ? sectionSpan(meta, TEXT, null, m.size) : null;
    case 'body-section':
      return sectionSpan(meta, item.section, item.partial, m.size);
    default:
      return null;
  }
}

/** Like `bytesNeeded`, for a streamed message: the leading bytes its items that cannot be streamed need. */
export function prefixNeeded(plan: FetchPlan, m: SelectedMessage, meta: MessageMeta | null): number {
  const rest = plan.items.filter((item) => streamSpan(item, m, meta) === null);
  return rest.length === 0 ? 0 : bytesNeeded({ ...plan, items: rest }, m, meta);
}

export interface RenderOptions {
  utf8: boolean;
  /** IMAP4rev2: message/global is an encapsulated message in BODYSTRUCTURE (RFC 9051 §7.5.2). */
  rev2: boolean;
  /** Write `UID n` first (UID FETCH, or the server adds it). */
  uid: boolean;
  /** Add FLAGS when not asked for (the FETCH set \Seen). */
  flags: boolean;
  /** Add MODSEQ when not asked for. */
  modseq: boolean;
  /** Show \Recent in FLAGS (IMAP4rev1, RFC 3501 §2.3.2). */
  recent: boolean;
}

export interface RenderResult {
  /** An unknown Content-Transfer-Encoding stopped a BINARY item (it was left out). */
  unknownCte: string | null;
}

/**
 * One `* n FETCH (...)` line while it is written: what is needed to separate the items and to know what
 * the server still has to add. One per message (the only object renderFetch allocates besides the
 * FLAGS list with \Recent); it is also the result.
 */
interface FetchLine extends RenderResult {
  w: ResponseBuilder;
  /** No item written yet: the next name has no leading space. */
  first: boolean;
  flagsDone: boolean;
  modseqDone: boolean;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Writes `* seq FETCH (...)\r\n` for one message, in three phases: UID first when the server puts it
 * there, then the items in the order asked, then what the server adds (FLAGS, MODSEQ). `content` holds
 * what `plan.meta`/`plan.bytes` needed.
 */
export function renderFetch(
  w: ResponseBuilder,
  seq: number,
  m: SelectedMessage,
  plan: FetchPlan,
  content: MessageContent | undefined,
  o: RenderOptions,
): RenderResult {
  const line: FetchLine = { w, first: true, flagsDone: false, modseqDone: false, unknownCte: null };
  w.raw(`* ${seq} FETCH (`);
  if (o.uid) {
    itemName(line, 'UID');
    w.number(m.uid);
  }
  const flags = o.recent && m.recent ? ['\\Recent', ...m.flags] : m.flags;
  for (const item of plan.items) {
    if (!writeViewItem(line, item, m, flags, o)) writeContentItem(line, item, m, content, o);
  }
  writeAddedItems(line, m, flags, o);
  if (line.first) {
    // Every item was left out (BINARY of an unknown encoding): msg-att needs one (RFC 9051 §9).
    itemName(line, 'UID');
    w.number(m.uid);
  }
  w.raw(')').crlf();
  return line;
}

/** Writes an item's name, with the space that separates it from the previous item. */
function itemName(line: FetchLine, text: string): void {
  line.w.raw(line.first ? `${text} ` : ` ${text} `);
  line.first = false;
}

/** Items answered from the session's view of the message (no content); false for the others. */
function writeViewItem(
  line: FetchLine,
  item: FetchItem,
  m: SelectedMessage,
  flags: readonly string[],
  o: RenderOptions,
): boolean {
  const w = line.w;
  switch (item.kind) {
    case 'uid':
      if (!o.uid) {
        itemName(line, 'UID');
        w.number(m.uid);
      }
      return true;
    case 'flags':
      itemName(line, 'FLAGS');
      w.flags(flags);
      line.flagsDone = true;
      return true;
    case 'internaldate':
      itemName(line, 'INTERNALDATE');
      w.dateTime(new Date(m.internalDate));
      return true;
    case 'rfc822.size':
      itemName(line, 'RFC822.SIZE');
      w.number(m.size);
      return true;
    case 'modseq':
      // RFC 7162 §3.1.4.1: MODSEQ (mod-sequence-value)
      itemName(line, 'MODSEQ');
      w.raw(`(${m.modseq})`);
      line.modseqDone = true;
      return true;
    case 'threadid':
      // RFC 8474 §5.2: THREADID is NIL when the server does not thread.
      itemName(line, 'THREADID');
      w.nil();
      return true;
    case 'savedate':
      // RFC 8514 §4.1: NIL when the save date is not known (the extension is not advertised).
      itemName(line, 'SAVEDATE');
      w.nil();
      return true;
    default:
      return false;
  }
}

/** Items answered from the parsed meta or the message bytes, which `content` holds as the plan asked. */
function writeContentItem(
  line: FetchLine,
  item: FetchItem,
  m: SelectedMessage,
  content: MessageContent | undefined,
  o: RenderOptions,
): void {
  const w = line.w;
  const meta = content?.meta ?? null;
  const raw = content?.bytes ?? NO_BYTES;
  const reader = content?.reader;
  if (reader) {
    const span = streamSpan(item, m, meta);
    if (span !== null && span.end > raw.length) {
      itemName(
        line,
        item.kind === 'rfc822' ? 'RFC822' : item.kind === 'rfc822.text' ? 'RFC822.TEXT' : fetchResponseName(item),
      );
      w.deferredLiteral({
        deferred: true,
        length: span.end - span.start,
        read: async (offset, length) => noNuls(await reader(span.start + offset, span.start + offset + length)),
      });
      return;
    }
  }
  switch (item.kind) {
    case 'envelope':
      itemName(line, 'ENVELOPE');
      w.raw(envelopeText(meta!.envelope, { utf8: o.utf8 }));
      break;
    case 'body':
    case 'bodystructure':
      itemName(line, item.kind === 'body' ? 'BODY' : 'BODYSTRUCTURE');
      w.raw(
        bodyStructureText(meta!.mime, {
          extended: item.kind === 'bodystructure',
          utf8: o.utf8,
          messageGlobal: o.rev2,
        }),
      );
      break;
    case 'emailid':
      // RFC 8474 §5.1: "EMAILID" SP "(" objectid ")"
      itemName(line, 'EMAILID');
      w.raw(`(${emailId(content!.hash!)})`);
      break;
    case 'rfc822':
      // RFC 3501 §6.4.5: RFC822 is BODY[] (answered under its own name).
      itemName(line, 'RFC822');
      w.literal(noNuls(raw.subarray(0, m.size)));
      break;
    case 'rfc822.header':
      itemName(line, 'RFC822.HEADER');
      w.literal(noNuls(bodySection(raw, meta!, HEADER)));
      break;
    case 'rfc822.text':
      itemName(line, 'RFC822.TEXT');
      w.literal(noNuls(bodySection(raw, meta!, TEXT)));
      break;
    case 'body-section': {
      const s = item.section;
      // RFC 9051 §6.4.5: BODY[] is the whole message (no meta needed); `raw` was read up to its end.
      const data = s.part.length === 0 && s.text === null ? raw : bodySection(raw, meta!, s);
      itemName(line, fetchResponseName(item));
      w.literal(noNuls(applyPartial(data, item.partial)));
      break;
    }
    case 'binary':
    case 'binary.size': {
      const bin = binarySection(raw, meta!, item.part);
      if (!bin.ok) {
        // RFC 3516 §4.3: the item is left out and the command answers NO [UNKNOWN-CTE].
        line.unknownCte = bin.encoding;
        break;
      }
      itemName(line, fetchResponseName(item));
      if (item.kind === 'binary.size') {
        w.number(bin.data.length);
      } else {
        const data = applyPartial(bin.data, item.partial);
        w.literal(data, { binary: data.includes(0) });
      }
      break;
    }
    case 'preview':
      // RFC 8970 §3: up to 200 characters of the message's text; "" when there is none. Control
      // characters (a NUL from a decoded part) become spaces: the preview is display text.
      itemName(line, 'PREVIEW');
      w.string(preview(raw, meta!).replace(/[\x00-\x1f\x7f]/g, ' '));
      break;
    default:
      break;
  }
}

/** What the server adds when not asked: FLAGS after an implicit \Seen, MODSEQ for RFC 7162. */
function writeAddedItems(line: FetchLine, m: SelectedMessage, flags: readonly string[], o: RenderOptions): void {
  if (o.flags && !line.flagsDone) {
    itemName(line, 'FLAGS');
    line.w.flags(flags);
  }
  if (o.modseq && !line.modseqDone) {
    itemName(line, 'MODSEQ');
    line.w.raw(`(${m.modseq})`);
  }
}

/**
 * A literal (RFC 9051 §4.3, RFC 3501 §4.3) is CHAR8: any octet except NUL. Content with NUL (binary
 * parts, appended with literal8, RFC 3516) can be sent unchanged only by BINARY[] in a literal8, so for
 * BODY[]/RFC822 each NUL becomes 0x80, as Dovecot does. Copies only when there is a NUL.
 */
export function noNuls(data: Buffer): Buffer {
  if (!data.includes(0)) return data;
  const out = Buffer.from(data);
  for (let i = out.indexOf(0); i !== -1; i = out.indexOf(0, i + 1)) out[i] = 0x80;
  return out;
}
