/**
 * What the tests read from the message, computed on first use and kept for the run: the top-level
 * header fields, their decoded values (RFC 2047, unfolded, trailing white space removed, as Pigeonhole
 * compares them), the addresses in address headers, the MIME tree and the decoded
 * text of its parts (for body). Everything comes from src/mail's parsers; nothing here throws.
 */

import { scanHeader } from '../mail/header.js';
import {
  decodeCharset,
  decodeTransfer,
  decodeWords,
  type MimePart,
  paramValue,
  parseAddressList,
  parseMime,
} from '../mail/index.js';
import { htmlText } from './ext/html-text.js';

export interface ParsedAddress {
  /** The local part, or null when the address could not be read. */
  local: string | null;
  domain: string | null;
  /** The text as written, for :all of an address that could not be read. */
  raw: string;
}

interface Field {
  name: string;
  lower: string;
  /** The value unfolded, not decoded. */
  raw: string;
}

/** One body part as the body test sees it. */
export interface BodyPart {
  type: string;
  subtype: string;
  /** Decoded text (transfer encoding and charset); for a multipart: empty. */
  text: string;
  isText: boolean;
  attachment: boolean;
}

/** Text in a declared charset; without one (or in US-ASCII/UTF-8) as UTF-8, invalid octets as U+FFFD (as Dovecot). */
function textOf(bytes: Buffer, charset: string | null): string {
  const cs = charset?.trim().toLowerCase() ?? '';
  if (cs === '' || cs === 'us-ascii' || cs === 'utf-8' || cs === 'utf8') return bytes.toString('utf8');
  return decodeCharset(bytes, cs);
}

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*$/;

