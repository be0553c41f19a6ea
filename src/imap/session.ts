/**
 * One IMAP session (RFC 9051 / RFC 3501): the greeting, the command loop, the connection state and
 * what the command handlers in ./commands share.
 *
 * Invariants:
 * - States (RFC 9051 §3): not-authenticated → authenticated → selected, and logout. Each command spec
 *   lists the states it is valid in; others get `BAD` without running.
 * - One command runs at a time; pipelined commands wait in the connection's buffer (RFC 9051 §5.5
 *   allows running some concurrently; we never need to).
 * - Untagged EXISTS/EXPUNGE/FETCH for changes by others are sent only before a tagged response, and
 *   never EXPUNGE during FETCH, STORE or SEARCH (RFC 9051 §7.4.1); in IDLE they are sent at once.
 * - Errors: syntax → `BAD` (with the parser's explanation), semantics → `NO [CODE]`, server faults →
 *   `NO [SERVERBUG]` plus a log line; after `maxErrors` BADs the session ends with `* BYE`.
 * - Literal sizes are checked before the client sends them (framing.ts); memory per session is bounded.
 */
import type tls from 'node:tls';
import type { SaslAuth } from '../auth/sasl.js';
import type { LoginClient, LoginResult } from '../auth/service.js';
import type { Logger } from '../log.js';
import { ClientGoneError, type Connection } from '../net/connection.js';
import { MAX_KEYWORDS } from '../store/normalize.js';
import { type Account, type Store, StoreFullError } from '../store/types.js';
import { capabilities } from './capabilities.js';
import type { Idling } from './commands/idle.js';
import { COMMANDS, type ImapCommand, parseCommand } from './commands/index.js';
import { SHUTDOWN_BYE } from './commands/types.js';
import type { AnnounceSink, SelectedMailbox } from './selected.js';
import { type RespCode, ResponseBuilder, type Status } from './wire/encoder.js';
import {
  type AssembledCommand,
  CommandAssembler,
  DEFAULT_FRAMING_LIMITS,
  type FramingLimits,
  readCommand,
} from './wire/framing.js';

/** RFC 9051 §2.3.2 system flags that can be stored (FLAGS lists them with the keywords in use). */
export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

export type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export interface ImapSettings {
  hostname: string;
  version: string;
  showVersion: boolean;
  strict: boolean;
  /** RFC 9051 §5.4: the autologout timer is at least 30 minutes. */
  idleTimeoutMs: number;
  maxLineLength: number;
  /** Largest message APPEND accepts (advertised as APPENDLIMIT). */
  maxMessageSize: number;
  maxErrors: number;
  maxAuthFailures: number;
  tlsContext: (() => tls.SecureContext) | null;
}

/** The parts of AuthService (src/auth/service.ts) the engine uses (for AUTHENTICATE: `SaslAuth`). */
export interface ImapAuth extends SaslAuth<Account> {
  plaintextAllowed(conn: { secure: boolean; remoteAddress: string }): boolean;
  /** Under the shared login limits (src/auth/limiter.ts). */
  login(client: LoginClient, username: string, password: string): Promise<LoginResult<Account>>;
}

export interface ImapBackend {
  auth: ImapAuth;
  store: Store;
}

export class ImapSession {
  state: ImapState = 'not-authenticated';
  /**
   * Who logged in: only what the commands use. Not the store's whole `Account`, whose password hash
   * and SCRAM keys a session in IDLE would otherwise hold for hours (~0.5 KiB each).
   */
  user: Pick<Account, 'id' | 'address'> | null = null;
  selected: SelectedMailbox | null = null;
  /** Set by IDLE (commands/idle.ts): the loop waits for input with one promise, then lets it end IDLE. */
  idling: Idling | null = null;
  /** Extensions turned on with ENABLE (RFC 5161) or implicitly, upper-case; null until one is. */
  #enabled: Set<string> | null = null;
  errors = 0;
  authFailures = 0;
  /** Set after AUTHENTICATE: the next line is redacted unless it is a known command (see #command). */
  #afterAuth = false;
  readonly stats = { commands: 0, fetched: 0, appended: 0 };
  #assembler: CommandAssembler;
  /** The command limits before and after login, shared by the sessions of one `settings`. */
  readonly #limits: SessionLimits;

