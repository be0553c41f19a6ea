/**
 * Framing: how a session assembles one IMAP command from the connection. A command is a first line
 * plus, for each literal announced at the end of a line, the literal's bytes and a continuation line
 * (RFC 9051 §2.2, §4.3). The parser (reader.ts) then reads the assembled bytes in one pass.
 *
 * Invariants:
 * - Only a well-formed announcement at the very end of a line counts: `{n}`, `{n+}` (RFC 7888 §3
 *   LITERAL+/LITERAL-), `~{n}` and `~{n+}` (RFC 3516 §4.2 literal8). `n` has 1 to 19 digits (leading
 *   zeros apart) and is at most 2^63-1 (RFC 9051 §9 `number64`). `{n-}` is not IMAP syntax (LITERAL- reuses `{n+}`) and, like
 *   other brace junk at a line end, makes the command a syntax error instead of a literal.
 * - Literal bytes are kept byte-exact as Buffers; nothing here decodes them.
 * - Memory is bounded by the limits: every line, literal and the whole command are checked before any
 *   byte of a literal is accepted. Violations are typed results (`FramingError`), never exceptions.
 * - A rejected command is consumed to its real end: the bytes of a non-synchronizing literal are on
 *   their way whatever we answer, so they are discarded (step `discard`) rather than read as commands
 *   (which would let a message body inject IMAP commands). A synchronizing literal is refused before
 *   the client sends it (RFC 9051 §7.5: the server answers instead of sending a continuation request).
 *   A refused non-synchronizing literal more than DISCARD_FACTOR times its limit (and over
 *   DISCARD_MIN) is not discarded: the error is `fatal` and the session ends (a client announcing
 *   `{4294967295+}` before login could otherwise hold the connection as long as it trickles).
 * - When a line was too long to see its end, the next bytes cannot be framed; the error is `fatal`
 *   and the session must close after answering.
 *
 * The assembled form is the command exactly as on the wire minus the final CRLF: lines joined with
 * CRLF, each literal's bytes right after the CRLF that ends its announcement. `literals` records where
 * the bytes of each literal are, so the reader can check that a literal is where the framing saw it.
 */
import type { BytesResult, ReadResult, ShutdownResult } from '../../net/connection.js';
import type { BodySink } from '../../net/spool.js';

/** A refused non-synchronizing literal is discarded up to this many times its limit (see the header). */
const DISCARD_FACTOR = 4;
/** ... and at least this many bytes, whatever the limit. */
const DISCARD_MIN = 1 << 20;

export interface LiteralAnnouncement {
  /** Octet count (at most Number.MAX_SAFE_INTEGER; larger counts are `malformed`). */
  size: number;
  /** `{n+}`: the client sends the bytes without waiting for a continuation request (RFC 7888). */
  nonSync: boolean;
  /** `~{n}`: a literal8 that may contain NUL (RFC 3516 §4.2). */
  binary: boolean;
}

export type LineEnd =
  | { kind: 'none' }
  | { kind: 'literal'; literal: LiteralAnnouncement /** offset of `{` or `~` */; start: number }
  | { kind: 'malformed'; reason: string };

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const PLUS = 0x2b;
const TILDE = 0x7e;
const SP = 0x20;
/** RFC 9051 §9: number64 is at most 2^63-1, which has 19 digits. */
const MAX_DIGITS = 19;
const MAX_NUMBER64 = 9223372036854775807n;

