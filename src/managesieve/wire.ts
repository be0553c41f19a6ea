/**
 * ManageSieve wire format (RFC 5804 §4): commands in, responses out.
 *
 * A command is an atom (its name, any case) and arguments separated by spaces: atoms (numbers, e.g.
 * HAVESPACE's size) and strings. A string is quoted (`"…"`, with `\"` and `\\` the only escapes, at
 * most 1024 octets, RFC 5804 §4) or a literal: `{N+}` (`literal-c2s`) at the end of a line, then
 * exactly N octets, after which the command continues on the same logical line. ManageSieve has no
 * continuation request: RFC 5804 only defines the non-synchronizing `{N+}` from client to server. A
 * synchronizing `{N}` from a client is taken the same way (its bytes follow at once), as Pigeonhole
 * takes it, so an old client that sends one is not left waiting for a `+` that never comes.
 *
 * Invariants:
 * - Memory per command is bounded before any byte is read: a line is at most `MAX_LINE` octets, a
 *   literal at most what its argument allows (`literalLimit`: the script size limit for scripts, a
 *   SASL response's for AUTHENTICATE, `MAX_QUOTED` for names), a command at most `MAX_LITERALS`
 *   literals. A literal over its limit but under `discardLimit` is read and dropped (its bytes are on
 *   their way whatever we answer, and must not be read as commands); a larger one, or a line too long
 *   to find its end, is `fatal`: the session says BYE and closes.
 * - Strings are UTF-8 (RFC 5804 §4: SAFE-UTF8-CHAR); invalid UTF-8 or a NUL is a syntax error.
 * - Every line read is reported to the trace once, with the arguments `redactFrom` names replaced by
 *   `<redacted>` (AUTHENTICATE's initial response) and literal bytes shown as their lines, or as
 *   `<n bytes>` when secret or dropped (the lab's annotator counts literal lines against `{n+}`).
 * - Responses: `OK` / `NO` / `BYE`, an optional response code in parentheses and an optional string
 *   (RFC 5804 §4 `response-oknobye`); strings go quoted when they can, else as a literal `{N}`.
 */
import type { BytesResult, Connection, ReadResult, ShutdownResult } from '../net/connection.js';

/** Longest command line with its CRLF (literals are counted apart). */
export const MAX_LINE = 8192;
/** RFC 5804 §4: a quoted string holds at most 1024 octets; names and other short strings alike. */
export const MAX_QUOTED = 1024;
/** Literals in one command: two arguments at most in every command, with room for a careless client. */
export const MAX_LITERALS = 4;

/** RFC 5804 §1.3 response codes (and TAG/SASL with their string, built by `response`). */
export type RespCode =
  | 'AUTH-TOO-WEAK'
  | 'ENCRYPT-NEEDED'
  | 'QUOTA'
  | 'QUOTA/MAXSCRIPTS'
  | 'QUOTA/MAXSIZE'
  | 'TRYLATER'
  | 'ACTIVE'
  | 'NONEXISTENT'
  | 'ALREADYEXISTS'
  | 'WARNINGS'
  | { tag: string }
  | { sasl: string };

export type Arg =
  | { kind: 'atom'; value: string }
  /** A quoted string or a literal, decoded from UTF-8; `size` in octets. */
  | { kind: 'string'; value: string; literal: boolean; size: number };

/** Whether `s` may go as a quoted string (RFC 5804 §4: no CR, LF or NUL, at most 1024 octets). */
function quotable(s: string): boolean {
  return !/[\r\n\0]/.test(s) && Buffer.byteLength(s) <= MAX_QUOTED;
}

/** A string as the server sends it: quoted, or a literal `{N}` CRLF bytes (`literal-s2c`). */
export function encodeString(s: string): string {
  if (quotable(s)) return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}

function encodeCode(code: RespCode): string {
  if (typeof code === 'string') return code;
  if ('tag' in code) return `TAG ${encodeString(code.tag)}`;
  return `SASL ${encodeString(code.sasl)}`;
}