/** A local part as an address writes it: a dot-atom as it is, anything else quoted (RFC 5322 §3.4.1). */
export function quoteLocalPart(local: string): string {
  return DOT_ATOM.test(local) ? local : `"${local.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export class MessageView {
  private fieldList: Field[] | null = null;
  private headerEndOffset = 0;
  private mimeRoot: MimePart | null = null;
  /** rawBody() and parts(), made once per message however many tests read them. */
  private rawBodyText: string | null = null;
  private partList: readonly BodyPart[] | null = null;

  constructor(readonly raw: Buffer) {}

  private fields(): Field[] {
    if (this.fieldList === null) {
      const scan = scanHeader(this.raw);
      this.headerEndOffset = scan.headerEnd;
      this.fieldList = scan.fields
        .filter((f) => f.name !== '')
        .map((f) => ({
          name: f.name,
          lower: f.name.toLowerCase(),
          // Read as UTF-8 (an invalid octet becomes U+FFFD, as in Dovecot), leading white space skipped,
          // unfolded as Dovecot does: the line break goes, a TAB that starts the next line becomes a space.
          raw: this.raw
            .toString('utf8', f.valueStart, f.valueEnd)
            .replace(/^[ \t]+/, '')
            .replace(/\r?\n\t/g, ' ')
            .replace(/\r?\n/g, ''),
        }));
    }
    return this.fieldList;
  }

  /** Unfolded raw values of the fields named `name` (case-insensitive), in order. */
  rawValues(name: string): string[] {
    const lower = name.toLowerCase();
    return this.fields()
      .filter((f) => f.lower === lower)
      .map((f) => f.raw);
  }

  /** Decoded values (RFC 2047), trailing white space removed (leading white space is not part of a value). */
  values(name: string): string[] {
    return this.rawValues(name).map((v) => decodeWords(v).replace(/[ \t]+$/, ''));
  }

  has(name: string): boolean {
    const lower = name.toLowerCase();
    return this.fields().some((f) => f.lower === lower);
  }

  get size(): number {
    return this.raw.length;
  }

  /**
   * The addresses of one header value, as Pigeonhole reads them: each valid address (ASCII only:
   * Pigeonhole 0.5 reads an SMTPUTF8 address as unparsable); the value itself (with `local` null) when
   * it is empty, or when it holds something but no valid address (a broken address, an empty group),
   * so that :all can still compare it.
   */
  static addresses(value: string): ParsedAddress[] {
    const trimmed = value.replace(/[ \t]+$/, '');
    if (trimmed === '') return [{ local: null, domain: null, raw: '' }];
    const out: ParsedAddress[] = [];
    let sawInvalid = false;
    for (const [name, , mailbox, host] of parseAddressList(trimmed)) {
      if (name === null && mailbox === null && host === null) continue; // a group's end
      const invalid =
        /[^\x00-\x7f]/.test(`${mailbox}${host}`) || // no SMTPUTF8 addresses (Pigeonhole reads them as unparsable)
        mailbox === null ||
        host === null ||
        host === '' ||
        mailbox === 'MISSING_MAILBOX' ||
        host === 'MISSING_DOMAIN' ||
        host === 'SYNTAX_ERROR';
      if (invalid) sawInvalid = true;
      else out.push({ local: mailbox, domain: host, raw: `${quoteLocalPart(mailbox)}@${host}` });
    }
    if (sawInvalid && out.length === 0) out.push({ local: null, domain: null, raw: trimmed });
    return out;
  }

  private mime(): MimePart {
    this.mimeRoot ??= parseMime(this.raw).root;
    return this.mimeRoot;
  }

  /** The body as stored, after the header (body :raw). */
  rawBody(): string {
    if (this.rawBodyText === null) {
      this.fields();
      this.rawBodyText = this.raw.toString('utf8', this.headerEndOffset); // octets as they are; invalid UTF-8 as U+FFFD
    }
    return this.rawBodyText;
  }

  /** Every part of the message in document order, encapsulated messages included (body :content). */
  parts(): readonly BodyPart[] {
    if (this.partList !== null) return this.partList;
    const out: BodyPart[] = [];
    const visit = (part: MimePart): void => {
      const type = part.type.toLowerCase();
      const subtype = part.subtype.toLowerCase();
      const attachment = part.disposition?.toLowerCase() === 'attachment';
      if (part.kind === 'multipart') {
        // RFC 5173 §5.2: a multipart's own content is its prologue and epilogue.
        out.push({ type, subtype, text: this.prologueAndEpilogue(part), isText: false, attachment });
        for (const p of part.parts ?? []) visit(p);
        return;
      }
      if (part.kind === 'message') {
        // An encapsulated message: its header is the part's content (its body comes in its own parts).
        const headerEnd = part.message ? part.message.body : part.end;
        const text = this.raw.toString('utf8', part.body, headerEnd);
        out.push({ type, subtype, text, isText: false, attachment });
        if (part.message) visit(part.message);
        return;
      }
      const bytes = decodeTransfer(this.raw.subarray(part.body, part.end), part.encoding);
      const isText = type === 'text' || (type === 'application' && subtype === 'xhtml+xml');
      const text = isText ? textOf(bytes, paramValue(part.params, 'charset')) : bytes.toString('latin1');
      out.push({ type, subtype, text, isText, attachment });
    };
    visit(this.mime());
    this.partList = out;
    return out;
  }

  /** The text of a multipart before its first boundary and after its last one. */
  private prologueAndEpilogue(part: MimePart): string {
    const body = this.raw.toString('utf8', part.body, part.end);
    const boundary = paramValue(part.params, 'boundary');
    if (boundary === null || boundary === '') return body;
    const open = `--${boundary}`;
    const first = body.startsWith(open) ? 0 : body.indexOf(`\n${open}`);
    if (first < 0) return body;
    const prologue = body.slice(0, first > 0 && body[first - 1] === '\r' ? first - 1 : first);
    const close = body.lastIndexOf(`${open}--`);
    if (close < 0) return prologue;
    const lineEnd = body.indexOf('\n', close);
    return lineEnd < 0 ? prologue : prologue + body.slice(lineEnd + 1);
  }

  /**
   * The text of the message (body :text): every text/* and application/xhtml+xml part, attachments
   * included, HTML turned into text as Dovecot does (ext/html-text.ts), as Pigeonhole reads it.
   */
  texts(): string[] {
    return this.parts()
      .filter((p) => p.isText)
      .map((p) => (p.subtype === 'html' || p.subtype === 'xhtml+xml' ? htmlText(p.text) : p.text));
  }
}
