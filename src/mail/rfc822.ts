/**
 * An RFC 5322 / RFC 2045 token reader over one unfolded header value (a JS string), and the parameter
 * parser built on it (RFC 2045 §5.1 with RFC 2231 continuations).
 *
 * Invariants:
 * - It never throws and never loops without progress: every function either consumes input or
 *   returns. Results follow Dovecot's lib-mail (rfc822-parser.c, rfc2231-parser.c) byte for byte,
 *   because Dovecot is the reference peer for BODYSTRUCTURE and ENVELOPE: where the input is broken,
 *   we recover the same way it does.
 * - Status codes are Dovecot's: 1 = more input follows, 0 = end of input, -1 = syntax error.
 * - Output accumulates in `str` (like Dovecot's `string_t` argument); callers reset it.
 * - Characters >= 0x80 (UTF-8 text, RFC 6532) count as atext.
 */

/** 1 = atext, 2 = ALPHA/DIGIT (and 8-bit), 4 = atext that is a MIME tspecial ('/', '=', '?'). */
const CLASS = charClasses();

function charClasses(): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 2;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 2;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 2;
  for (const ch of "!#$%&'*+-^_`{|}~") t[ch.charCodeAt(0)] = 1;
  for (const ch of '/=?') t[ch.charCodeAt(0)] = 4;
  return t;
}

/** RFC 5322 atext. */
export function isAtext(c: number): boolean {
  return c >= 128 || CLASS[c] !== 0;
}

/** RFC 2045 token character (atext minus tspecials), plus '.' (Dovecot accepts it in tokens). */
function isTokenChar(c: number): boolean {
  return c >= 128 || (CLASS[c] & 3) !== 0 || c === DOT;
}

const SP = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
const DQUOTE = 0x22;
const LPAREN = 0x28;
const RPAREN = 0x29;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const SLASH = 0x2f;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

export class Rfc822Reader {
  pos = 0;
  readonly end: number;
  /** Output of the last token functions. */
  str = '';
  /** The result of `parseContentParam`. */
  param: [string, string] | null = null;
  /** When not null, the text of the last comment skipped (Dovecot's `last_comment`). */
  lastComment: string | null;

  constructor(
    readonly data: string,
    collectComments = false,
  ) {
    this.end = data.length;
    this.lastComment = collectComments ? '' : null;
  }

  /** The current character code; only valid while pos < end. */
  cur(): number {
    return this.data.charCodeAt(this.pos);
  }