/** Classifies the end of a line (without its CRLF): no literal, a literal, or brace junk. */
export function classifyLineEnd(line: Uint8Array): LineEnd {
  const n = line.length;
  if (n < 3 || line[n - 1] !== RBRACE) return { kind: 'none' };
  let open = -1;
  for (let i = n - 2; i >= 0; i--) {
    const c = line[i];
    if (c === LBRACE) {
      open = i;
      break;
    }
    if (c === SP || c === RBRACE) break;
  }
  if (open < 0) return { kind: 'none' };
  const binary = open > 0 && line[open - 1] === TILDE;
  let end = n - 1;
  // RFC 7888 §3: `literal = "{" number64 ["+"] "}" CRLF *CHAR8`; RFC 7888 §5 extends literal8 alike.
  const nonSync = line[end - 1] === PLUS;
  if (nonSync) end--;
  const digits = end - open - 1;
  if (digits < 1) return { kind: 'malformed', reason: 'literal announcement without an octet count' };
  let value = 0n;
  // Leading zeros are digits of a number like any (`{005}` is 5): only the others count for the limit.
  let significant = 0;
  for (let i = open + 1; i < end; i++) {
    const c = line[i];
    if (c < 0x30 || c > 0x39) {
      return { kind: 'malformed', reason: `literal octet count "${latin1(line, open + 1, end)}" is not a number` };
    }
    if (significant > 0 || c !== 0x30) significant++;
    if (significant <= MAX_DIGITS) value = value * 10n + BigInt(c - 0x30);
  }
  if (significant > MAX_DIGITS || value > MAX_NUMBER64) {
    return { kind: 'malformed', reason: 'literal octet count larger than 2^63-1' };
  }
  const size = value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  return { kind: 'literal', literal: { size, nonSync, binary }, start: binary ? open - 1 : open };
}

/** The literal announced at the very end of `line` (without its CRLF), or null. */
export function literalAnnouncement(line: Uint8Array): LiteralAnnouncement | null {
  const end = classifyLineEnd(line);
  return end.kind === 'literal' ? end.literal : null;
}

export interface LiteralSpan {
  /** Offset of the literal's first byte in `AssembledCommand.data`. */
  offset: number;
  size: number;
  binary: boolean;
  nonSync: boolean;
}

export interface AssembledCommand {
  /** The command as on the wire without its final CRLF (see the header comment). */
  readonly data: Buffer;
  readonly literals: readonly LiteralSpan[];
  /** The tag, if the first line starts with a well-formed one (for replies before parsing). */
  readonly tag: string | null;
  /** Upper-cased command word after the tag (`UID FETCH` for UID commands), if any. */
  readonly name: string | null;
}

/** What a limit function learns about a literal before deciding how large it may be. */
export interface LiteralContext {
  tag: string | null;
  /** As `AssembledCommand.name`, e.g. `APPEND`. */
  command: string | null;
  /** 0 for the command's first literal. */
  index: number;
}

export interface FramingLimits {
  /** Largest command: every line with its CRLF plus every literal (a function: per command). */
  maxCommandSize: number | ((ctx: { command: string | null }) => number);
  /** Largest single literal; a function lets APPEND have a larger limit than, say, LOGIN. */
  maxLiteralSize: number | ((ctx: LiteralContext) => number);
  /** Most literals in one command. */
  maxLiterals: number;
  /**
   * `plus`: LITERAL+ (any non-synchronizing literal); `minus`: LITERAL-, non-synchronizing literals
   * up to 4096 octets only (RFC 7888 §4; IMAP4rev2 servers support at least this, RFC 9051 §2.2.1).
   */
  nonSyncLiterals: 'plus' | 'minus';
}

export const DEFAULT_FRAMING_LIMITS: FramingLimits = {
  maxCommandSize: 64 * 1024 * 1024 + 64 * 1024,
  maxLiteralSize: (ctx) => (ctx.command === 'APPEND' ? 64 * 1024 * 1024 : 64 * 1024),
  maxLiterals: 1000,
  nonSyncLiterals: 'plus',
};

/** RFC 7888 §4: with LITERAL- a non-synchronizing literal is at most 4096 octets. */
export const LITERAL_MINUS_MAX = 4096;

export type FramingErrorKind =
  | 'literal-too-big'
  | 'non-sync-too-big'
  | 'too-many-literals'
  | 'command-too-big'
  | 'malformed-literal'
  | 'line-too-long'
  /** The server could not keep a literal (its spool is out of disk space). */
  | 'no-space';