  constructor(
    readonly conn: Connection,
    readonly settings: ImapSettings,
    readonly backend: ImapBackend,
    readonly log: Logger,
  ) {
    this.#limits = limitsFor(settings);
    this.#assembler = new CommandAssembler();
  }

  get store(): Store {
    return this.backend.store;
  }

  /** UTF-8 mailbox names and strings (IMAP4rev2 or UTF8=ACCEPT enabled). */
  /** Whether an extension (upper-case) is on. */
  isEnabled(name: string): boolean {
    return this.#enabled?.has(name) ?? false;
  }

  /** Turns an extension (upper-case) on. */
  enable(name: string): void {
    this.#enabled ??= new Set();
    this.#enabled.add(name);
  }

  get utf8(): boolean {
    return this.isEnabled('IMAP4REV2') || this.isEnabled('UTF8=ACCEPT');
  }

  get rev2(): boolean {
    return this.isEnabled('IMAP4REV2');
  }

  /** CONDSTORE is on once enabled, or implicitly by QRESYNC or a CONDSTORE-using command (RFC 7162 §3.1). */
  get condstore(): boolean {
    return this.isEnabled('CONDSTORE') || this.isEnabled('QRESYNC');
  }

  get qresync(): boolean {
    return this.isEnabled('QRESYNC');
  }

  /**
   * Turns CONDSTORE on for a CONDSTORE-enabling command (RFC 7162 §3.1: ENABLE, SELECT (CONDSTORE),
   * FETCH MODSEQ/CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ). When a mailbox
   * is selected, the client learns its HIGHESTMODSEQ at once (as Dovecot and Mox do).
   */
  enableCondstore(): void {
    if (this.condstore) return;
    this.enable('CONDSTORE');
    const sel = this.selected;
    if (sel) this.reply(null, 'OK', 'Highest', { code: 'HIGHESTMODSEQ', value: sel.highestModseq });
  }

  /** A response builder set up for this session's string rules. */
  builder(): ResponseBuilder {
    return new ResponseBuilder({ utf8: this.utf8 });
  }

  /** Writes a built response and reports its lines to the trace. */
  send(w: ResponseBuilder): void {
    if (this.conn.trace.active) for (const line of w.traceLines()) this.conn.trace.out(line);
    for (const chunk of w.chunks()) this.conn.write(chunk);
  }

  /**
   * Writes a built response that may hold deferred literals: their bytes are read STREAM_PIECE at a
   * time, each piece written and drained before the next is read, so a large message holds one piece
   * of memory however slowly the client reads. Bytes that are gone mid-way (expunged by another
   * session) are sent as spaces, since the literal's length is already on the wire.
   */
  async sendStreamed(w: ResponseBuilder): Promise<void> {
    if (this.conn.trace.active) for (const line of w.traceLines()) this.conn.trace.out(line);
    for (const part of w.parts()) {
      if (Buffer.isBuffer(part)) {
        this.conn.write(part);
        continue;
      }
      for (let at = 0; at < part.length; ) {
        if (this.conn.closed) return;
        const want = Math.min(STREAM_PIECE, part.length - at);
        let piece = await part.read(at, want);
        if (piece.length < want) {
          const fill = Buffer.alloc(want, 0x20);
          piece.copy(fill);
          piece = fill;
        } else if (piece.length > want) {
          piece = piece.subarray(0, want);
        }
        this.conn.write(piece);
        at += want;
        await this.conn.drain();
      }
    }
  }

  /** Writes one untagged line `* text`. */
  untagged(text: string): void {
    this.conn.writeLine(`* ${text}`);
  }

