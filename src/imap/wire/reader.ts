/**
 * A recursive-descent cursor over one assembled IMAP command (framing.ts): the lexical rules of
 * RFC 9051 §4 and the shared productions of RFC 9051 §9 (tag, atom, number, string, astring, nstring,
 * lists, flags, mailbox, date, date-time, sequence-set).
 *
 * Invariants:
 * - The only exception a Reader throws is `ImapSyntaxError`, whose message names what was expected and
 *   the byte offset ("expected SP after tag at offset 4, found \"(\""). It is safe to show to clients:
 *   it never quotes more than one byte of input.
 * - Strings come back as Buffers viewing the command (no copy unless a quoted string had escapes);
 *   conversion to text happens only where the grammar means text, and checks that it is UTF-8.
 * - A literal is accepted only where the framing saw one (its offset and size are in
 *   `AssembledCommand.literals`), so the parser and the framing can never disagree about where a
 *   literal's bytes are.
 * - Mailbox names come back decoded: UTF-8 when the session enabled IMAP4rev2 or UTF8=ACCEPT
 *   (RFC 9051 §5.1, RFC 6855 §3), modified UTF-7 otherwise (RFC 3501 §5.1.3); `INBOX` in any case is
 *   returned as `INBOX` (RFC 9051 §5.1).
 */
import { isUtf8 } from 'node:buffer';
import type { AssembledCommand, LiteralSpan } from './framing.js';
import { type SeqScanOptions, type SequenceSet, scanSequenceSet } from './seqset.js';
import { decodeModifiedUtf7 } from './utf7.js';

export class ImapSyntaxError extends Error {
  override readonly name = 'ImapSyntaxError';
  /** Byte offset in the assembled command where the problem is. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** A calendar date without time or zone (RFC 9051 §9 `date`), as SEARCH compares them. */
export interface ImapDate {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
}

/** RFC 9051 §9 `date-time`: the instant and the zone offset it was written with. */
export interface ImapDateTime {
  date: Date;
  /** East of UTC, in minutes (`+0130` → 90). */
  offsetMinutes: number;
}

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const TILDE = 0x7e;
const PLUS = 0x2b;
const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;

// RFC 9051 §9: ATOM-CHAR = <any CHAR except atom-specials>; atom-specials = "(" / ")" / "{" / SP / CTL /
// list-wildcards / quoted-specials / resp-specials.
const ATOM_CHAR = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) ATOM_CHAR[c] = 1;
for (const c of '(){%*"\\]') ATOM_CHAR[c.charCodeAt(0)] = 0;
// ASTRING-CHAR = ATOM-CHAR / resp-specials.
const ASTRING_CHAR = ATOM_CHAR.slice();
ASTRING_CHAR[0x5d] = 1;
// tag = 1*<any ASTRING-CHAR except "+">.
const TAG_CHAR = ASTRING_CHAR.slice();
TAG_CHAR[PLUS] = 0;
// list-char = ATOM-CHAR / list-wildcards / resp-specials.
const LIST_CHAR = ASTRING_CHAR.slice();
LIST_CHAR[0x25] = 1;
LIST_CHAR[STAR] = 1;

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const MONTH_INDEX = new Map(MONTHS.map((m, i) => [m.toUpperCase(), i + 1]));

/** RFC 9051 §9: number = 1*DIGIT, an unsigned 32-bit integer. */
export const MAX_NUMBER32 = 4294967295;
/** RFC 9051 §9: number64 = 1*DIGIT, at most 2^63-1. */
export const MAX_NUMBER64 = 9223372036854775807n;

/** System flags in their canonical spelling (RFC 9051 §2.3.2; `\Recent` is IMAP4rev1 only). */
const SYSTEM_FLAGS = new Map(
  ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent'].map((f) => [f.toUpperCase(), f]),
);

/** The canonical spelling of a system flag (`\\SEEN` → `\\Seen`); other flags are returned unchanged. */
export function canonicalFlag(flag: string): string {
  return flag.startsWith('\\') ? (SYSTEM_FLAGS.get(flag.toUpperCase()) ?? flag) : flag;
}

