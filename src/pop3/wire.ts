/**
 * POP3 wire format (RFC 1939 §3, RFC 2449 §4): command lines in, status lines and multi-line
 * responses out, response codes (RFC 2449 §8, RFC 3206), and the UIDL value.
 *
 * Invariants:
 * - A command is a keyword and arguments separated by spaces; keywords are case-insensitive.
 * - Every status line starts with `+OK` or `-ERR`; a response code, when present, is the first word
 *   after `-ERR`, in brackets (RFC 2449 §8). A status line is one line: control characters in its text
 *   (echoed client input) are replaced by '?'.
 * - Multi-line responses end with a line holding a single `.`; lines that start with `.` are stuffed
 *   with another `.` (RFC 1939 §3). Message bodies are stuffed in body.ts, on Buffers.
 */

/** Longest accepted command line with its CRLF (RFC 2449 §4 says 255; we allow clients some slack). */
export const MAX_COMMAND_LINE = 512;
/** Longest argument: RFC 1939 §3 says 40 characters; RFC 2449 §4 raises it to 255 octets. */
export const MAX_ARGUMENT = 40;
export const MAX_LONG_ARGUMENT = 255;

/**
 * Response codes: RFC 2449 §8.1 (IN-USE, LOGIN-DELAY), RFC 3206 (SYS/TEMP, SYS/PERM, AUTH), and
 * PRIVACY, ours (not registered), for "this needs TLS first" — clients treat unknown codes as none.
 */
export type RespCode = 'IN-USE' | 'LOGIN-DELAY' | 'SYS/TEMP' | 'SYS/PERM' | 'AUTH' | 'PRIVACY';

/** Control characters a status line may not carry (echoed client input: a bare CR, NUL); they become '?'. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

export function ok(text: string): string {
  return text ? `+OK ${text.replace(CONTROL, '?')}` : '+OK';
}

export function err(text: string, code?: RespCode): string {
  const clean = text.replace(CONTROL, '?');
  return code ? `-ERR [${code}] ${clean}` : `-ERR ${clean}`;
}

export interface CommandLine {
  /** Upper-cased keyword. */
  verb: string;
  /** Space-separated arguments (runs of spaces or tabs count as one separator). */
  args: string[];
  /** Everything after the single space that ends the keyword, unchanged (PASS passwords may hold spaces). */
  rest: string;
}

export function parseCommandLine(line: string): CommandLine {
  const sp = line.search(/[ \t]/);
  const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
  const rest = sp < 0 ? '' : line.slice(sp + 1);
  const trimmed = rest.trim();
  return { verb, args: trimmed ? trimmed.split(/[ \t]+/) : [], rest };
}

/** A keyword or argument as it may be echoed back: control characters replaced, shortened. */
export function printable(text: string, max = 40): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** A message number or line count: decimal digits only, no sign. */
export function parseNumber(text: string): number | null {
  if (!/^[0-9]{1,10}$/.test(text)) return null;
  return Number(text);
}

/**
 * TOP's number of lines (RFC 1939 §7: a non-negative number): any length of digits; a count beyond
 * what a message can have is as good as the whole message, so it is capped, not refused.
 */
export function parseLineCount(text: string): number | null {
  if (!/^[0-9]{1,200}$/.test(text)) return null;
  return Math.min(Number(text), Number.MAX_SAFE_INTEGER);
}

/**
 * The unique-id of a message (RFC 1939 §7 UIDL): UID and UIDVALIDITY as 8 upper-case hex digits each,
 * as Dovecot's default `%08Xu%08Xv`. It is stable for as long as the message exists, across sessions
 * and restarts, and never reused (UIDs are not reused within a UIDVALIDITY).
 */
export function uidl(uid: number, uidValidity: number): string {
  return `${hex8(uid)}${hex8(uidValidity)}`;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** A multi-line response's text line, dot-stuffed (RFC 1939 §3). */
export function stuffLine(line: string): string {
  return line.startsWith('.') ? `.${line}` : line;
}
