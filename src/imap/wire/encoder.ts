/**
 * Building IMAP responses (RFC 9051 §7, grammar in §9) as Buffers: atoms, strings (quoted or literal),
 * nstring/NIL, parenthesised lists, flags, sequence sets, dates, response codes and whole status lines.
 *
 * Invariants:
 * - Output is always well-formed: a string that cannot be quoted (CR, LF, NUL, 8-bit outside UTF-8
 *   mode, or longer than `maxQuoted`) becomes a literal `{n}\r\n...`; quoted strings escape `\` and `"`
 *   (RFC 9051 §4.3). In UTF-8 mode (IMAP4rev2 or UTF8=ACCEPT, RFC 6855 §3) quoted strings may carry
 *   valid UTF-8.
 * - Human-readable response text never breaks the line: CR, LF and NUL become spaces, and without
 *   UTF-8 mode non-ASCII becomes "?" (RFC 3501 `TEXT-CHAR` is 7-bit).
 * - Literal bytes are passed through untouched and are not copied until `toBuffer()` (use `chunks()`
 *   to write them without the final copy).
 * - A deferred literal (`deferredLiteral`, for large message bytes) writes its `{n}\r\n` now and leaves
 *   a `DeferredBytes` in `parts()`, which the session reads piece by piece as it writes (so a large
 *   message never sits whole in memory); `chunks()` and `toBuffer()` refuse a builder that has one.
 * - Mailbox names are encoded for the session: UTF-8 strings, or modified UTF-7 (RFC 3501 §5.1.3).
 */
import { isUtf8 } from 'node:buffer';
import { MONTHS } from './reader.js';
import { formatSequenceSet, NumberSet, type SequenceSet } from './seqset.js';
import { encodeModifiedUtf7 } from './utf7.js';

export interface EncoderOptions {
  /** The client enabled IMAP4rev2 or UTF8=ACCEPT: UTF-8 in quoted strings, UTF-8 mailbox names. */
  utf8?: boolean;
  /** Strings longer than this (in bytes) are sent as literals. Default 1024. */
  maxQuoted?: number;
}

export type Status = 'OK' | 'NO' | 'BAD' | 'PREAUTH' | 'BYE';

/** The content of a literal read later, piece by piece, by whoever writes the response. */
export interface DeferredBytes {
  readonly deferred: true;
  /** The literal's length: exactly this many bytes must follow its `{n}`. */
  readonly length: number;
  /** Bytes [offset, offset + length) of the content; fewer (even none) when it is gone. */
  read(offset: number, length: number): Promise<Buffer>;
}

/** Response codes without arguments (RFC 9051 §7.1, RFC 5530, RFC 4315, RFC 7162, RFC 4978, RFC 6154). */
export type SimpleCode =
  | 'ALERT'
  | 'ALREADYEXISTS'
  | 'AUTHENTICATIONFAILED'
  | 'AUTHORIZATIONFAILED'
  | 'CANNOT'
  | 'CLIENTBUG'
  | 'CLOSED'
  | 'COMPRESSIONACTIVE'
  | 'CONTACTADMIN'
  | 'CORRUPTION'
  | 'EXPIRED'
  | 'EXPUNGEISSUED'
  | 'HASCHILDREN'
  | 'INUSE'
  | 'LIMIT'
  | 'NOMODSEQ'
  | 'NONEXISTENT'
  | 'NOPERM'
  | 'NOTSAVED'
  | 'OVERQUOTA'
  | 'PARSE'
  | 'PRIVACYREQUIRED'
  | 'READ-ONLY'
  | 'READ-WRITE'
  | 'SERVERBUG'
  | 'TOOBIG'
  | 'TRYCREATE'
  | 'UIDNOTSTICKY'
  | 'UNAVAILABLE'
  | 'UNKNOWN-CTE'
  | 'USEATTR';