export interface FramingError {
  kind: FramingErrorKind;
  /** Text for the client (a tagged BAD, or NO [TOOBIG] for APPEND; RFC 9051 §7.1, RFC 7889 §4). */
  message: string;
  tag: string | null;
  command: string | null;
  /** The announced size of the literal that was refused, if a literal was refused. */
  literalSize: number | null;
  /** The rest of the input cannot be framed: answer (`* BYE`) and close the connection. */
  fatal: boolean;
}

export type FrameStep =
  /** Read `size` bytes and give them to `pushLiteral`; if `continuation`, first send `+ ...` (RFC 9051 §7.5). */
  | { kind: 'literal'; size: number; binary: boolean; nonSync: boolean; continuation: boolean }
  /** The command is already refused: read and drop `size` bytes, then call `pushLiteral(null)`. */
  | { kind: 'discard'; size: number }
  | { kind: 'complete'; command: AssembledCommand }
  /** The command is over and refused; answer it with `error`. */
  | { kind: 'rejected'; error: FramingError };

/**
 * Accumulates the parts of one command. Call `pushLine` with each line (without its line ending) and,
 * when it returns a `literal` or `discard` step, `pushLiteral` with the bytes; after `complete` or
 * `rejected` the assembler is ready for the next command. Feeding parts out of order is a programming
 * error and throws.
 */
export class CommandAssembler {
  /** The limits in force; `use` may swap them between commands (shared objects, not copied). */
  limits: FramingLimits;
  #parts: Buffer[] = [];
  #literals: LiteralSpan[] = [];
  #size = 0;
  #offset = 0;
  #tag: string | null = null;
  #name: string | null = null;
  #first = true;
  #expect: 'line' | 'literal' = 'line';
  #pendingSize = 0;
  #pending: LiteralAnnouncement | null = null;
  #error: FramingError | null = null;

  constructor(limits: Partial<FramingLimits> = {}) {
    this.limits = { ...DEFAULT_FRAMING_LIMITS, ...limits };
  }

  /** Applies `limits` (kept as given, so sessions can share one object) from the next command on. */
  use(limits: FramingLimits): void {
    this.limits = limits;
  }

  /** What the assembler waits for next. */
  get expecting(): 'line' | 'literal' {
    return this.#expect;
  }

  /** Whether a command has been started (a line received and no final step returned yet). */
  get inProgress(): boolean {
    return !this.#first;
  }