  /** A tagged (or, with tag null, untagged) status response. */
  reply(tag: string | null, status: Status, text: string, code?: RespCode | null): void {
    this.send(this.builder().status(tag, status, text, code));
  }

  ok(tag: string, text: string, code?: RespCode | null): void {
    this.reply(tag, 'OK', text, code);
  }

  no(tag: string, text: string, code?: RespCode | null): void {
    this.reply(tag, 'NO', text, code);
  }

  bad(tag: string | null, text: string, code?: RespCode | null): void {
    this.errors++;
    this.reply(tag, 'BAD', text, code);
  }

  capabilityList(): string[] {
    return capabilities(this);
  }

  /** Leaves the selected state (CLOSE, UNSELECT, SELECT of another mailbox, LOGOUT). */
  deselect(): void {
    this.selected?.close();
    this.selected = null;
    if (this.state === 'selected') {
      this.state = 'authenticated';
      this.conn.trace.state('authenticated');
    }
  }

  /**
   * The flags to show for a message: its stored flags, plus \Recent for IMAP4rev1 sessions
   * (RFC 3501 §2.3.2; IMAP4rev2 has no \Recent, RFC 9051 Appendix E).
   */
  flagsOf(m: { recent: boolean }, flags: readonly string[]): readonly string[] {
    return m.recent && !this.rev2 ? ['\\Recent', ...flags] : flags;
  }

  /**
   * Before a response shows `flags`: if they hold keywords the client was not told of, sends the new
   * FLAGS and PERMANENTFLAGS (RFC 3501 §7.2.6, RFC 9051 §7.3.5: FLAGS lists the flags applicable to the
   * mailbox, and is sent again when that list changes).
   */
  noteKeywords(flags: readonly string[]): void {
    const sel = this.selected;
    if (sel?.learnKeywords(flags)) this.sendFlagLists();
  }

  /** `* FLAGS (...)` and `* OK [PERMANENTFLAGS (...)]` for the selected mailbox. */
  sendFlagLists(): void {
    const sel = this.selected;
    if (!sel) return;
    const keywords = sel.keywords();
    const flags = [...SYSTEM_FLAGS, ...keywords];
    this.send(this.builder().untagged().raw('FLAGS ').flags(flags).crlf());
    // RFC 9051 §7.1: \* only while new keywords can still be created (MAX_KEYWORDS).
    const more = keywords.length < MAX_KEYWORDS;
    this.reply(
      null,
      'OK',
      sel.readOnly ? 'No permanent flags in a read-only mailbox' : 'Flags you can change permanently',
      { code: 'PERMANENTFLAGS', flags: sel.readOnly ? [] : more ? [...flags, '\\*'] : flags },
    );
  }

  /** The sink that renders announcements of the selected mailbox for this session. */
  readonly sink: AnnounceSink = new SessionSink(this);

  /** Sends pending changes of the selected mailbox (see selected.ts) and loads details of new messages. */
  async announce(allowExpunge: boolean, limit?: number): Promise<void> {
    const sel = this.selected;
    if (!sel) return;
    sel.announce(this.sink, { allowExpunge, vanished: this.qresync, limit });
    const missing = sel.needsDetails();
    if (missing.length === 0) return;
    const infos = await Promise.all(missing.map((m) => this.store.messages.get(sel.mailbox.id, m.uid)));
    sel.fill(infos.filter((i) => i !== null));
  }