export type RespCode =
  | SimpleCode
  | { code: 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN'; value: number }
  | { code: 'HIGHESTMODSEQ'; value: bigint | number } // RFC 7162 §3.1.2.1
  | { code: 'PERMANENTFLAGS'; flags: readonly string[] }
  | { code: 'CAPABILITY'; capabilities: readonly string[] }
  | { code: 'BADCHARSET'; charsets: readonly string[] }
  /** RFC 4315 §3; source and destination in the same order (see seqset.ts compactNumbers). */
  | { code: 'COPYUID'; uidValidity: number; source: string; destination: string }
  | { code: 'APPENDUID'; uidValidity: number; uids: string } // RFC 4315 §3
  | { code: 'MODIFIED'; set: string } // RFC 7162 §3.1.3
  | { code: 'MAILBOXID'; id: string }; // RFC 8474 §4.1

const CRLF = '\r\n';
const EMPTY = Buffer.alloc(0);

// RFC 9051 §9 ATOM-CHAR (see reader.ts), for deciding when an astring can go out bare.
const ATOM_SAFE = /^[\x21\x23\x24\x26\x27\x2b-\x5b\x5e-\x7a\x7c\x7e]+$/;

/**
 * Accumulates one or more response lines. Every method returns `this`, so responses read like the
 * grammar: `w.untagged().raw('FLAGS ').flags(list).crlf()`.
 */
export class ResponseBuilder {
  readonly utf8: boolean;
  readonly maxQuoted: number;
  /** Text accumulates here until a literal forces a chunk boundary. */
  #text = '';
  #chunks: (Buffer | DeferredBytes)[] = [];
  #deferred = 0;
  #trace: string[] = [];

  constructor(opts: EncoderOptions = {}) {
    this.utf8 = opts.utf8 ?? false;
    this.maxQuoted = opts.maxQuoted ?? 1024;
  }

  /** Protocol text written as is (keywords, spaces, brackets). The caller guarantees it is valid. */
  raw(text: string): this {
    this.#text += text;
    return this;
  }

  sp(): this {
    this.#text += ' ';
    return this;
  }

  crlf(): this {
    this.#text += CRLF;
    return this;
  }

  /** `* ` (an untagged response, RFC 9051 §7). */
  untagged(): this {
    this.#text += '* ';
    return this;
  }

  /** `tag ` (a tagged status response). */
  tagged(tag: string): this {
    this.#text += `${tag} `;
    return this;
  }

  open(): this {
    this.#text += '(';
    return this;
  }

  close(): this {
    this.#text += ')';
    return this;
  }

  /** `(a b c)` with `each` writing one item; items are separated by SP. */
  list<T>(items: Iterable<T>, each: (w: this, item: T) => void): this {
    this.#text += '(';
    let first = true;
    for (const item of items) {
      if (!first) this.#text += ' ';
      first = false;
      each(this, item);
    }
    this.#text += ')';
    return this;
  }

  number(n: number | bigint): this {
    this.#text += String(n);
    return this;
  }

  nil(): this {
    this.#text += 'NIL';
    return this;
  }

  /** RFC 9051 §4.3: a quoted string if it can be one, otherwise a literal. */
  string(value: string | Buffer): this {
    if (typeof value === 'string') {
      if (this.#quotableText(value)) return this.#quoted(value);
      return this.literal(Buffer.from(value, 'utf8'));
    }
    if (this.#quotableBytes(value)) return this.#quoted(value.toString(this.utf8 ? 'utf8' : 'latin1'));
    return this.literal(value);
  }

  /** RFC 9051 §9 `astring`: bare when every character is an ATOM-CHAR (and it is not NIL), else a string. */
  astring(value: string): this {
    if (ATOM_SAFE.test(value) && value.toUpperCase() !== 'NIL') {
      this.#text += value;
      return this;
    }
    return this.string(value);
  }

  /** RFC 9051 §9 `nstring = string / nil`. */
  nstring(value: string | Buffer | null | undefined): this {
    return value === null || value === undefined ? this.nil() : this.string(value);
  }

  /**
   * A literal `{n}\r\n` + bytes (RFC 9051 §4.3), or `~{n}\r\n` + bytes with `binary` (RFC 3516 §4.3,
   * for BINARY[] responses). The bytes are not copied here.
   */
  literal(bytes: Buffer, opts: { binary?: boolean } = {}): this {
    const head = `${opts.binary ? '~' : ''}{${bytes.length}}${CRLF}`;
    this.#text += head;
    this.#flushText(`<${bytes.length} bytes>`);
    this.#chunks.push(bytes);
    return this;
  }

  /** A literal `{n}\r\n` whose bytes are read when the response is written (see the header). */
  deferredLiteral(bytes: DeferredBytes): this {
    this.#text += `{${bytes.length}}${CRLF}`;
    this.#flushText(`<${bytes.length} bytes>`);
    this.#chunks.push(bytes);
    this.#deferred++;
    return this;
  }

  /** RFC 9051 §9 `flag-list`. */
  flags(flags: Iterable<string>): this {
    return this.list(flags, (w, f) => w.raw(f));
  }

  /** A sequence set: the client form (with `*`), a resolved NumberSet, or an already compact string. */
  sequenceSet(set: SequenceSet | NumberSet | string): this {
    this.#text += typeof set === 'string' ? set : set instanceof NumberSet ? set.toString() : formatSequenceSet(set);
    return this;
  }

  /** A mailbox name for this session: UTF-8, or modified UTF-7 for IMAP4rev1 clients (RFC 3501 §5.1.3). */
  mailbox(name: string): this {
    return this.string(this.utf8 ? name : encodeModifiedUtf7(name));
  }

  /** RFC 9051 §9 `date-time`, e.g. `"17-Jul-1996 02:44:25 -0700"`. */
  dateTime(date: Date, offsetMinutes = 0): this {
    this.#text += `"${formatDateTime(date, offsetMinutes)}"`;
    return this;
  }

  /** `[CODE args]` followed by a space (RFC 9051 §7.1). */
  code(code: RespCode): this {
    this.#text += `[${formatRespCode(code)}] `;
    return this;
  }

  /** Human-readable text (RFC 9051 §9 `text`), made safe for one line. */
  text(text: string): this {
    this.#text += safeText(text, this.utf8);
    return this;
  }

  /** A complete status line: `tag OK [CODE] text` or `* BYE text` (RFC 9051 §7.1). */
  status(tag: string | null, status: Status, text: string, code?: RespCode | null): this {
    this.#text += `${tag ?? '*'} ${status} `;
    if (code) this.code(code);
    return this.text(text || 'completed').crlf();
  }

  /** The bytes written so far, as pieces (literal bytes are not copied). No deferred literal allowed. */
  chunks(): Buffer[] {
    if (this.#deferred > 0) throw new Error('a response with a deferred literal must be written with parts()');
    this.#flushText(null);
    return this.#chunks.slice() as Buffer[];
  }

  /** Whether a deferred literal was written (then write `parts()`). */
  get hasDeferred(): boolean {
    return this.#deferred > 0;
  }

  /** The pieces written so far, deferred literals included, in order. */
  parts(): (Buffer | DeferredBytes)[] {
    this.#flushText(null);
    return this.#chunks.slice();
  }

  toBuffer(): Buffer {
    const chunks = this.chunks();
    if (chunks.length === 0) return EMPTY;
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  }

  /** The lines written, for the trace, with literal bytes shown as `<n bytes>`. */
  traceLines(): string[] {
    const text = this.#trace.join('') + this.#text;
    const lines = text.split(CRLF);
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  #flushText(traceLiteral: string | null): void {
    if (this.#text) {
      this.#chunks.push(Buffer.from(this.#text, 'utf8'));
      this.#trace.push(this.#text);
      this.#text = '';
    }
    if (traceLiteral !== null) this.#trace.push(traceLiteral);
  }

  #quoted(value: string): this {
    this.#text += `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    return this;
  }

  #quotableText(value: string): boolean {
    if (value.length > this.maxQuoted) return false;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x0d || c === 0x0a || c === 0) return false;
      if (c >= 0x80 && !this.utf8) return false;
      // A lone surrogate would not survive as UTF-8: send the bytes as a literal instead.
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = value.charCodeAt(i + 1);
        if (c >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) return false;
        i++;
      }
    }
    return !this.utf8 || Buffer.byteLength(value, 'utf8') <= this.maxQuoted;
  }

  #quotableBytes(value: Buffer): boolean {
    if (value.length > this.maxQuoted) return false;
    let high = false;
    for (const c of value) {
      if (c === 0x0d || c === 0x0a || c === 0) return false;
      if (c >= 0x80) high = true;
    }
    return !high || (this.utf8 && isUtf8(value));
  }
}

