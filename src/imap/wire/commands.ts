/**
 * The command dispatcher: reads the tag, the command name (and the `UID` prefix), and hands the rest of
 * the command to that command's own grammar (`parse` in src/imap/commands/<name>.ts, RFC 9051 §6 and §9,
 * RFC 3501 for IMAP4rev1 leftovers, and the extensions named beside each parser). The table of commands
 * is given by the caller (src/imap/commands/index.ts builds it once and binds `parseCommand`), so this
 * layer knows no command by name except the UID prefix.
 *
 * Invariants:
 * - Parsing is syntax only: no state, no mailbox lookups, no capability checks. Whether a command is
 *   allowed in the current state, or an extension was advertised or enabled, is the session's call.
 * - `parseWith` never throws; `parseOrThrowWith` throws only `ImapSyntaxError` (and its subclass
 *   `UnknownCommandError`). Both consume the whole command: trailing bytes are a syntax error.
 * - A command's grammar reads its arguments from `ctx.r` (reader.ts), starting right after its name, and
 *   returns its own typed value or throws `ImapSyntaxError`; it never sees the tag, and the dispatcher
 *   checks the end of the command.
 * - Where RFCs say "MUST respond BAD" for argument combinations (VANISHED without CHANGEDSINCE,
 *   RECURSIVEMATCH alone), that is a syntax error in the command's grammar.
 * - Mailbox names and LIST patterns are decoded (reader.ts); message data, search strings and SASL
 *   responses stay Buffers, byte-exact.
 * - Tolerances beyond the grammar, each harmless: `CHANGEDSINCE 0` and a QRESYNC mod-sequence of 0;
 *   KEYWORD with a system flag; astrings in ID; `UTF8 ({n})` with a non-binary literal; one-digit days
 *   in date-time; huge LARGER/SMALLER values and partial lengths are clamped to 2^53-1.
 */
import type { AssembledCommand } from './framing.js';
import { ImapSyntaxError, Reader } from './reader.js';

export interface ParseOptions {
  /**
   * Mailbox names are UTF-8 (the client enabled IMAP4rev2 or UTF8=ACCEPT, RFC 9051 §5.1, RFC 6855 §3);
   * otherwise they are modified UTF-7 (RFC 3501 §5.1.3).
   */
  utf8: boolean;
  /** Deepest nesting of search keys (parentheses, NOT, OR, FUZZY). Default 1000. */
  maxSearchDepth?: number;
}

/** What a command's grammar reads from: the cursor after the command name, and the session's options. */
export interface ParseContext {
  readonly r: Reader;
  /** Mailbox names are UTF-8 (see ParseOptions.utf8). */
  readonly utf8: boolean;
  /** Deepest nesting of search keys. */
  readonly maxDepth: number;
}

/**
 * One command's grammar: the arguments after its name, as its typed value. `uid` is true after the
 * `UID` prefix (only for the names in UID_COMMANDS). Throws ImapSyntaxError.
 */
export type CommandParser<C> = (ctx: ParseContext, uid: boolean) => C;

/** The commands the dispatcher knows, by upper-case name; built once, never per command. */
export type CommandTable<C> = ReadonlyMap<string, { readonly parse: CommandParser<C> }>;

/** Commands that take the `UID` prefix (RFC 9051 §6.4.9, RFC 4315, RFC 5256, RFC 6851). */
export const UID_COMMANDS = ['COPY', 'MOVE', 'FETCH', 'SEARCH', 'STORE', 'EXPUNGE', 'SORT', 'THREAD'] as const;

/** A command name that is not known at all (answered with BAD). */
export class UnknownCommandError extends ImapSyntaxError {
  readonly command: string;

  constructor(command: string, offset: number) {
    super(`unknown command "${printable(command)}" at offset ${offset}`, offset);
    this.command = command;
  }
}