export class Reader {
  readonly data: Buffer;
  pos = 0;
  /**
   * Set when a mailbox name was not valid modified UTF-7: the name is then taken as written (it is
   * still a valid astring, so this is not a syntax error). It names no mailbox, and CREATE/RENAME
   * refuse it with NO, as Dovecot does (RFC 3501 §5.1.3 only says names SHOULD be modified UTF-7).
   */
  invalidMailboxName: string | null = null;
  readonly #literals: Map<number, LiteralSpan> | null;

  constructor(input: AssembledCommand | Buffer) {
    if (Buffer.isBuffer(input)) {
      this.data = input;
      this.#literals = null;
    } else {
      this.data = input.data;
      this.#literals = new Map(input.literals.map((l) => [l.offset, l]));
    }
  }

  // ---- errors and position ----

  /** Throws an ImapSyntaxError; `message` is a complete phrase, the offset is appended. */
  fail(message: string, at = this.pos): never {
    throw new ImapSyntaxError(`${message} at offset ${at}`, at);
  }

  /** Throws "expected <what> at offset N, found ...". */
  expected(what: string, at = this.pos): never {
    throw new ImapSyntaxError(`expected ${what} at offset ${at}, found ${this.#describe(at)}`, at);
  }

  #describe(at: number): string {
    if (at >= this.data.length) return 'end of command';
    const c = this.data[at];
    if (c === SP) return 'SP';
    if (c === CR) return 'CR';
    if (c === LF) return 'LF';
    if (c < 0x20 || c >= 0x7f) return `byte 0x${c.toString(16).padStart(2, '0')}`;
    return `"${String.fromCharCode(c)}"`;
  }

  get atEnd(): boolean {
    return this.pos >= this.data.length;
  }

  /** The byte at pos+offset, or -1 past the end. */
  peek(offset = 0): number {
    const p = this.pos + offset;
    return p < this.data.length ? this.data[p] : -1;
  }

  /** Requires the end of the command (RFC 9051 §9: every command ends with CRLF). */
  end(): void {
    if (!this.atEnd) this.expected('end of command');
  }

  // ---- single bytes ----

  /** RFC 9051 §9: SP is exactly one space. */
  sp(context = ''): void {
    if (this.data[this.pos] !== SP) this.expected(context ? `SP ${context}` : 'SP');
    this.pos++;
  }

  trySp(): boolean {
    if (this.data[this.pos] !== SP) return false;
    this.pos++;
    return true;
  }

  byte(b: number, what: string): void {
    if (this.data[this.pos] !== b) this.expected(what);
    this.pos++;
  }

  tryByte(b: number): boolean {
    if (this.data[this.pos] !== b) return false;
    this.pos++;
    return true;
  }

  // ---- atoms and words ----

  /** RFC 9051 §9 `tag`. */
  tag(): string {
    const start = this.pos;
    while (this.pos < this.data.length && TAG_CHAR[this.data[this.pos]]) this.pos++;
    if (this.pos === start) this.expected('a tag (letters and digits, not "+" or "*")');
    // A tag followed by a character a tag may not have ("a{ NOOP") is not the tag "a": answering
    // "a BAD" could be taken as the answer to another command tagged "a". The caller answers * BAD.
    if (this.pos < this.data.length && this.data[this.pos] !== SP) {
      this.expected('a tag of letters and digits followed by a space (no "{", "%", "*", "(", quotes)');
    }
    return this.data.toString('latin1', start, this.pos);
  }

  /** RFC 9051 §9 `atom`, as written. */
  atom(what = 'an atom'): string {
    const start = this.pos;
    while (this.pos < this.data.length && ATOM_CHAR[this.data[this.pos]]) this.pos++;
    if (this.pos === start) this.expected(what);
    return this.data.toString('latin1', start, this.pos);
  }

  /** An atom, upper-cased: command names, keywords, options. */
  keyword(what = 'a keyword'): string {
    return this.atom(what).toUpperCase();
  }

  /**
   * Letters, digits, ".", "-" and "_", upper-cased: for names directly followed by `[` or `<` (fetch
   * attributes such as `BODY.PEEK[`, where `[` is an ATOM-CHAR).
   */
  name(what: string): string {
    const start = this.pos;
    for (;;) {
      const c = this.data[this.pos];
      const ok =
        c !== undefined &&
        ((c >= 0x41 && c <= 0x5a) ||
          (c >= 0x61 && c <= 0x7a) ||
          (c >= 0x30 && c <= 0x39) ||
          c === 0x2e ||
          c === 0x2d ||
          c === 0x5f);
      if (!ok) break;
      this.pos++;
    }
    if (this.pos === start) this.expected(what);
    return this.data.toString('latin1', start, this.pos).toUpperCase();
  }

  /** Consumes `word` (case-insensitive) if it is the next whole atom. */
  tryKeyword(word: string): boolean {
    const end = this.pos + word.length;
    if (end > this.data.length) return false;
    if (this.data.toString('latin1', this.pos, end).toUpperCase() !== word) return false;
    if (end < this.data.length && ATOM_CHAR[this.data[end]]) return false;
    this.pos = end;
    return true;
  }

  /** Whether `word` (case-insensitive) is the next whole atom, without consuming it. */
  atKeyword(word: string): boolean {
    const save = this.pos;
    const ok = this.tryKeyword(word);
    this.pos = save;
    return ok;
  }

  // ---- numbers ----

  #digits(what: string): [bigint, number] {
    const start = this.pos;
    let v = 0n;
    // Leading zeros do not make a number larger (`005` is 5): only the other digits are limited.
    let significant = 0;
    while (this.pos < this.data.length && this.data[this.pos] >= 0x30 && this.data[this.pos] <= 0x39) {
      if (significant > 0 || this.data[this.pos] !== 0x30) significant++;
      if (significant > 20) this.fail(`${what} is too large`, start);
      v = v * 10n + BigInt(this.data[this.pos] - 0x30);
      this.pos++;
    }
    if (this.pos === start) this.expected(what);
    return [v, start];
  }

  /** RFC 9051 §9 `number`: 0..4294967295. */
  number(what = 'a number'): number {
    const [v, start] = this.#digits(what);
    if (v > BigInt(MAX_NUMBER32)) this.fail(`${what} is larger than ${MAX_NUMBER32}`, start);
    return Number(v);
  }

  /** RFC 9051 §9 `nz-number`: 1..4294967295. */
  nzNumber(what = 'a non-zero number'): number {
    const start = this.pos;
    const v = this.number(what);
    if (v === 0) this.fail(`${what} must not be 0`, start);
    return v;
  }

  /** RFC 9051 §9 `number64`: 0..2^63-1. */
  number64(what = 'a number'): bigint {
    const [v, start] = this.#digits(what);
    if (v > MAX_NUMBER64) this.fail(`${what} is larger than 2^63-1`, start);
    return v;
  }

  /** RFC 9051 §9 `nz-number64`; also RFC 7162 §7 `mod-sequence-value`. */
  nzNumber64(what = 'a non-zero number'): bigint {
    const start = this.pos;
    const v = this.number64(what);
    if (v === 0n) this.fail(`${what} must not be 0`, start);
    return v;
  }

  // ---- strings ----

  /** RFC 9051 §4.3 quoted string: `\\` and `\"` are the only escapes; CR, LF and NUL are not allowed. */
  quoted(): Buffer {
    const start = this.pos;
    if (this.data[start] !== DQUOTE) this.expected('a quoted string');
    const d = this.data;
    let p = start + 1;
    let seg = p;
    let pieces: Buffer[] | null = null;
    for (;;) {
      if (p >= d.length) this.fail('unterminated quoted string (no closing ")', start);
      const c = d[p];
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        const next = d[p + 1];
        if (next !== DQUOTE && next !== BACKSLASH)
          this.fail('only \\ and " may follow a backslash in a quoted string', p);
        if (!pieces) pieces = [];
        pieces.push(d.subarray(seg, p));
        seg = p + 1;
        p += 2;
        continue;
      }
      // RFC 9051 §9: QUOTED-CHAR excludes CR and LF; CHAR8/UTF-8 exclude NUL.
      if (c === CR || c === LF || c === 0) this.fail('CR, LF and NUL are not allowed in a quoted string', p);
      p++;
    }
    this.pos = p + 1;
    if (!pieces) return d.subarray(seg, p);
    pieces.push(d.subarray(seg, p));
    return Buffer.concat(pieces);
  }

  /**
   * RFC 9051 §4.3 literal `{n}` / `{n+}` (RFC 7888) and, with `allowBinary`, literal8 `~{n}` (RFC 3516
   * §4.2). Non-binary literals may not contain NUL (RFC 9051 §9 `CHAR8`).
   */
  literal(allowBinary = false): { data: Buffer; binary: boolean } {
    const start = this.pos;
    const d = this.data;
    let p = start;
    const binary = d[p] === TILDE;
    if (binary) {
      if (!allowBinary) this.fail('a binary literal (~{n}) is only allowed for message data', start);
      p++;
    }
    if (d[p] !== LBRACE) this.expected('a literal', p);
    this.pos = p + 1;
    const [size64] = this.#digits('a literal octet count');
    if (size64 > MAX_NUMBER64) this.fail('literal octet count is larger than 2^63-1', start);
    this.tryByte(PLUS);
    this.byte(RBRACE, '"}" after the literal octet count');
    if (d[this.pos] !== CR || d[this.pos + 1] !== LF) this.fail('a literal announcement must end its line', this.pos);
    const at = this.pos + 2;
    const size = Number(size64);
    if (size64 > BigInt(d.length - at)) this.fail(`literal of ${size64} bytes is cut short`, start);
    if (this.#literals) {
      const span = this.#literals.get(at);
      if (!span || span.size !== size) this.fail('literal is not where the framing saw one', start);
    }
    const bytes = d.subarray(at, at + size);
    if (!binary) {
      const nul = bytes.indexOf(0);
      if (nul >= 0) this.fail('NUL in a literal (only a binary literal ~{n} may contain NUL)', at + nul);
    }
    this.pos = at + size;
    return { data: bytes, binary };
  }

  /** RFC 9051 §9 `string = quoted / literal`. */
  string(what = 'a string'): Buffer {
    const c = this.data[this.pos];
    if (c === DQUOTE) return this.quoted();
    if (c === LBRACE) return this.literal().data;
    if (c === TILDE && this.data[this.pos + 1] === LBRACE) return this.literal(false).data;
    return this.expected(`${what} ("quoted" or {literal})`);
  }

  /** RFC 9051 §9 `astring = 1*ASTRING-CHAR / string`. */
  astring(what = 'a string'): Buffer {
    const c = this.data[this.pos];
    if (c === DQUOTE || c === LBRACE || (c === TILDE && this.data[this.pos + 1] === LBRACE)) return this.string(what);
    const start = this.pos;
    while (this.pos < this.data.length && ASTRING_CHAR[this.data[this.pos]]) this.pos++;
    if (this.pos === start) this.expected(`${what} (atom, "quoted" or {literal})`);
    return this.data.subarray(start, this.pos);
  }

  /** An astring that is text: must be UTF-8. */
  astringText(what = 'a string'): string {
    const start = this.pos;
    return this.text(this.astring(what), what, start);
  }

  /** A string that is text: must be UTF-8. */
  stringText(what = 'a string'): string {
    const start = this.pos;
    return this.text(this.string(what), what, start);
  }

  /** Decodes bytes the grammar says are text; invalid UTF-8 is a syntax error. */
  text(bytes: Buffer, what: string, at: number): string {
    if (!isUtf8(bytes)) this.fail(`${what} is not valid UTF-8`, at);
    return bytes.toString('utf8');
  }

  /** Consumes `NIL` (case-insensitive) if it is the next whole atom. */
  tryNil(): boolean {
    const end = this.pos + 3;
    if (end > this.data.length) return false;
    if (this.data.toString('latin1', this.pos, end).toUpperCase() !== 'NIL') return false;
    if (end < this.data.length && ASTRING_CHAR[this.data[end]]) return false;
    this.pos = end;
    return true;
  }

  /** RFC 9051 §9 `nstring = string / nil`. */
  nstring(what = 'a string or NIL'): Buffer | null {
    return this.tryNil() ? null : this.string(what);
  }

  // ---- lists ----

  /** `"(" item *(SP item) ")"`; with `allowEmpty`, also `"()"`. */
  list<T>(item: () => T, opts: { allowEmpty?: boolean; what?: string } = {}): T[] {
    this.byte(LPAREN, `"(" to open ${opts.what ?? 'a list'}`);
    const out: T[] = [];
    if (this.tryByte(RPAREN)) {
      if (!opts.allowEmpty) this.fail(`${opts.what ?? 'the list'} must not be empty`, this.pos - 1);
      return out;
    }
    for (;;) {
      out.push(item());
      if (this.tryByte(RPAREN)) return out;
      if (this.data[this.pos] !== SP) this.expected(`SP or ")" in ${opts.what ?? 'a list'}`);
      this.pos++;
    }
  }

  /**
   * RFC 9051 §9 `flag`: a system flag (returned in canonical case), `\` atom (flag-extension) or a
   * keyword atom. `\*` only with `allowWildcard` (flag-perm, for PERMANENTFLAGS).
   */
  flag(opts: { allowWildcard?: boolean } = {}): string {
    const start = this.pos;
    if (this.tryByte(BACKSLASH)) {
      if (opts.allowWildcard && this.tryByte(STAR)) return '\\*';
      if (this.data[this.pos] === STAR) this.fail('"\\*" is not a flag', start);
      return canonicalFlag(`\\${this.atom('a flag name after "\\"')}`);
    }
    return this.atom('a flag');
  }

  /** RFC 9051 §9 `flag-list = "(" [flag *(SP flag)] ")"`. */
  flagList(): string[] {
    return this.list(() => this.flag(), { allowEmpty: true, what: 'the flag list' });
  }

  // ---- mailboxes ----

  /** RFC 9051 §9 `mailbox = "INBOX" / astring`, decoded (see the header comment). */
  mailbox(opts: { utf8: boolean }, what = 'a mailbox name'): string {
    const start = this.pos;
    const name = this.mailboxText(this.astring(what), opts.utf8, start);
    // RFC 9051 §5.1: INBOX is case-insensitive. ASCII-only comparison on purpose.
    return name.length === 5 && /^inbox$/i.test(name) ? 'INBOX' : name;
  }

  /** RFC 9051 §9 `list-mailbox = 1*list-char / string` (a LIST pattern), decoded like a mailbox. */
  listMailbox(opts: { utf8: boolean }): string {
    const start = this.pos;
    const c = this.data[this.pos];
    let raw: Buffer;
    if (c === DQUOTE || c === LBRACE) {
      raw = this.string('a mailbox pattern');
    } else {
      while (this.pos < this.data.length && LIST_CHAR[this.data[this.pos]]) this.pos++;
      if (this.pos === start) this.expected('a mailbox pattern');
      raw = this.data.subarray(start, this.pos);
    }
    return this.mailboxText(raw, opts.utf8, start);
  }

  /** Turns the bytes of a mailbox name into text: UTF-8 or modified UTF-7, no control characters. */
  mailboxText(raw: Buffer, utf8: boolean, at: number): string {
    let name: string;
    if (utf8) {
      // RFC 9051 §5.1 / RFC 6855 §3: names are UTF-8 and taken as written ("&" is just "&").
      if (!isUtf8(raw)) this.fail('mailbox name is not valid UTF-8', at);
      name = raw.toString('utf8');
    } else {
      for (const b of raw) {
        if (b >= 0x80) {
          this.fail(
            'mailbox name has 8-bit characters; use modified UTF-7 (RFC 3501 section 5.1.3) or ENABLE UTF8=ACCEPT',
            at,
          );
        }
      }
      const r = decodeModifiedUtf7(raw.toString('latin1'));
      if (r.ok) {
        name = r.name;
      } else {
        this.invalidMailboxName = `Mailbox name is not valid modified UTF-7 (${r.error}); see RFC 3501 section 5.1.3`;
        name = raw.toString('latin1');
      }
    }
    // RFC 9051 §5.1: names are Net-Unicode (RFC 5198): no C0 or C1 controls, no DEL.
    if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) this.fail('mailbox name contains a control character', at);
    return name;
  }

  // ---- dates ----

  #fixedDigits(n: number, what: string): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const c = this.data[this.pos];
      if (c === undefined || c < 0x30 || c > 0x39) this.expected(what);
      v = v * 10 + (c - 0x30);
      this.pos++;
    }
    return v;
  }

  #month(): number {
    const start = this.pos;
    if (start + 3 > this.data.length) this.expected('a month name (Jan..Dec)');
    const m = MONTH_INDEX.get(this.data.toString('latin1', start, start + 3).toUpperCase());
    if (!m) this.expected('a month name (Jan..Dec)');
    this.pos += 3;
    return m;
  }

  #checkDay(year: number, month: number, day: number, at: number): void {
    const days = new Date(Date.UTC(2000, month, 0)).getUTCDate();
    const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const max = month === 2 ? (leap ? 29 : 28) : days;
    if (day < 1 || day > max) this.fail(`day ${day} does not exist in ${MONTHS[month - 1]} ${year}`, at);
  }

  /** RFC 9051 §9 `date = date-text / DQUOTE date-text DQUOTE`, e.g. `1-Feb-1994`. */
  date(): ImapDate {
    const start = this.pos;
    const quoted = this.tryByte(DQUOTE);
    // date-day = 1*2DIGIT
    const d1 = this.#fixedDigits(1, 'a date like 1-Feb-2024');
    const c = this.data[this.pos];
    const day = c !== undefined && c >= 0x30 && c <= 0x39 ? d1 * 10 + this.#fixedDigits(1, 'a digit') : d1;
    this.byte(0x2d, '"-" after the day');
    const month = this.#month();
    this.byte(0x2d, '"-" after the month');
    const year = this.#fixedDigits(4, 'a four-digit year');
    if (quoted) this.byte(DQUOTE, 'closing DQUOTE after the date');
    this.#checkDay(year, month, day, start);
    return { year, month, day };
  }

  /**
   * RFC 9051 §9 `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`,
   * e.g. `"17-Jul-1996 02:44:25 -0700"`. A one-digit day without its leading space is tolerated.
   */
  dateTime(): ImapDateTime {
    const start = this.pos;
    this.byte(DQUOTE, 'a date-time like "01-Jan-2024 10:00:00 +0000"');
    let day: number;
    if (this.tryByte(SP)) {
      day = this.#fixedDigits(1, 'a digit of the day');
    } else {
      day = this.#fixedDigits(1, 'the day of the date-time');
      const c = this.data[this.pos];
      if (c !== undefined && c >= 0x30 && c <= 0x39) day = day * 10 + this.#fixedDigits(1, 'a digit');
    }
    this.byte(0x2d, '"-" after the day');
    const month = this.#month();
    this.byte(0x2d, '"-" after the month');
    const year = this.#fixedDigits(4, 'a four-digit year');
    this.sp('before the time');
    const hour = this.#fixedDigits(2, 'hours (HH:MM:SS)');
    this.byte(0x3a, '":" in the time');
    const minute = this.#fixedDigits(2, 'minutes (HH:MM:SS)');
    this.byte(0x3a, '":" in the time');
    const second = this.#fixedDigits(2, 'seconds (HH:MM:SS)');
    this.sp('before the zone');
    const sign = this.data[this.pos];
    if (sign !== PLUS && sign !== 0x2d) this.expected('a zone like +0000');
    this.pos++;
    const zh = this.#fixedDigits(2, 'zone hours');
    const zm = this.#fixedDigits(2, 'zone minutes');
    this.byte(DQUOTE, 'closing DQUOTE after the date-time');
    this.#checkDay(year, month, day, start);
    if (hour > 23 || minute > 59 || second > 60 || zm > 59) this.fail('time or zone out of range', start);
    const offsetMinutes = (sign === PLUS ? 1 : -1) * (zh * 60 + zm);
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day);
    date.setUTCHours(hour, minute, Math.min(second, 59), 0);
    return { date: new Date(date.getTime() - offsetMinutes * 60_000), offsetMinutes };
  }

  // ---- sequence sets ----

  /** RFC 9051 §9 `sequence-set`, with `$` (RFC 5182) unless disallowed. */
  sequenceSet(opts?: SeqScanOptions): SequenceSet {
    const r = scanSequenceSet(this.data, this.pos, opts);
    if (!r.ok) {
      if (r.offset === this.pos && r.error.startsWith('expected')) this.expected('a sequence set like 1:5,7,9:*');
      this.fail(r.error, r.offset);
    }
    this.pos = r.end;
    return r.set;
  }
}
