/**
 * Grammar pieces several commands share (RFC 9051 §9). The lexer is src/imap/wire/reader.ts; each
 * command's own grammar is its `parse` in its file; search keys are in search-grammar.ts, FETCH items in
 * fetch-items.ts. Like the Reader, these throw only ImapSyntaxError.
 */
import type { ParseContext } from '../wire/commands.js';
import type { Reader } from '../wire/reader.js';

export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const DQUOTE = 0x22;
export const LBRACE = 0x7b;
export const TILDE = 0x7e;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const LT = 0x3c;
export const GT = 0x3e;
export const DOT = 0x2e;
export const MINUS = 0x2d;
export const COLON = 0x3a;
export const PLUS = 0x2b;
export const SP = 0x20;

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The grammar of a command without arguments. */
export function noArgs<N extends string>(name: N): (ctx: ParseContext) => { name: N } {
  return () => ({ name });
}

/** `SP mailbox` (RFC 9051 §9), decoded. */
export function mailboxArg(ctx: ParseContext): string {
  ctx.r.sp('before the mailbox name');
  return ctx.r.mailbox(ctx);
}

/** RFC 9051 §9 `header-fld-name = astring`, restricted to RFC 5322 §3.6.8 field-name characters. */
export function headerFieldName(r: Reader): string {
  const at = r.pos;
  const name = r.astring('a header field name').toString('latin1');
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
    r.fail('a header field name is printable ASCII without ":" (RFC 5322 section 3.6.8)', at);
  }
  return name;
}

/** RFC 9394 §3 `partial-range`: `1:100` from the first match, `-1:-100` counting from the last. */
export interface PartialRange {
  fromEnd: boolean;
  /** 1-based, lo <= hi. */
  lo: number;
  hi: number;
}

/**
 * RFC 9394 §6: `partial-range = partial-range-first / partial-range-last`;
 * `partial-range-first = nz-number ":" nz-number`; `partial-range-last = MINUS nz-number ":" MINUS nz-number`.
 * "500:400" is the same as "400:500".
 */
export function partialRange(r: Reader): PartialRange {
  const fromEnd = r.tryByte(MINUS);
  const a = r.nzNumber('the first position of the PARTIAL range');
  r.byte(COLON, '":" in the PARTIAL range');
  if (fromEnd) r.byte(MINUS, '"-" (both ends of the range count from the end)');
  const b = r.nzNumber('the last position of the PARTIAL range');
  return { fromEnd, lo: Math.min(a, b), hi: Math.max(a, b) };
}