  pushLine(line: Buffer): FrameStep {
    if (this.#expect !== 'line') throw new Error('CommandAssembler: a literal was expected, not a line');
    if (this.#first) {
      this.#first = false;
      [this.#tag, this.#name] = peekTagAndName(line);
    }
    this.#size += line.length + 2;
    const end = classifyLineEnd(line);
    const maxCommandSize = this.#maxCommandSize();
    if (!this.#error && this.#size > maxCommandSize) {
      this.#error = this.#fail('command-too-big', `Command longer than ${maxCommandSize} bytes`);
    }
    if (end.kind === 'malformed' && !this.#error) {
      this.#error = this.#fail('malformed-literal', `Bad literal announcement: ${end.reason}`);
    }
    if (end.kind !== 'literal') return this.#finish(line);

    const lit = end.literal;
    if (this.#error) {
      // Already refused: a synchronizing literal will not come (the client waits for "+" and gets the
      // tagged reply instead); a non-synchronizing one is on its way and must be skipped.
      return lit.nonSync ? this.#discard(lit.size) : this.#reject();
    }
    const index = this.#literals.length;
    const limit =
      typeof this.limits.maxLiteralSize === 'function'
        ? this.limits.maxLiteralSize({ tag: this.#tag, command: this.#name, index })
        : this.limits.maxLiteralSize;
    if (index >= this.limits.maxLiterals) {
      this.#error = this.#fail('too-many-literals', `More than ${this.limits.maxLiterals} literals in one command`);
    } else if (lit.nonSync && this.limits.nonSyncLiterals === 'minus' && lit.size > LITERAL_MINUS_MAX) {
      // RFC 7888 §4: LITERAL- servers refuse non-synchronizing literals over 4096 octets.
      this.#error = this.#fail(
        'non-sync-too-big',
        `Non-synchronizing literals are limited to ${LITERAL_MINUS_MAX} bytes; use {${lit.size}}`,
      );
    } else if (lit.size > limit) {
      this.#error = this.#fail('literal-too-big', `Literal of ${lit.size} bytes is over the limit of ${limit}`);
    } else if (this.#size + lit.size > maxCommandSize) {
      this.#error = this.#fail('command-too-big', `Command longer than ${maxCommandSize} bytes`);
    }
    if (this.#error) {
      this.#error.literalSize = lit.size;
      if (lit.nonSync && lit.size > Math.max(DISCARD_FACTOR * limit, DISCARD_MIN)) {
        // Far over the limit (before login, 64 KiB): not drained, which at the minimum data rate could
        // hold the connection for years; the session ends after the answer.
        this.#error.fatal = true;
        return this.#reject();
      }
      return lit.nonSync ? this.#discard(lit.size) : this.#reject();
    }
    this.#append(line);
    this.#append(CRLF);
    this.#pending = lit;
    this.#pendingSize = lit.size;
    this.#expect = 'literal';
    // RFC 9051 §7.5: a synchronizing literal waits for a command continuation request.
    return { kind: 'literal', size: lit.size, binary: lit.binary, nonSync: lit.nonSync, continuation: !lit.nonSync };
  }

  /** The bytes of the literal just announced (`null` after a `discard` step). */
  pushLiteral(data: Buffer | null): FrameStep | null {
    if (this.#expect !== 'literal') throw new Error('CommandAssembler: a line was expected, not a literal');
    this.#expect = 'line';
    const lit = this.#pending;
    this.#pending = null;
    if (lit === null) return null; // discarded
    if (data === null || data.length !== this.#pendingSize) {
      throw new Error(`CommandAssembler: expected ${this.#pendingSize} literal bytes`);
    }
    this.#literals.push({ offset: this.#offset, size: data.length, binary: lit.binary, nonSync: lit.nonSync });
    this.#size += data.length;
    this.#append(data);
    return null;
  }

  /**
   * The literal just announced was read but cannot be kept (no space to spool it): the command is
   * refused when its last line arrives.
   */
  refuseLiteral(message: string): void {
    if (this.#expect !== 'literal') throw new Error('CommandAssembler: no literal was expected');
    this.#error ??= this.#fail('no-space', message);
    this.#expect = 'line';
    this.#pending = null;
  }

  /**
   * The connection dropped a line that was over its length limit. Its end, and so whether a literal
   * follows, is unknown: the error is fatal.
   */
  lineTooLong(maxLineLength: number): FrameStep {
    const error = this.#error ?? this.#fail('line-too-long', `Line longer than ${maxLineLength} bytes`);
    error.fatal = true;
    if (error.kind !== 'line-too-long') error.message += `; then a line longer than ${maxLineLength} bytes`;
    this.#reset();
    return { kind: 'rejected', error };
  }

  #maxCommandSize(): number {
    const limit = this.limits.maxCommandSize;
    return typeof limit === 'function' ? limit({ command: this.#name }) : limit;
  }

  #append(b: Buffer): void {
    this.#parts.push(b);
    this.#offset += b.length;
  }

  #fail(kind: FramingErrorKind, message: string): FramingError {
    return { kind, message, tag: this.#tag, command: this.#name, literalSize: null, fatal: false };
  }

  #discard(size: number): FrameStep {
    this.#expect = 'literal';
    this.#pending = null;
    return { kind: 'discard', size };
  }

  #reject(): FrameStep {
    const error = this.#error!;
    this.#reset();
    return { kind: 'rejected', error };
  }

  #finish(line: Buffer): FrameStep {
    if (this.#error) return this.#reject();
    this.#append(line);
    const command: AssembledCommand = {
      data: this.#parts.length === 1 ? this.#parts[0] : Buffer.concat(this.#parts, this.#offset),
      literals: this.#literals,
      tag: this.#tag,
      name: this.#name,
    };
    this.#reset();
    return { kind: 'complete', command };
  }

  #reset(): void {
    this.#parts = [];
    this.#literals = [];
    this.#size = 0;
    this.#offset = 0;
    this.#tag = null;
    this.#name = null;
    this.#first = true;
    this.#expect = 'line';
    this.#pending = null;
    this.#pendingSize = 0;
    this.#error = null;
  }
}

const CRLF = Buffer.from('\r\n');

/** RFC 9051 §9: `tag = 1*<any ASTRING-CHAR except "+">`. */
function isTagChar(c: number): boolean {
  return (
    c > 0x20 &&
    c < 0x7f &&
    c !== 0x28 && // (
    c !== 0x29 && // )
    c !== 0x7b && // {
    c !== 0x25 && // %
    c !== 0x2a && // *
    c !== 0x22 && // "
    c !== 0x5c && // \
    c !== 0x2b // +
  );
}

/** Best-effort tag and command word of a first line, for replies to commands refused unparsed. */
export function peekTagAndName(line: Uint8Array): [string | null, string | null] {
  let i = 0;
  while (i < line.length && isTagChar(line[i])) i++;
  if (i === 0 || (i < line.length && line[i] !== SP)) return [null, null];
  const tag = latin1(line, 0, i);
  const words: string[] = [];
  let p = i + 1;
  for (let w = 0; w < 2 && p < line.length; w++) {
    let q = p;
    while (q < line.length && isWordChar(line[q])) q++;
    if (q === p) break;
    words.push(latin1(line, p, q).toUpperCase());
    if (words[0] !== 'UID' || line[q] !== SP) break;
    p = q + 1;
  }
  return [tag, words.length ? words.join(' ') : null];
}

function isWordChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

/** Lines of a command for the trace, with literal contents replaced by `<n bytes>`. */
export function traceLines(cmd: AssembledCommand): string[] {
  const out: string[] = [];
  let pos = 0;
  for (const lit of cmd.literals) {
    out.push(cmd.data.toString('utf8', pos, lit.offset - 2));
    out.push(`<${lit.size} bytes>`);
    pos = lit.offset + lit.size;
  }
  out.push(cmd.data.toString('utf8', pos));
  return out;
}

/** What `readCommand` needs from a connection (net/connection.ts `Connection` has it). */
export interface FrameSource {
  readLine(maxLength: number): Promise<ReadResult>;
  /** With this, the first line of a command is read through it: it answers `shutdown` when the server stops. */
  readCommandLine?(maxLength: number): Promise<ReadResult | ShutdownResult>;
  readBytes(count: number, maxBytes?: number): Promise<BytesResult>;
  /** With these, literals over `SPOOL_LITERALS_OVER` bytes arrive through the spool (net/spool.ts). */
  readBytesTo?(count: number, sink: BodySink): Promise<BytesResult>;
  newBody?(): BodySink;
}

/**
 * Literals larger than this are received into the spool (memory stays bounded while they arrive) and
 * loaded only once complete, under the body memory budget; `release` on the result gives it back.
 */
export const SPOOL_LITERALS_OVER = 64 * 1024;

export type ReadCommandResult =
  | {
      kind: 'command';
      command: AssembledCommand;
      /** Gives back the memory budget held by the command's large literals; call when it is done. */
      release: () => void;
    }
  | { kind: 'rejected'; error: FramingError }
  | { kind: 'eof' }
  | { kind: 'timeout' }
  | ShutdownResult;

/**
 * Reads one whole command from `source`. `continuation` is called before each synchronizing literal;
 * it must write the `+` continuation request (the connection flushes it before waiting for input).
 */
export async function readCommand(
  source: FrameSource,
  assembler: CommandAssembler,
  opts: { maxLineLength: number; continuation: (step: Extract<FrameStep, { kind: 'literal' }>) => void },
): Promise<ReadCommandResult> {
  const releases: (() => void)[] = [];
  const releaseAll = () => {
    for (const release of releases.splice(0)) release();
  };
  try {
    for (let first = true; ; first = false) {
      // Only between commands may a shutdown cut in; the lines after a literal belong to the command.
      const line =
        first && source.readCommandLine
          ? await source.readCommandLine(opts.maxLineLength)
          : await source.readLine(opts.maxLineLength);
      if (line.kind === 'eof' || line.kind === 'timeout' || line.kind === 'shutdown') {
        releaseAll();
        return line;
      }
      const step = line.kind === 'too-long' ? assembler.lineTooLong(opts.maxLineLength) : assembler.pushLine(line.line);
      switch (step.kind) {
        case 'complete':
          return { kind: 'command', command: step.command, release: releaseAll };
        case 'rejected':
          releaseAll();
          return { kind: 'rejected', error: step.error };
        case 'literal': {
          if (step.continuation) opts.continuation(step);
          const data = await readLiteral(source, step.size, releases);
          if (data === null) assembler.refuseLiteral('Not enough disk space to receive this literal; try again later');
          else if (!Buffer.isBuffer(data)) {
            releaseAll();
            return data;
          } else assembler.pushLiteral(data);
          break;
        }
        case 'discard': {
          const bytes = await source.readBytes(step.size, 0);
          if (bytes.kind !== 'bytes') {
            releaseAll();
            return bytes;
          }
          assembler.pushLiteral(null);
          break;
        }
      }
    }
  } catch (err) {
    releaseAll();
    throw err;
  }
}

/**
 * The bytes of one literal; a large one goes through the spool and is loaded under the budget. Null:
 * the literal was read but there was no disk space to keep it.
 */
async function readLiteral(
  source: FrameSource,
  size: number,
  releases: (() => void)[],
): Promise<Buffer | null | { kind: 'eof' } | { kind: 'timeout' }> {
  if (size <= SPOOL_LITERALS_OVER || !source.readBytesTo || !source.newBody) {
    const bytes = await source.readBytes(size);
    // readBytes without a limit always returns the data; the assembler's limits apply before it.
    return bytes.kind === 'bytes' ? bytes.data! : bytes;
  }
  const sink = source.newBody();
  const bytes = await source.readBytesTo(size, sink);
  if (bytes.kind !== 'bytes') {
    sink.discard();
    return bytes;
  }
  const body = await sink.finish();
  if (sink.error) {
    body.discard();
    if (!sink.error.full) throw sink.error;
    return null;
  }
  const { data, release } = await body.load();
  releases.push(release);
  return data;
}

/**
 * Frames every command in a client's complete byte stream (tests, transcripts, the protocol lab), as if
 * each continuation request had been sent. `rest` is an incomplete tail.
 */
export function frameAll(
  input: Buffer,
  limits: Partial<FramingLimits> = {},
): { results: Exclude<ReadCommandResult, { kind: 'eof' | 'timeout' }>[]; rest: Buffer } {
  const assembler = new CommandAssembler(limits);
  const results: Exclude<ReadCommandResult, { kind: 'eof' | 'timeout' }>[] = [];
  let pos = 0;
  let need: { size: number; keep: boolean } | null = null;
  let done = pos;
  for (;;) {
    if (need) {
      if (input.length - pos < need.size) break;
      assembler.pushLiteral(need.keep ? input.subarray(pos, pos + need.size) : null);
      pos += need.size;
      need = null;
    }
    const lf = input.indexOf(0x0a, pos);
    if (lf < 0) break;
    const line = input.subarray(pos, lf > pos && input[lf - 1] === 0x0d ? lf - 1 : lf);
    pos = lf + 1;
    const step = assembler.pushLine(line);
    if (step.kind === 'literal' || step.kind === 'discard') {
      need = { size: step.size, keep: step.kind === 'literal' };
      continue;
    }
    results.push(step.kind === 'complete' ? { kind: 'command', command: step.command, release: () => {} } : step);
    done = pos;
  }
  return { results, rest: input.subarray(done) };
}
