/**
 * The lexical grammar of RFC 5228 §8.1: identifiers, tags, numbers with K/M/G quantifiers, quoted
 * strings (`\\` and `\"`; any other backslash is dropped and the character after it kept, as
 * Pigeonhole does), multi-line `text:` strings with dot-stuffing, the punctuation `; , ( ) [ ] { }`,
 * and white space with `#` and bracket comments.
 *
 * Invariants:
 * - Linear in the input and total: every malformed input gives a `SieveSyntaxError` with the line and
 *   column where it went wrong and what was expected; nothing else is thrown.
 * - Line ends may be CRLF or a bare LF; inside strings both become CRLF (RFC 5228 §2.4.2 writes
 *   CRLF; Pigeonhole converts a bare LF the same way). A bare CR is an error.
 * - Columns count characters (UTF-16 code units of the source string), starting at 1.
 */

import type { Pos } from './ast.js';

export type TokenKind =
  | 'identifier'
  | 'tag'
  | 'number'
  | 'string'
  | ';'
  | ','
  | '('
  | ')'
  | '['
  | ']'
  | '{'
  | '}'
  | 'eof';

export interface Token {
  kind: TokenKind;
  pos: Pos;
  /** identifier/tag: the name lower-cased; string: the unescaped value. */
  text: string;
  /** number: the value with its quantifier applied. */
  value: number;
}

export class SieveSyntaxError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
  ) {
    super(message);
  }
}

/** Longest identifier or tag (Pigeonhole: SIEVE_MAX_IDENTIFIER_LEN). */
const MAX_IDENTIFIER = 128;

/** The largest number a script may write: 2^64 - 1, as Pigeonhole (sieve_number_t). */
const MAX_NUMBER = 2n ** 64n - 1n;

const QUANTIFIERS: Record<string, number> = { k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };

function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** A readable name for a character in an error message. */
export function describeChar(c: string | undefined): string {
  if (c === undefined) return 'the end of the script';
  if (c === '\n') return 'a line end';
  if (c === '\r') return 'a carriage return (CR)';
  if (c === '\0') return 'a NUL character';
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f)
    return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${c}'`;
}

