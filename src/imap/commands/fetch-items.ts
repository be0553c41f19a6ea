/**
 * FETCH items (RFC 9051 §6.4.5 and §9 `fetch-att`, + RFC 3516 BINARY, RFC 7162 MODSEQ, RFC 8474
 * EMAILID/THREADID, RFC 8514 SAVEDATE, RFC 8970 PREVIEW): their types, their grammar, and the names a
 * FETCH response echoes them under. The FETCH command (sequence set, modifiers) is fetch.ts; the items
 * are rendered by ../fetch/.
 */
import { printable } from '../wire/commands.js';
import type { Reader } from '../wire/reader.js';
import { DOT, GT, headerFieldName, isDigit, LBRACKET, LPAREN, LT, RBRACKET, SP } from './grammar.js';

/** RFC 9051 §6.4.5 section text. */
export type SectionText =
  | { kind: 'header' }
  | { kind: 'header.fields'; not: boolean; fields: string[] }
  | { kind: 'text' }
  | { kind: 'mime' };

/** RFC 9051 §6.4.5 `section`: `[]` is `{ part: [], text: null }`; `[1.2.MIME]` has part [1, 2]. */
export interface Section {
  part: number[];
  text: SectionText | null;
}

/** RFC 9051 §6.4.5 `<origin.length>`. */
export interface PartialFetch {
  offset: number;
  length: number;
}

export type SimpleFetchAttr =
  | 'envelope'
  | 'flags'
  | 'internaldate'
  | 'rfc822' // RFC 3501; same as BODY[] (not PEEK)
  | 'rfc822.header' // RFC 3501; BODY.PEEK[HEADER]
  | 'rfc822.text' // RFC 3501; BODY[TEXT]
  | 'rfc822.size'
  | 'body' // the non-extensible BODYSTRUCTURE
  | 'bodystructure'
  | 'uid'
  | 'modseq' // RFC 7162 §3.1.4.1
  | 'emailid' // RFC 8474 §5.1
  | 'threadid' // RFC 8474 §5.2
  | 'savedate'; // RFC 8514 §4

export type FetchItem =
  | { kind: SimpleFetchAttr }
  | { kind: 'body-section'; peek: boolean; section: Section; partial: PartialFetch | null }
  | { kind: 'binary'; peek: boolean; part: number[]; partial: PartialFetch | null } // RFC 3516 §4.2
  | { kind: 'binary.size'; part: number[] } // RFC 3516 §4.2
  | { kind: 'preview'; lazy: boolean }; // RFC 8970 §3

/**
 * RFC 9051 §6.4.5: `("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")`, the
 * macros expanded.
 */
export function fetchAttributes(r: Reader): FetchItem[] {
  // RFC 9051 §6.4.5: the macros, equivalent to the lists below; not allowed inside a list.
  if (r.tryKeyword('ALL')) return kinds('flags', 'internaldate', 'rfc822.size', 'envelope');
  if (r.tryKeyword('FAST')) return kinds('flags', 'internaldate', 'rfc822.size');
  if (r.tryKeyword('FULL')) return kinds('flags', 'internaldate', 'rfc822.size', 'envelope', 'body');
  if (r.peek() === LPAREN) return r.list(() => fetchAtt(r), { what: 'the fetch attribute list' });
  return [fetchAtt(r)];
}

function kinds(...names: SimpleFetchAttr[]): FetchItem[] {
  return names.map((kind) => ({ kind }));
}

const SIMPLE_ATTRS = new Map<string, SimpleFetchAttr>([
  ['ENVELOPE', 'envelope'],
  ['FLAGS', 'flags'],
  ['INTERNALDATE', 'internaldate'],
  ['RFC822', 'rfc822'],
  ['RFC822.HEADER', 'rfc822.header'],
  ['RFC822.TEXT', 'rfc822.text'],
  ['RFC822.SIZE', 'rfc822.size'],
  ['BODYSTRUCTURE', 'bodystructure'],
  ['UID', 'uid'],
  ['MODSEQ', 'modseq'],
  ['EMAILID', 'emailid'],
  ['THREADID', 'threadid'],
  ['SAVEDATE', 'savedate'],
]);

/** RFC 9051 §9 `fetch-att`, + MODSEQ, EMAILID/THREADID, SAVEDATE and PREVIEW. */
function fetchAtt(r: Reader): FetchItem {
  const at = r.pos;
  const name = r.name('a fetch attribute');
  const simple = SIMPLE_ATTRS.get(name);
  if (simple) return { kind: simple };
  switch (name) {
    case 'BODY':
      if (r.peek() !== LBRACKET) return { kind: 'body' };
      return { kind: 'body-section', peek: false, section: section(r), partial: partialFetch(r) };
    case 'BODY.PEEK':
      return { kind: 'body-section', peek: true, section: section(r), partial: partialFetch(r) };
    case 'BINARY':
    case 'BINARY.PEEK':
      // RFC 3516 §4.2: "BINARY" [".PEEK"] section-binary [partial]
      return { kind: 'binary', peek: name === 'BINARY.PEEK', part: sectionBinary(r), partial: partialFetch(r) };
    case 'BINARY.SIZE':
      return { kind: 'binary.size', part: sectionBinary(r) };
    case 'PREVIEW': {
      // RFC 8970 §7: fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]; preview-mod = "LAZY".
      // "(" after PREVIEW may also open the fetch modifiers of a single-attribute FETCH; only LAZY decides.
      let lazy = false;
      if (r.peek() === SP && r.peek(1) === LPAREN) {
        const save = r.pos;
        r.pos += 2;
        const isMod = r.atKeyword('LAZY');
        r.pos = save;
        if (isMod) {
          r.sp();
          r.list(
            () => {
              const modAt = r.pos;
              if (!r.tryKeyword('LAZY')) r.fail('unknown PREVIEW modifier (only LAZY exists)', modAt);
              lazy = true;
            },
            { what: 'the PREVIEW modifiers' },
          );
        }
      }
      return { kind: 'preview', lazy };
    }
    default:
      return r.fail(`unknown fetch attribute "${printable(name)}"`, at);
  }
}