/** Replaces what may not appear in response text (RFC 9051 §9 `text`). */
export function safeText(text: string, utf8: boolean): string {
  const oneLine = text.replace(/[\r\n\0]/g, ' ');
  return utf8 ? oneLine : oneLine.replace(/[^\x20-\x7e]/g, '?');
}

/** The inside of a response code's brackets. */
export function formatRespCode(code: RespCode): string {
  if (typeof code === 'string') return code;
  switch (code.code) {
    case 'UIDNEXT':
    case 'UIDVALIDITY':
    case 'UNSEEN':
    case 'HIGHESTMODSEQ':
      return `${code.code} ${code.value}`;
    case 'PERMANENTFLAGS':
      return `PERMANENTFLAGS (${code.flags.join(' ')})`;
    case 'CAPABILITY':
      return `CAPABILITY ${code.capabilities.join(' ')}`;
    case 'BADCHARSET':
      return code.charsets.length ? `BADCHARSET (${code.charsets.map(charsetAstring).join(' ')})` : 'BADCHARSET';
    case 'COPYUID':
      return `COPYUID ${code.uidValidity} ${code.source} ${code.destination}`;
    case 'APPENDUID':
      return `APPENDUID ${code.uidValidity} ${code.uids}`;
    case 'MODIFIED':
      return `MODIFIED ${code.set}`;
    case 'MAILBOXID':
      return `MAILBOXID (${code.id})`;
  }
}

function charsetAstring(name: string): string {
  return ATOM_SAFE.test(name) ? name : `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** RFC 9051 §9 `date-time` without the quotes: `17-Jul-1996 02:44:25 -0700`. */
export function formatDateTime(date: Date, offsetMinutes = 0): string {
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return (
    `${pad2(local.getUTCDate())}-${MONTHS[local.getUTCMonth()]}-${String(local.getUTCFullYear()).padStart(4, '0')} ` +
    `${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())} ` +
    `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`
  );
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** A whole status line as a Buffer: `tag OK [CODE] text\r\n`, `* BYE text\r\n` (RFC 9051 §7.1). */
export function statusLine(
  tag: string | null,
  status: Status,
  text: string,
  opts: { code?: RespCode | null; utf8?: boolean } = {},
): Buffer {
  return new ResponseBuilder({ utf8: opts.utf8 }).status(tag, status, text, opts.code).toBuffer();
}

/** A command continuation request (RFC 9051 §7.5): `+ text\r\n`, or `+ base64\r\n` for SASL. */
export function continuationLine(text = 'Ready for literal data'): Buffer {
  return Buffer.from(`+ ${safeText(text, false)}${CRLF}`, 'latin1');
}