/** A response line (without the final CRLF; it may hold a literal and so CRLFs). */
export function response(kind: 'OK' | 'NO' | 'BYE', code?: RespCode | null, text?: string | null): string {
  let line: string = kind;
  if (code) line += ` (${encodeCode(code)})`;
  if (text !== undefined && text !== null && text !== '') line += ` ${encodeString(text)}`;
  return line;
}

/** What the session needs to know about a command while it is read. */
export interface CommandShape {
  /** The largest literal accepted as argument `index` (0-based) of command `name` (upper case). */
  literalLimit(name: string, index: number): number;
  /**
   * From which argument on the command's arguments are secret (traced as `<redacted>`), or null; 0
   * hides the whole command, its name too.
   */
  redactFrom(name: string): number | null;
}

export type CommandRead =
  | { kind: 'command'; name: string; args: Arg[] }
  /** The command is consumed but cannot run: answer NO with `message`. */
  | { kind: 'syntax'; name: string; message: string }
  /** Argument `index` was a literal of `size` octets, over its limit; it was read and dropped. */
  | { kind: 'too-big'; name: string; index: number; size: number; limit: number }
  /** The input cannot be framed any further: say BYE with `message` and close. */
  | { kind: 'fatal'; message: string }
  | { kind: 'empty' }
  | { kind: 'eof' }
  | { kind: 'timeout' }
  | { kind: 'shutdown' };

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 without NUL, or null. */
export function utf8(bytes: Uint8Array): string | null {
  try {
    const s = UTF8.decode(bytes);
    return s.includes('\0') ? null : s;
  } catch {
    return null;
  }
}

const SP = 0x20;
const DQUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;

/** A literal announcement ending the line: `{N}` or `{N+}` with N of at most 15 digits. */
const LITERAL_END = /\{0*(\d{1,15})(\+?)\}$/;
/** An announcement whose count cannot be read (too many digits): its bytes would follow as commands. */
const HUGE_LITERAL_END = /\{0*[1-9]\d{15,}\+?\}$/;

/** One line's tokens: arguments with the span of each in the line, or a syntax error. */
interface LineTokens {
  args: { arg: Arg; from: number; to: number }[];
  /** A literal announced at the end of the line, and where its `{` is. */
  literal: { size: number; at: number } | null;
  error: string | null;
}

/** Splits `line` (without its CRLF) from `pos` into arguments (RFC 5804 §4 `string` / atom). */
export function tokenize(line: Buffer, pos: number): LineTokens {
  const out: LineTokens = { args: [], literal: null, error: null };
  let i = pos;
  const n = line.length;
  while (i < n) {
    if (line[i] === SP) {
      i++;
      continue;
    }
    const from = i;
    if (line[i] === DQUOTE) {
      const bytes: number[] = [];
      i++;
      let closed = false;
      while (i < n) {
        const c = line[i];
        if (c === DQUOTE) {
          closed = true;
          i++;
          break;
        }
        if (c === BACKSLASH) {
          const next = line[i + 1];
          if (next !== DQUOTE && next !== BACKSLASH) {
            out.error = 'in a quoted string only \\" and \\\\ may follow a backslash (RFC 5804 section 4)';
            return out;
          }
          bytes.push(next);
          i += 2;
          continue;
        }
        if (c === CR || c === LF) {
          // RFC 5804 §4: QUOTED-CHAR is any TEXT-CHAR, i.e. no CR or LF; a line break needs a literal.
          out.error = 'a quoted string may not hold CR or LF (RFC 5804 section 4); send a literal {N+} instead';
          return out;
        }
        bytes.push(c);
        i++;
      }
      if (!closed) {
        out.error = 'a quoted string is not closed with "';
        return out;
      }
      if (bytes.length > MAX_QUOTED) {
        out.error = `a quoted string may hold ${MAX_QUOTED} octets at most (RFC 5804 section 4); send a literal {N+} instead`;
        return out;
      }
      const value = utf8(Buffer.from(bytes));
      if (value === null) {
        out.error = 'a string is not valid UTF-8 (or holds a NUL)';
        return out;
      }
      out.args.push({ arg: { kind: 'string', value, literal: false, size: bytes.length }, from, to: i });
      continue;
    }
    if (line[i] === LBRACE) {
      const m = LITERAL_END.exec(line.subarray(i).toString('latin1'));
      if (m?.index !== 0) {
        out.error = 'a literal is announced as {N+} at the end of a line';
        return out;
      }
      out.literal = { size: Number(m[1]), at: i };
      return out;
    }
    let j = i;
    while (j < n && line[j] !== SP) {
      const c = line[j];
      // RFC 5804 §4 ATOM-SPECIALS: "(" / ")" / "{" / SP / CTL / QUOTED-SPECIALS
      if (c < 0x21 || c === 0x7f || c === 0x28 || c === 0x29 || c === LBRACE || c === DQUOTE || c === BACKSLASH) {
        out.error = `unexpected character "${c < 0x21 || c >= 0x7f ? '?' : String.fromCharCode(c)}" in an atom`;
        return out;
      }
      if (c >= 0x80) {
        out.error = 'an atom holds ASCII only; send text as a quoted string';
        return out;
      }
      j++;
    }
    out.args.push({ arg: { kind: 'atom', value: line.subarray(i, j).toString('latin1') }, from, to: j });
    i = j;
  }
  return out;
}