  async run(): Promise<Record<string, unknown>> {
    const { hostname, showVersion, version } = this.settings;
    this.conn.trace.state('not authenticated');
    const caps = this.capabilityList().join(' ');
    this.untagged(
      `OK [CAPABILITY ${caps}] ${hostname} IMAP4rev2 server${showVersion ? ` (postbode ${version})` : ''} ready`,
    );
    try {
      while (this.state !== 'logout' && !this.conn.closed) {
        const idling = this.idling;
        if (idling) {
          await this.conn.whenReadable();
          this.idling = null;
          await this.#endIdle(idling);
          if (this.errors >= this.settings.maxErrors && (this.state as ImapState) !== 'logout') {
            this.untagged('BYE Too many errors; closing the connection');
            break;
          }
          continue;
        }
        this.#assembler.use(this.state === 'not-authenticated' ? this.#limits.beforeLogin : this.#limits.afterLogin);
        const input = await readCommand(this.conn, this.#assembler, {
          maxLineLength: this.settings.maxLineLength,
          continuation: () => this.conn.writeLine('+ Ready for literal data'),
        });
        if (input.kind === 'eof') break;
        if (input.kind === 'shutdown') {
          // Server shutdown, after the command in progress completed (RFC 9051 §7.1.5 BYE).
          this.untagged(SHUTDOWN_BYE);
          break;
        }
        if (input.kind === 'timeout') {
          this.untagged('BYE Autologout; idle for too long');
          break;
        }
        if (input.kind === 'rejected') {
          const e = input.error;
          // Right after AUTHENTICATE the "tag" may be credentials: neither traced nor echoed.
          const tag = this.#afterAuth ? null : e.tag;
          this.#afterAuth = false;
          this.conn.trace.in(`${tag ?? '*'} ${tag ? (e.command ?? '') : ''} <refused: ${e.message}>`);
          if (e.kind === 'literal-too-big' && e.command === 'APPEND' && tag) {
            this.no(tag, e.message, 'TOOBIG');
          } else if (e.kind === 'no-space' && tag) {
            // RFC 5530 §3 LIMIT: a server-wide limit (disk space), not the user's quota.
            this.no(tag, e.message, 'LIMIT');
          } else {
            this.bad(tag, e.message, e.kind === 'literal-too-big' || e.kind === 'command-too-big' ? 'TOOBIG' : null);
          }
          if (e.fatal) {
            this.untagged('BYE The rest of your input cannot be read; closing the connection');
            break;
          }
        } else {
          try {
            await this.#command(input.command);
          } finally {
            input.release();
          }
        }
        if (this.errors >= this.settings.maxErrors && (this.state as ImapState) !== 'logout') {
          this.untagged('BYE Too many errors; closing the connection');
          break;
        }
      }
    } finally {
      // The loop ended while in IDLE (the connection closed): stop announcing first.
      const idling = this.idling;
      this.idling = null;
      await idling?.stop().catch(() => {});
      this.deselect();
      this.conn.flush();
    }
    return { user: this.user?.address ?? null, ...this.stats, errors: this.errors };
  }

  async #command(assembled: AssembledCommand): Promise<void> {
    this.stats.commands++;
    // The line after AUTHENTICATE may be the credentials a careless client sends after a refusal: unless
    // it is a tagged known command, it is traced as `<redacted>` and answered without echoing its tag.
    const verb = (assembled.name ?? '').split(' ')[0];
    const hidden = this.#afterAuth && !(verb === 'UID' || KNOWN_COMMANDS.has(verb));
    this.#afterAuth = assembled.name === 'AUTHENTICATE';
    if (hidden) {
      this.conn.trace.in('<redacted>');
      return this.bad(
        null,
        'Not a command (a line right after AUTHENTICATE is not shown, as it may hold credentials); start each command with a tag, e.g. "a1 NOOP"',
      );
    }
    if (this.conn.trace.active) this.#traceIn(assembled);
    const parsed = parseCommand(assembled, { utf8: this.utf8 });
    if (!parsed.ok) {
      if (parsed.tag === null)
        return this.bad(null, `Bad tag: ${parsed.error.message}; start each command with a tag, e.g. "a1 NOOP"`);
      if (parsed.kind === 'unknown')
        return this.bad(parsed.tag, `${capitalize(parsed.error.message)}; CAPABILITY lists what this server knows`);
      return this.bad(parsed.tag, `Syntax error in ${parsed.name ?? 'command'}: ${parsed.error.message}`);
    }
    const { tag, command } = parsed;
    const spec = COMMANDS.get(command.name);
    if (!spec) return this.bad(tag, `${command.name} is not supported by this server`);
    if (!spec.states.includes(this.state)) return this.bad(tag, wrongState(command.name, this.state, spec.states));
    // A name that is not valid modified UTF-7 cannot come into existence (see Reader.invalidMailboxName);
    // other commands find no such mailbox and answer NO as usual.
    if (parsed.invalidMailboxName && (command.name === 'CREATE' || command.name === 'RENAME'))
      return this.no(tag, parsed.invalidMailboxName, 'CANNOT');
    try {
      if (this.state === 'selected' && this.selected?.needsDetails().length) await this.announce(false);
      await spec.run(this, tag, command as never);
    } catch (err) {
      this.#failed(err, tag, command.name);
    }
  }

  /** The end of IDLE, answered as its command would be when it fails. */
  async #endIdle(idling: Idling): Promise<void> {
    try {
      await idling.end();
    } catch (err) {
      this.#failed(err, idling.tag, 'IDLE');
    }
  }

  /** Answers a command that threw: the client gone ends the session; else NO with the reason. */
  #failed(err: unknown, tag: string, name: string): void {
    if (err instanceof ClientGoneError) {
      this.state = 'logout';
      return;
    }
    if (err instanceof StoreFullError) {
      // RFC 5530 §3 [LIMIT]: a server-wide limit (the disk), not the user's quota ([OVERQUOTA]).
      this.log.warn({ sid: this.conn.id, command: name }, 'imap: the store is full');
      // Deleting uses the storage reserve, so it is offered as the way out, unless it was the deletion
      // that failed (the reserve is spent too): then only freeing space on the server helps.
      const deleting = /^(UID )?(EXPUNGE|MOVE|STORE|DELETE|CLOSE|UNSELECT)$/.test(name.toUpperCase());
      this.no(
        tag,
        deleting
          ? 'The server is out of storage space, even for deletions; try again once the administrator has freed space'
          : 'The server is out of storage space; try again later (deleting messages works)',
        'LIMIT',
      );
      return;
    }
    this.log.error({ err, sid: this.conn.id, command: name }, 'imap command failed');
    this.no(tag, 'Internal server error; the problem was logged', 'SERVERBUG');
  }

  #traceIn(assembled: AssembledCommand): void {
    const name = assembled.name ?? '';
    if (name === 'LOGIN' || name === 'AUTHENTICATE') {
      const words = assembled.data.subarray(0, 200).toString('utf8').split(' ');
      this.conn.trace.in(`${words.slice(0, name === 'LOGIN' ? 3 : 3).join(' ')} <redacted>`);
      return;
    }
    let text = '';
    let pos = 0;
    for (const lit of assembled.literals) {
      text += assembled.data.subarray(pos, lit.offset).toString('utf8');
      text +=
        lit.size > 512
          ? `<${lit.size} bytes>`
          : assembled.data.subarray(lit.offset, lit.offset + lit.size).toString('utf8');
      pos = lit.offset + lit.size;
    }
    text += assembled.data.subarray(pos, Math.min(assembled.data.length, pos + 4096)).toString('utf8');
    for (const line of text.split('\r\n')) this.conn.trace.in(line);
  }
}