/**
 * RFC 9051 §9: `section = "[" [section-spec] "]"`; `section-spec = section-msgtext / (section-part
 * ["." section-text])`; `section-part = nz-number *("." nz-number)`; `section-text = section-msgtext /
 * "MIME"`; `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`.
 */
function section(r: Reader): Section {
  r.byte(LBRACKET, '"[" to open the section');
  const part: number[] = [];
  let text: SectionText | null = null;
  if (r.tryByte(RBRACKET)) return { part, text };
  if (isDigit(r.peek())) {
    part.push(r.nzNumber('a part number'));
    while (r.peek() === DOT) {
      r.pos++;
      if (isDigit(r.peek())) part.push(r.nzNumber('a part number'));
      else {
        text = sectionText(r, true);
        break;
      }
    }
  } else {
    text = sectionText(r, false);
  }
  r.byte(RBRACKET, '"]" to close the section');
  return { part, text };
}

function sectionText(r: Reader, afterPart: boolean): SectionText {
  const at = r.pos;
  const word = r.name('HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME');
  switch (word) {
    case 'HEADER':
      return { kind: 'header' };
    case 'TEXT':
      return { kind: 'text' };
    case 'MIME':
      // RFC 9051 §6.4.5: MIME refers to a part's MIME header, so it needs a part number.
      if (!afterPart) r.fail('MIME needs a part number, e.g. BODY[1.MIME]', at);
      return { kind: 'mime' };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      r.sp(`after ${word}`);
      const fields = r.list(() => headerFieldName(r), { what: 'the header field list' });
      return { kind: 'header.fields', not: word === 'HEADER.FIELDS.NOT', fields };
    }
    default:
      return r.fail(`unknown section "${printable(word)}"`, at);
  }
}

/** RFC 3516 §4.2: `section-binary = "[" [section-part] "]"`. */
function sectionBinary(r: Reader): number[] {
  r.byte(LBRACKET, '"[" to open the section');
  const part: number[] = [];
  if (!r.tryByte(RBRACKET)) {
    part.push(r.nzNumber('a part number'));
    while (r.tryByte(DOT)) part.push(r.nzNumber('a part number'));
    r.byte(RBRACKET, '"]" to close the section (BINARY takes part numbers only)');
  }
  return part;
}

/** RFC 9051 §9: `partial = "<" number64 "." nz-number64 ">"`. */
function partialFetch(r: Reader): PartialFetch | null {
  if (!r.tryByte(LT)) return null;
  const at = r.pos;
  const offset = r.number64('the partial offset');
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) r.fail('partial offset is too large', at);
  r.byte(DOT, '"." between the partial offset and length');
  const length = r.nzNumber64('the partial length');
  r.byte(GT, '">" to close the partial range');
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return { offset: Number(offset), length: Number(length > max ? max : length) };
}

// ---------------------------------------------------------------------------------------------------
// Echoing fetch items in responses

/** A header field name as an astring in a response (RFC 9051 §9 `header-fld-name`). */
function fieldName(name: string): string {
  return /^[\x21\x23\x24\x26\x27\x2b-\x5b\x5e-\x7a\x7c\x7e]+$/.test(name)
    ? name
    : `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A section spec as it appears between brackets, e.g. `1.2.HEADER.FIELDS (From To)` (RFC 9051 §7.5.2). */
export function formatSection(s: Section): string {
  const parts = s.part.map(String);
  if (s.text) {
    switch (s.text.kind) {
      case 'header':
        parts.push('HEADER');
        break;
      case 'text':
        parts.push('TEXT');
        break;
      case 'mime':
        parts.push('MIME');
        break;
      case 'header.fields':
        parts.push(`HEADER.FIELDS${s.text.not ? '.NOT' : ''} (${s.text.fields.map(fieldName).join(' ')})`);
        break;
    }
  }
  return parts.join('.');
}

/**
 * The name a FETCH response uses for an item (RFC 9051 §7.5.2): `BODY.PEEK[...]` answers as `BODY[...]`,
 * a partial fetch as `BODY[...]<origin>`; RFC822.HEADER etc. answer under their own names.
 */
export function fetchResponseName(item: FetchItem): string {
  switch (item.kind) {
    case 'body-section':
      return `BODY[${formatSection(item.section)}]${item.partial ? `<${item.partial.offset}>` : ''}`;
    case 'binary':
      return `BINARY[${item.part.join('.')}]${item.partial ? `<${item.partial.offset}>` : ''}`;
    case 'binary.size':
      return `BINARY.SIZE[${item.part.join('.')}]`;
    case 'preview':
      return 'PREVIEW';
    default:
      return item.kind.toUpperCase();
  }
}