export type CommandOutcome<C> =
  | {
      ok: true;
      tag: string;
      command: C;
      /** A mailbox name was not valid modified UTF-7 (Reader.invalidMailboxName); taken as written. */
      invalidMailboxName?: string;
    }
  | {
      ok: false;
      /** `unknown`: the command word is not an IMAP command we know. */
      kind: 'syntax' | 'unknown';
      /** null when the tag itself was bad: answer with `* BAD`. */
      tag: string | null;
      /** The command word as far as it was read, upper-cased. */
      name: string | null;
      error: ImapSyntaxError;
    };

/** Parses one assembled command with the grammars of `table`. Never throws. */
export function parseWith<C>(
  table: CommandTable<C>,
  input: AssembledCommand | Buffer,
  opts: ParseOptions,
): CommandOutcome<C> {
  const state: { tag: string | null; name: string | null } = { tag: null, name: null };
  try {
    const { tag, command, invalidMailboxName } = dispatch(table, input, opts, state);
    return invalidMailboxName ? { ok: true, tag, command, invalidMailboxName } : { ok: true, tag, command };
  } catch (err) {
    if (!(err instanceof ImapSyntaxError)) throw err;
    const kind = err instanceof UnknownCommandError ? 'unknown' : 'syntax';
    return { ok: false, kind, tag: state.tag, name: state.name, error: err };
  }
}

/** Parses one assembled command with the grammars of `table`; throws ImapSyntaxError (or UnknownCommandError). */
export function parseOrThrowWith<C>(
  table: CommandTable<C>,
  input: AssembledCommand | Buffer,
  opts: ParseOptions,
): { tag: string; command: C } {
  return dispatch(table, input, opts, { tag: null, name: null });
}

function dispatch<C>(
  table: CommandTable<C>,
  input: AssembledCommand | Buffer,
  opts: ParseOptions,
  state: { tag: string | null; name: string | null },
): { tag: string; command: C; invalidMailboxName: string | null } {
  const r = new Reader(input);
  const ctx: ParseContext = { r, utf8: opts.utf8, maxDepth: opts.maxSearchDepth ?? 1000 };
  // RFC 9051 §9: command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF
  const tag = r.tag();
  state.tag = tag;
  r.sp('after tag');
  const at = r.pos;
  let name = r.keyword('a command name');
  state.name = name;
  let uid = false;
  if (name === 'UID') {
    // RFC 9051 §6.4.9: "UID" SP (copy / move / fetch / search / store / uid-expunge)
    uid = true;
    r.sp('after UID');
    const sub = r.pos;
    name = r.keyword('a command after UID');
    state.name = `UID ${name}`;
    if (!(UID_COMMANDS as readonly string[]).includes(name)) {
      r.fail(`UID must be followed by ${UID_COMMANDS.join(', ')}`, sub);
    }
  }
  const spec = table.get(name);
  if (!spec) throw new UnknownCommandError(name, at);
  const command = spec.parse(ctx, uid);
  r.end();
  return { tag, command, invalidMailboxName: r.invalidMailboxName };
}

/** Input quoted in an error message: printable ASCII only, at most 40 characters. */
export function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}

// ---------------------------------------------------------------------------------------------------
// SASL (AUTHENTICATE, src/imap/commands/auth.ts)

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (RFC 9051 §9 `base64`): padded, no whitespace. Null when invalid. */
export function decodeBase64(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

/**
 * A client line during AUTHENTICATE (RFC 9051 §6.2.2): base64 data, or `*` to cancel (answered with
 * a tagged BAD).
 */
export function parseSaslResponse(
  line: Buffer,
): { kind: 'data'; data: Buffer } | { kind: 'cancel' } | { kind: 'invalid'; error: string } {
  const text = line.toString('latin1');
  if (text === '*') return { kind: 'cancel' };
  const data = decodeBase64(text);
  return data ? { kind: 'data', data } : { kind: 'invalid', error: 'the response is not valid base64' };
}