const KNOWN_COMMANDS: ReadonlySet<string> = new Set(COMMANDS.keys());
/** Bytes of a deferred literal read and written at a time (`sendStreamed`). */
const STREAM_PIECE = 256 * 1024;

/** The command variant(s) with name N (some variants carry two names, e.g. SELECT | EXAMINE). */
/** Largest command before login, literals included (Dovecot's pre-login limit is alike). */
const PRELOGIN_COMMAND_SIZE = 64 * 1024;
/** Largest command other than APPEND after login, literals included. */
const COMMAND_SIZE = 2 * 1024 * 1024;

interface SessionLimits {
  beforeLogin: FramingLimits;
  afterLogin: FramingLimits;
}

const LIMITS = new WeakMap<ImapSettings, SessionLimits>();

/**
 * The framing limits of a session's commands: one pair per `settings`, so that a session holds no
 * closures of its own for them (they were ~0.2 KiB of every IDLE client).
 */
function limitsFor(settings: ImapSettings): SessionLimits {
  let limits = LIMITS.get(settings);
  if (!limits) {
    const maxMessage = settings.maxMessageSize;
    limits = {
      // Before login a command is small (LOGIN, AUTHENTICATE, ID), and only small literals (a user
      // name, a password) are accepted: an unauthenticated client cannot make the server hold a
      // message-sized literal.
      beforeLogin: {
        ...DEFAULT_FRAMING_LIMITS,
        maxCommandSize: PRELOGIN_COMMAND_SIZE,
        maxLiteralSize: 8192,
        nonSyncLiterals: 'plus',
      },
      // After login only APPEND carries messages.
      afterLogin: {
        ...DEFAULT_FRAMING_LIMITS,
        maxCommandSize: (ctx) => (ctx.command === 'APPEND' ? maxMessage + 1024 * 1024 : COMMAND_SIZE),
        maxLiteralSize: (ctx) => (ctx.command === 'APPEND' ? maxMessage : 1024 * 1024),
        nonSyncLiterals: 'plus',
      },
    };
    LIMITS.set(settings, limits);
  }
  return limits;
}