  skipComment(): number {
    const d = this.data;
    let level = 1;
    if (this.lastComment !== null) this.lastComment = '';
    let start = ++this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = d.charCodeAt(this.pos);
      if (c === LPAREN) level++;
      else if (c === RPAREN) {
        if (--level === 0) {
          if (this.lastComment !== null) this.lastComment += d.slice(start, this.pos);
          this.pos++;
          return this.pos < this.end ? 1 : 0;
        }
      } else if (c === LF) {
        // folding whitespace: drop the (CR)LF
        if (this.lastComment !== null) {
          let stop = this.pos;
          if (stop > start && d.charCodeAt(stop - 1) === CR) stop--;
          this.lastComment += d.slice(start, stop);
          start = this.pos + 1;
        }
      } else if (c === BACKSLASH) {
        this.pos++;
        if (this.pos >= this.end) return -1;
        const q = d.charCodeAt(this.pos);
        if (q === CR || q === LF || q === NUL) {
          this.pos--; // not a quoted-pair; keep the backslash
        } else {
          if (this.lastComment !== null) this.lastComment += d.slice(start, this.pos - 1);
          start = this.pos;
        }
      }
    }
    return -1; // missing ')'
  }

  /** Skips whitespace and comments (CFWS). */
  skipLwsp(): number {
    const d = this.data;
    while (this.pos < this.end) {
      const c = d.charCodeAt(this.pos);
      if (c === SP || c === TAB || c === CR || c === LF) {
        this.pos++;
        continue;
      }
      if (c !== LPAREN) break;
      if (this.skipComment() < 0) return -1;
    }
    return this.pos < this.end ? 1 : 0;
  }

  parseAtom(): number {
    if (this.pos >= this.end || !isAtext(this.cur())) return -1;
    const start = this.pos++;
    while (this.pos < this.end && isAtext(this.cur())) this.pos++;
    this.str += this.data.slice(start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** dot-atom, allowing CFWS around the dots (RFC 822 compatibility). */
  parseDotAtom(): number {
    if (this.pos >= this.end || !isAtext(this.cur())) return -1;
    let start = this.pos++;
    while (this.pos < this.end) {
      if (isAtext(this.cur())) {
        this.pos++;
        continue;
      }
      if (start === this.pos) return -1;
      this.str += this.data.slice(start, this.pos);
      const ret = this.skipLwsp();
      if (ret <= 0) return ret;
      if (this.cur() !== DOT) return 1;
      this.pos++;
      this.str += '.';
      if (this.skipLwsp() <= 0) return -1;
      start = this.pos;
    }
    this.str += this.data.slice(start, this.pos);
    return 0;
  }

  /** RFC 2045 token; may be empty. */
  parseMimeToken(): number {
    const start = this.pos;
    while (this.pos < this.end && isTokenChar(this.cur())) this.pos++;
    this.str += this.data.slice(start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** At '"': appends the unquoted content; folding line breaks are dropped. */
  parseQuotedString(): number {
    const d = this.data;
    let start = ++this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = d.charCodeAt(this.pos);
      if (c === DQUOTE) {
        this.str += d.slice(start, this.pos);
        this.pos++;
        return this.skipLwsp();
      }
      if (c === LF) {
        let stop = this.pos;
        if (stop > start && d.charCodeAt(stop - 1) === CR) stop--;
        this.str += d.slice(start, stop);
        start = this.pos + 1;
      } else if (c === BACKSLASH) {
        this.pos++;
        if (this.pos >= this.end) return -1;
        const q = d.charCodeAt(this.pos);
        if (q === CR || q === LF || q === NUL) {
          this.pos--;
        } else {
          this.str += d.slice(start, this.pos - 1);
          start = this.pos;
        }
      }
    }
    return -1; // missing '"'
  }

  private parseAtomOrDot(): number {
    const start = this.pos;
    while (this.pos < this.end && (isAtext(this.cur()) || this.cur() === DOT)) this.pos++;
    this.str += this.data.slice(start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** phrase / obs-phrase: words joined with one space. */
  parsePhrase(): number {
    if (this.pos >= this.end) return 0;
    if (this.cur() === DOT) return -1;
    for (;;) {
      const ret = this.cur() === DQUOTE ? this.parseQuotedString() : this.parseAtomOrDot();
      if (ret <= 0) return ret;
      const c = this.cur();
      if (!isAtext(c) && c !== DQUOTE && c !== DOT) break;
      this.str += ' ';
    }
    return this.skipLwsp();
  }

  private parseDomainLiteral(): number {
    const d = this.data;
    let start = this.pos++;
    for (; this.pos < this.end; this.pos++) {
      const c = d.charCodeAt(this.pos);
      if (c === LBRACKET) return -1;
      if (c === RBRACKET) {
        this.str += d.slice(start, this.pos + 1);
        this.pos++;
        return this.skipLwsp();
      }
      if (c === LF) {
        let stop = this.pos;
        if (stop > start && d.charCodeAt(stop - 1) === CR) stop--;
        this.str += d.slice(start, stop);
        start = this.pos + 1;
      } else if (c === BACKSLASH) {
        // the backslash is kept in the output
        this.pos++;
        if (this.pos >= this.end) return -1;
        const q = d.charCodeAt(this.pos);
        if (q === CR || q === LF || q === NUL) {
          this.str += d.slice(start, this.pos);
          start = this.pos;
          this.pos--;
        }
      }
    }
    return -1;
  }

  /** At '@': domain = dot-atom / domain-literal / obs-domain. */
  parseDomain(): number {
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    return this.cur() === LBRACKET ? this.parseDomainLiteral() : this.parseDotAtom();
  }

  /**
   * "type/subtype" into `str`. On a syntax error `str` keeps what Dovecot keeps: the bare type when
   * the value ends after it, otherwise nothing.
   */
  parseContentType(): number {
    this.str = '';
    if (this.skipLwsp() <= 0) return -1;
    if (this.parseMimeToken() <= 0 || this.str.length === 0) return -1;
    if (this.cur() !== SLASH) {
      this.str = '';
      return -1;
    }
    this.pos++;
    if (this.skipLwsp() <= 0) {
      this.str = '';
      return -1;
    }
    this.str += '/';
    const subStart = this.str.length;
    const ret = this.parseMimeToken();
    if (ret < 0 || this.str.length === subStart || (this.pos < this.end && this.cur() !== SEMI)) {
      this.str = '';
      return -1;
    }
    return ret;
  }

  /** `; attribute = value`. Returns 0 at the end, -1 on a syntax error, 1 with `[key, value]` in `param`. */
  parseContentParam(): number {
    this.param = null;
    if (this.pos >= this.end) return 0;
    if (this.cur() !== SEMI) return -1;
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    this.str = '';
    if (this.parseMimeToken() <= 0) return -1;
    const key = this.str;
    if (this.cur() !== EQUALS) return -1;
    this.pos++;
    this.str = '';
    let ret = this.skipLwsp();
    if (ret <= 0) {
      // no value
    } else if (this.cur() === DQUOTE) {
      ret = this.parseQuotedString();
    } else if (this.cur() === EQUALS) {
      // broken input seen in the wild: name==?utf-8?b?...?=
      const start = this.pos;
      while (this.pos < this.end) {
        const c = this.cur();
        if (c === SEMI || c === SP || c === TAB || c === CR || c === LF) break;
        this.pos++;
      }
      this.str = this.data.slice(start, this.pos);
    } else {
      ret = this.parseMimeToken();
    }
    this.param = [key, this.str];
    return ret < 0 ? -1 : 1;
  }

  /**
   * All parameters after the value (RFC 2045 §5.1), with RFC 2231 continuations merged: `name*0`,
   * `name*1`… become `name`; when any section is extended (`name*0*`), the result is `name*` holding
   * `charset'language'percent-encoded-value` (unencoded sections get their `%` escaped). Plain
   * parameters come first, in order, then the merged ones sorted by name. Sections with missing
   * numbers are kept as they were. RFC 9051 §7.5.2 asks servers to merge continuations; the
   * charset decoding is left to `decodeParamValue` (what Dovecot sends is still encoded).
   */
  parseParams(): Array<[string, string]> {
    const result: Array<[string, string]> = [];
    const sections: Array<{ key: string; value: string; idx: number; extended: boolean }> = [];
    let idx = 0; // carried over between parameters, as in Dovecot
    for (;;) {
      const ret = this.parseContentParam();
      if (ret === 0) break;
      if (ret < 0) {
        // skip to the next ';' and try again
        if (this.pos >= this.end) break;
        this.pos++;
        continue;
      }
      const [key, value] = this.param!;
      const star = key.indexOf('*');
      if (star < 0) {
        result.push([key, value]);
        continue;
      }
      let p = star;
      if (p + 1 < key.length) {
        p++;
        idx = 0;
        while (p < key.length && key.charCodeAt(p) >= 0x30 && key.charCodeAt(p) <= 0x39) {
          idx = idx * 10 + key.charCodeAt(p) - 0x30;
          p++;
        }
      }
      let extended = false;
      if (key[p] === '*') {
        extended = true;
        p++;
      }
      if (p !== key.length) result.push([key, value]);
      else sections.push({ key: key.slice(0, star), value, idx, extended });
    }
    if (sections.length === 0) return result;

    sections.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.idx - b.idx));
    for (let i = 0; i < sections.length; ) {
      const first = sections[i];
      const lower = first.key.toLowerCase();
      let ok = true;
      let haveExtended = false;
      let j = i;
      for (let next = 0; j < sections.length && sections[j].key.toLowerCase() === lower; j++, next++) {
        if (sections[j].idx !== next) ok = false;
        if (sections[j].extended) haveExtended = true;
      }
      if (!ok) {
        for (let k = i; k < j; k++) {
          const s = sections[k];
          result.push([`${s.key}*${s.idx}${s.extended ? '*' : ''}`, s.value]);
        }
      } else {
        let value = !first.extended && haveExtended ? "''" : '';
        for (let k = i; k < j; k++) {
          const s = sections[k];
          value += !s.extended && haveExtended ? s.value.replace(/%/g, '%25') : s.value;
        }
        result.push([haveExtended ? `${first.key}*` : first.key, value]);
      }
      i = j;
    }
    return result;
  }
}