/** The command's name: the atom that starts the line, upper-cased ('' for an empty line). */
function commandName(line: Buffer): { name: string; end: number } {
  let end = 0;
  while (end < line.length && line[end] !== SP) end++;
  return { name: line.subarray(0, end).toString('latin1').toUpperCase(), end };
}

/** A line as the trace shows it: the secret argument spans replaced by `<redacted>`. */
function traced(line: Buffer, secret: { from: number; to: number }[]): string {
  if (secret.length === 0) return line.toString('utf8');
  let text = '';
  let at = 0;
  for (const s of secret) {
    text += `${line.subarray(at, s.from).toString('utf8')}<redacted>`;
    at = s.to;
  }
  return text + line.subarray(at).toString('utf8');
}

export interface ReadOptions {
  shape: CommandShape;
  /** Refuse a command line that ends in a bare LF (strict mode; lab mode takes it from `nc`). */
  strict: boolean;
  /** Literals over their limit but at most this many octets are read and dropped; larger ones are fatal. */
  discardLimit: number;
}

/**
 * Reads one whole command (its lines and literals) from the connection; see the header for the
 * bounds. The trace gets each line as it is read.
 */
export async function readCommand(conn: Connection, opts: ReadOptions): Promise<CommandRead> {
  const first: ReadResult | ShutdownResult = await conn.readCommandLine(MAX_LINE);
  if (first.kind === 'eof' || first.kind === 'timeout' || first.kind === 'shutdown') return { kind: first.kind };
  if (first.kind === 'too-long') {
    conn.trace.in(`<line longer than ${MAX_LINE} octets>`);
    return { kind: 'fatal', message: `Line too long (the limit is ${MAX_LINE} octets; send scripts as literals {N+})` };
  }
  const { name, end } = commandName(first.line);
  if (name === '') {
    conn.trace.in('');
    return { kind: 'empty' };
  }
  let error: string | null =
    opts.strict && first.ending === 'lf' ? 'bare <LF> line ending; end every line with <CR><LF> (strict mode)' : null;
  const redactFrom = opts.shape.redactFrom(name);
  const args: Arg[] = [];
  let line = first.line;
  let pos = end;
  let tooBig: { index: number; size: number; limit: number } | null = null;
  for (let literals = 0; ; ) {
    const tokens = error ? { args: [], literal: null, error: null } : tokenize(line, pos);
    let secret: { from: number; to: number }[] = [];
    for (const t of tokens.args) {
      if (redactFrom !== null && args.length >= redactFrom) {
        // A quoted secret keeps its quotes: `AUTHENTICATE "PLAIN" "<redacted>"`.
        const quoted = t.arg.kind === 'string' && !t.arg.literal;
        secret.push(quoted ? { from: t.from + 1, to: t.to - 1 } : t);
      }
      args.push(t.arg);
    }
    if (error === null && tokens.error !== null) {
      error = tokens.error;
      // What could not be parsed may be a secret too: the trace gets none of the arguments.
      if (redactFrom !== null) secret = [{ from: Math.min(pos === 0 ? 0 : pos + 1, line.length), to: line.length }];
    } else if (error !== null && redactFrom !== null) secret = [{ from: 0, to: line.length }];
    // 0: even the command name may be a secret (the line after an AUTHENTICATE): none of it is shown.
    if (redactFrom === 0) secret = [{ from: 0, to: line.length }];
    // A literal is announced even after an error: its bytes follow regardless and must be consumed.
    const literal = tokens.literal ?? (error ? trailingLiteral(line) : null);
    if (literal === null && HUGE_LITERAL_END.test(lineTail(line))) {
      // Its bytes cannot be skipped, and would be read as commands: the session ends.
      if (line.length > 0) conn.trace.in(traced(line, secret));
      return {
        kind: 'fatal',
        message: 'A literal is announced with more octets than can be read; closing the connection',
      };
    }
    const literalSecret = redactFrom !== null && args.length >= redactFrom;
    if (line.length > 0) conn.trace.in(traced(line, secret));
    if (!literal) break;
    if (++literals > MAX_LITERALS) {
      return { kind: 'fatal', message: `Too many literals in one command (the limit is ${MAX_LITERALS})` };
    }
    const index = args.length;
    const limit = opts.shape.literalLimit(name, index);
    let data: BytesResult;
    if (literal.size > limit) {
      if (literal.size > opts.discardLimit) {
        return {
          kind: 'fatal',
          message: `Literal of ${literal.size} octets is too large (the limit for this argument is ${limit})`,
        };
      }
      data = await conn.readBytes(literal.size, 0);
      tooBig ??= { index, size: literal.size, limit };
    } else {
      data = await conn.readBytes(literal.size);
    }
    if (data.kind !== 'bytes') return { kind: data.kind };
    if (data.data) {
      // A secret literal shows as its size only, as the lab shows big IMAP literals (`<n bytes>`).
      if (literalSecret) conn.trace.in(`<${literal.size} bytes>`);
      // Cut at CRLF only, so each traced line plus its CRLF is exactly the bytes it stands for.
      else for (const l of data.data.toString('utf8').split('\r\n')) conn.trace.in(l);
      const value = utf8(data.data);
      if (value === null) error ??= 'a literal is not valid UTF-8 (or holds a NUL)';
      else args.push({ kind: 'string', value, literal: true, size: literal.size });
    } else {
      conn.trace.in(`<${literal.size} bytes>`);
      args.push({ kind: 'string', value: '', literal: true, size: literal.size });
    }
    // The command goes on after the literal, on the rest of its line.
    const next = await conn.readLine(MAX_LINE);
    if (next.kind === 'eof' || next.kind === 'timeout') return { kind: next.kind };
    if (next.kind === 'too-long') {
      conn.trace.in(`<line longer than ${MAX_LINE} octets>`);
      return { kind: 'fatal', message: `Line too long (the limit is ${MAX_LINE} octets)` };
    }
    line = next.line;
    pos = 0;
    if (line.length === 0) break;
  }
  if (tooBig) return { kind: 'too-big', name, ...tooBig };
  if (error) return { kind: 'syntax', name, message: error };
  return { kind: 'command', name, args };
}

/**
 * The end of a line, long enough to hold any literal announcement a client may write there (leading
 * zeros included): where `trailingLiteral` and the check for an unreadable count both look.
 */
function lineTail(line: Buffer): string {
  return line.subarray(Math.max(0, line.length - 1024)).toString('latin1');
}

/** A literal announcement at the very end of a line that did not parse (its bytes follow anyway). */
function trailingLiteral(line: Buffer): { size: number; at: number } | null {
  const m = LITERAL_END.exec(lineTail(line));
  return m ? { size: Number(m[1]), at: line.length - m[0].length } : null;
}

/** A string argument's value, or null when `arg` is missing or an atom. */
export function stringArg(arg: Arg | undefined): string | null {
  return arg?.kind === 'string' ? arg.value : null;
}

/** Control characters a response text may not carry as a quoted string are fine in a literal; trim echoes. */
export function printable(text: string, max = 40): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