export class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly src: string) {}

  private here(): Pos {
    return { line: this.line, column: this.pos - this.lineStart + 1 };
  }

  private error(message: string, at: Pos = this.here()): never {
    throw new SieveSyntaxError(message, at);
  }

  /** Steps over one character, keeping line and column. */
  private advance(): void {
    if (this.src[this.pos] === '\n') {
      this.line++;
      this.lineStart = this.pos + 1;
    }
    this.pos++;
  }

  /** Skips SP, HTAB, line ends and comments. */
  private skipWhitespace(): void {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === ' ' || c === '\t' || c === '\n') this.advance();
      else if (c === '\r') {
        if (s[this.pos + 1] !== '\n') this.error('a carriage return (CR) must be followed by a line feed (LF)');
        this.advance();
      } else if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else if (c === '/' && s[this.pos + 1] === '*') {
        const start = this.here();
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) this.error("the comment that starts here is not closed: expected '*/'", start);
        while (this.pos < end + 2) this.advance();
      } else return;
    }
  }

  next(): Token {
    this.skipWhitespace();
    const s = this.src;
    const pos = this.here();
    const c = s[this.pos];
    const token = (kind: TokenKind, text = '', value = 0): Token => ({ kind, pos, text, value });
    if (c === undefined) return token('eof');
    switch (c) {
      case ';':
      case ',':
      case '(':
      case ')':
      case '[':
      case ']':
      case '{':
      case '}':
        this.pos++;
        return token(c);
      case '"':
        return token('string', this.quoted(pos));
    }
    if (isDigit(c)) return this.number(pos);
    if (c === ':') {
      this.pos++;
      const first = s[this.pos];
      if (first === undefined || !(isAlpha(first) || first === '_'))
        this.error(`expected a tag name after ':' (a letter or '_'), found ${describeChar(first)}`);
      return token('tag', this.identifier());
    }
    if (isAlpha(c) || c === '_') {
      const name = this.identifier();
      if (name === 'text' && s[this.pos] === ':') {
        this.pos++;
        return token('string', this.multiline(pos));
      }
      return token('identifier', name);
    }
    if (c === '/' && s[this.pos + 1] !== '*') this.error("unexpected '/': a comment starts with '/*'");
    return this.error(
      `unexpected ${describeChar(c)}: expected a command, a test, a string, a number, a tag or one of ; , ( ) [ ] { }`,
    );
  }

  private identifier(): string {
    const s = this.src;
    const start = this.pos;
    const pos = this.here();
    while (this.pos < s.length && (isAlpha(s[this.pos]) || isDigit(s[this.pos]) || s[this.pos] === '_')) this.pos++;
    if (this.pos - start > MAX_IDENTIFIER)
      this.error(`the identifier is longer than ${MAX_IDENTIFIER} characters`, { ...pos, column: pos.column });
    return s.slice(start, this.pos).toLowerCase();
  }

  private number(pos: Pos): Token {
    const s = this.src;
    const start = this.pos;
    while (this.pos < s.length && isDigit(s[this.pos])) this.pos++;
    const digits = s.slice(start, this.pos);
    let value = digits.length > 25 ? MAX_NUMBER + 1n : BigInt(digits);
    const q = s[this.pos]?.toLowerCase();
    if (q !== undefined && Object.hasOwn(QUANTIFIERS, q)) {
      value *= BigInt(QUANTIFIERS[q]);
      this.pos++;
    }
    const after = s[this.pos];
    if (after !== undefined && (isAlpha(after) || after === '_'))
      this.error(`unexpected ${describeChar(after)} after the number: a number may end with K, M or G only`);
    if (value > MAX_NUMBER) this.error(`the number is too large (the largest is ${MAX_NUMBER})`, pos);
    // Numbers beyond 2^53 lose nothing that matters here (sizes, days, seconds, indexes): they saturate.
    const n = value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
    return { kind: 'number', pos, text: s.slice(start, this.pos), value: n };
  }

  /** quoted-string (RFC 5228 §2.4.2): `\` quotes the next character; line ends become CRLF. */
  private quoted(start: Pos): string {
    const s = this.src;
    this.pos++;
    let out = '';
    let chunk = this.pos;
    for (;;) {
      const c = s[this.pos];
      if (c === undefined)
        this.error(
          `the quoted string that starts at line ${start.line}, column ${start.column} is not closed: expected '"'`,
          start,
        );
      if (c === '"') {
        out += s.slice(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c === '\\' || c === '\n' || c === '\r' || c === '\0') {
        out += s.slice(chunk, this.pos);
        if (c === '\\') {
          this.pos++;
          chunk = this.pos;
          const e = s[this.pos];
          // At the end the string is reported as unclosed; a line end after '\' is read as a line end.
          if (e === undefined || e === '\n' || e === '\r' || e === '\0') continue;
          out += e;
          this.pos++;
        } else if (c === '\0') {
          this.error('a NUL character is not allowed in a string');
        } else {
          if (c === '\r' && s[this.pos + 1] !== '\n')
            this.error('a carriage return (CR) must be followed by a line feed (LF)');
          if (c === '\r') this.pos++;
          this.advance();
          out += '\r\n';
        }
        chunk = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  /**
   * multi-line = "text:" *(SP / HTAB) (hash-comment / CRLF) *(multiline-literal / multiline-dotstart)
   * "." CRLF (RFC 5228 §8.1): each line up to the lone ".", a leading ".." read as ".".
   */
  private multiline(start: Pos): string {
    const s = this.src;
    while (s[this.pos] === ' ' || s[this.pos] === '\t') this.pos++;
    if (s[this.pos] === '#') {
      while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
    } else if (s[this.pos] === '\r' && s[this.pos + 1] === '\n') {
      this.pos++;
    }
    if (s[this.pos] !== '\n')
      this.error(`expected a line end (or a # comment) after 'text:', found ${describeChar(s[this.pos])}`);
    this.advance();
    const lines: string[] = [];
    for (;;) {
      if (this.pos >= s.length)
        this.error(
          `the multi-line string that starts at line ${start.line}, column ${start.column} is not closed: expected a line with only '.'`,
          start,
        );
      let lf = s.indexOf('\n', this.pos);
      if (lf < 0) lf = s.length;
      let end = lf;
      if (end > this.pos && s[end - 1] === '\r') end--;
      let line = s.slice(this.pos, end);
      const cr = line.indexOf('\r');
      if (cr >= 0)
        this.error('a carriage return (CR) must be followed by a line feed (LF)', {
          line: this.line,
          column: this.pos - this.lineStart + cr + 1,
        });
      const nul = line.indexOf('\0');
      if (nul >= 0)
        this.error('a NUL character is not allowed in a string', {
          line: this.line,
          column: this.pos - this.lineStart + nul + 1,
        });
      if (line === '.') {
        if (lf >= s.length) this.error("expected a line end after the '.' that ends the multi-line string");
        this.pos = lf;
        this.advance();
        return lines.map((l) => `${l}\r\n`).join('');
      }
      if (line.startsWith('.')) line = line.startsWith('..') ? line.slice(1) : line; // dot-stuffing
      if (lf >= s.length)
        this.error(
          `the multi-line string that starts at line ${start.line}, column ${start.column} is not closed: expected a line with only '.'`,
          start,
        );
      lines.push(line);
      this.pos = lf;
      this.advance();
    }
  }
}