export type CommandOf<N extends ImapCommand['name']> = ImapCommand extends infer C
  ? C extends { name: infer M }
    ? N extends M
      ? C
      : never
    : never
  : never;

/** Why a command cannot run now: the text follows the states the command is valid in, not only the current one. */
function wrongState(name: string, state: ImapState, valid: readonly ImapState[]): string {
  if (state === 'not-authenticated') return `${name} needs you to log in first (LOGIN user password, or AUTHENTICATE)`;
  if (!valid.includes('authenticated') && !valid.includes('selected')) return `${name} is only valid before login`;
  return `${name} needs a selected mailbox (SELECT INBOX first)`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** `1:3,5` from ascending UIDs. */
export function uidSetString(uids: number[]): string {
  const sorted = [...uids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * Renders the announcements of a session's selected mailbox (selected.ts). A class, so that its
 * methods live once on the prototype: six closures per session were ~0.4 KiB of every IDLE client.
 */
class SessionSink implements AnnounceSink {
  readonly #s: ImapSession;

  constructor(session: ImapSession) {
    this.#s = session;
  }

  exists(count: number, recent: number): void {
    this.#s.untagged(`${count} EXISTS`);
    // RFC 3501 §7.3.2: IMAP4rev1 clients get RECENT with EXISTS.
    if (!this.#s.rev2) this.#s.untagged(`${recent} RECENT`);
  }
  recent(count: number): void {
    if (!this.#s.rev2) this.#s.untagged(`${count} RECENT`);
  }
  keywords(flags: readonly string[]): void {
    this.#s.noteKeywords(flags);
  }
  expunge(seq: number): void {
    this.#s.untagged(`${seq} EXPUNGE`);
  }
  vanished(uids: Parameters<AnnounceSink['vanished']>[0]): void {
    const w = this.#s.builder().untagged().raw('VANISHED ').sequenceSet(uidSetString(uids)).crlf();
    this.#s.send(w);
  }
  flags(seq: number, m: Parameters<AnnounceSink['flags']>[1]): void {
    // UID is included so clients can match the change without a sequence-number map (RFC 7162 §3.2.4).
    this.#s.noteKeywords(m.flags);
    const w = this.#s.builder().untagged().raw(`${seq} FETCH (UID ${m.uid} FLAGS `).flags(this.#s.flagsOf(m, m.flags));
    if (this.#s.condstore) w.raw(` MODSEQ (${m.modseq})`);
    w.raw(')').crlf();
    this.#s.send(w);
  }
}
