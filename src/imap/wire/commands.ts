/**
 * Typed IMAP commands: each command's arguments parsed into one member of the `ImapCommand` union
 * (RFC 9051 §6 and §9, RFC 3501 for IMAP4rev1 leftovers, and the extensions listed per parser), so
 * handlers never look at raw tokens.
 *
 * Invariants:
 * - Parsing is syntax only: no state, no mailbox lookups, no capability checks. Whether a command is
 *   allowed in the current state, or an extension was advertised or enabled, is the session's call.
 * - `parseCommand` never throws; `parseCommandOrThrow` throws only `ImapSyntaxError` (and its subclass
 *   `UnknownCommandError`). Both consume the whole command: trailing bytes are a syntax error.
 * - Where RFCs say "MUST respond BAD" for argument combinations (VANISHED without CHANGEDSINCE,
 *   RECURSIVEMATCH alone), that is a syntax error here.
 * - Mailbox names and LIST patterns are decoded (reader.ts); message data, search strings and SASL
 *   responses stay Buffers, byte-exact.
 * - Search criteria are a tree with a depth limit, so a hostile `NOT NOT NOT ...` cannot overflow the
 *   stack.
 * - Tolerances beyond the grammar, each harmless: `CHANGEDSINCE 0` and a QRESYNC mod-sequence of 0;
 *   KEYWORD with a system flag; astrings in ID; `UTF8 ({n})` with a non-binary literal; one-digit days
 *   in date-time; huge LARGER/SMALLER values and partial lengths are clamped to 2^53-1.
 */
import type { AssembledCommand } from './framing.js';
import { canonicalFlag, type ImapDate, type ImapDateTime, ImapSyntaxError, Reader } from './reader.js';
import type { SequenceSet } from './seqset.js';

// ---------------------------------------------------------------------------------------------------
// Types

export interface ParseOptions {
  /**
   * Mailbox names are UTF-8 (the client enabled IMAP4rev2 or UTF8=ACCEPT, RFC 9051 §5.1, RFC 6855 §3);
   * otherwise they are modified UTF-7 (RFC 3501 §5.1.3).
   */
  utf8: boolean;
  /** Deepest nesting of search keys (parentheses, NOT, OR, FUZZY). Default 1000. */
  maxSearchDepth?: number;
}

/** RFC 9051 §6.3.11 and extensions: STATUS items. */
export type StatusItem =
  | 'MESSAGES'
  | 'UIDNEXT'
  | 'UIDVALIDITY'
  | 'UNSEEN'
  | 'DELETED' // RFC 9051
  | 'SIZE' // RFC 8438
  | 'HIGHESTMODSEQ' // RFC 7162 §3.1.8
  | 'RECENT' // RFC 3501 only
  | 'APPENDLIMIT' // RFC 7889 §3
  | 'MAILBOXID' // RFC 8474 §4.2
  | 'DELETED-STORAGE'; // RFC 9208 §4.2.2

export const STATUS_ITEMS: readonly StatusItem[] = [
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'HIGHESTMODSEQ',
  'RECENT',
  'APPENDLIMIT',
  'MAILBOXID',
  'DELETED-STORAGE',
];

/** RFC 7162 §3.2.5: `QRESYNC (uidvalidity modseq [known-uids [seq-match-data]])`. */
export interface QresyncParams {
  uidValidity: number;
  modSeq: bigint;
  knownUids: SequenceSet | null;
  /** Message sequence numbers and the UIDs the client believes they have. */
  seqMatch: { seqs: SequenceSet; uids: SequenceSet } | null;
}

/** RFC 5258 §3.1 selection options (+ SPECIAL-USE, RFC 6154 §5.1). */
export interface ListSelection {
  subscribed: boolean;
  remote: boolean;
  recursiveMatch: boolean;
  specialUse: boolean;
}

/** RFC 5258 §3.2 return options (+ SPECIAL-USE RFC 6154 §5.2, STATUS RFC 5819 §2). */
export interface ListReturn {
  subscribed: boolean;
  children: boolean;
  specialUse: boolean;
  status: StatusItem[] | null;
}

export interface AppendMessage {
  flags: string[];
  internalDate: ImapDateTime | null;
  /** The message, byte-exact (a view into the command). */
  data: Buffer;
  /** Sent as literal8 `~{n}` (RFC 3516 §4.4): may contain NUL and unencoded binary. */
  binary: boolean;
  /** Sent as `UTF8 (~{n})` (RFC 6855 §4): the message may have UTF-8 headers. */
  utf8: boolean;
}

/** RFC 9051 §6.4.5 section text. */
export type SectionText =
  | { kind: 'header' }
  | { kind: 'header.fields'; not: boolean; fields: string[] }
  | { kind: 'text' }
  | { kind: 'mime' };

/** RFC 9051 §6.4.5 `section`: `[]` is `{ part: [], text: null }`; `[1.2.MIME]` has part [1, 2]. */
export interface Section {
  part: number[];
  text: SectionText | null;
}

/** RFC 9051 §6.4.5 `<origin.length>`. */
export interface PartialFetch {
  offset: number;
  length: number;
}

/** RFC 9394 §3 `partial-range`: `1:100` from the first match, `-1:-100` counting from the last. */
export interface PartialRange {
  fromEnd: boolean;
  /** 1-based, lo <= hi. */
  lo: number;
  hi: number;
}

export type SimpleFetchAttr =
  | 'envelope'
  | 'flags'
  | 'internaldate'
  | 'rfc822' // RFC 3501; same as BODY[] (not PEEK)
  | 'rfc822.header' // RFC 3501; BODY.PEEK[HEADER]
  | 'rfc822.text' // RFC 3501; BODY[TEXT]
  | 'rfc822.size'
  | 'body' // the non-extensible BODYSTRUCTURE
  | 'bodystructure'
  | 'uid'
  | 'modseq' // RFC 7162 §3.1.4.1
  | 'emailid' // RFC 8474 §5.1
  | 'threadid' // RFC 8474 §5.2
  | 'savedate'; // RFC 8514 §4

export type FetchItem =
  | { kind: SimpleFetchAttr }
  | { kind: 'body-section'; peek: boolean; section: Section; partial: PartialFetch | null }
  | { kind: 'binary'; peek: boolean; part: number[]; partial: PartialFetch | null } // RFC 3516 §4.2
  | { kind: 'binary.size'; part: number[] } // RFC 3516 §4.2
  | { kind: 'preview'; lazy: boolean }; // RFC 8970 §3

export interface FetchModifiers {
  /** RFC 7162 §3.1.4.1 CHANGEDSINCE. */
  changedSince?: bigint;
  /** RFC 7162 §3.2.6 VANISHED (only with UID FETCH and CHANGEDSINCE). */
  vanished?: boolean;
  /** RFC 9394 §3.2 PARTIAL. */
  partial?: PartialRange;
}

/** RFC 4731 §3.1 (ESEARCH), RFC 5182 §2.2 (SAVE), RFC 9394 §3.1 (PARTIAL). */
export interface SearchReturn {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  save: boolean;
  partial: PartialRange | null;
}

export type SearchTextField = 'bcc' | 'body' | 'cc' | 'from' | 'subject' | 'text' | 'to';

/** RFC 9051 §6.4.4 search keys and extensions, as a tree. */
export type SearchKey =
  | { op: 'all' }
  | { op: 'and'; keys: SearchKey[] }
  | { op: 'or'; left: SearchKey; right: SearchKey }
  | { op: 'not'; key: SearchKey }
  /** Message sequence numbers (or `$`, RFC 5182). */
  | { op: 'seq'; set: SequenceSet }
  | { op: 'uid'; set: SequenceSet }
  /** ANSWERED, UNSEEN, KEYWORD x, ... `set` is whether the flag must be set. RECENT is `\Recent`. */
  | { op: 'flag'; flag: string; set: boolean }
  | { op: 'text'; field: SearchTextField; value: Buffer }
  | { op: 'header'; field: string; value: Buffer }
  /** BEFORE/ON/SINCE (internal), SENT* (Date: header), SAVED* (RFC 8514 §4.3). */
  | { op: 'date'; which: 'internal' | 'sent' | 'saved'; cmp: 'before' | 'on' | 'since'; date: ImapDate }
  | { op: 'size'; cmp: 'larger' | 'smaller'; size: number }
  /** RFC 5032 §3 OLDER/YOUNGER, in seconds. */
  | { op: 'age'; cmp: 'older' | 'younger'; seconds: number }
  /** RFC 7162 §3.1.5 MODSEQ. */
  | { op: 'modseq'; modSeq: bigint; entry: { flag: string; type: 'priv' | 'shared' | 'all' } | null }
  /** RFC 8474 §6. */
  | { op: 'emailid'; id: string }
  | { op: 'threadid'; id: string }
  /** RFC 8514 §4.3. */
  | { op: 'savedatesupported' }
  /** RFC 6203 §3. */
  | { op: 'fuzzy'; key: SearchKey };

/** RFC 5256 §3 sort keys, + DISPLAYFROM/DISPLAYTO (RFC 5957 §3). */
export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
const SORT_KEYS: readonly SortKey[] = [
  'ARRIVAL',
  'CC',
  'DATE',
  'FROM',
  'SIZE',
  'SUBJECT',
  'TO',
  'DISPLAYFROM',
  'DISPLAYTO',
];

export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

export type StoreOperation = 'replace' | 'add' | 'remove';

export type ImapCommand =
  // Any state (RFC 9051 §6.1)
  | { name: 'CAPABILITY' }
  | { name: 'NOOP' }
  | { name: 'LOGOUT' }
  | { name: 'ID'; params: [string, string | null][] | null } // RFC 2971 §3.1
  | { name: 'COMPRESS'; mechanism: string } // RFC 4978 §3
  // Not authenticated (RFC 9051 §6.2)
  | { name: 'STARTTLS' }
  | { name: 'AUTHENTICATE'; mechanism: string; initialResponse: Buffer | null } // RFC 4959 SASL-IR
  | { name: 'LOGIN'; username: string; password: string }
  // Authenticated (RFC 9051 §6.3)
  | { name: 'ENABLE'; capabilities: string[] } // RFC 5161
  | { name: 'SELECT' | 'EXAMINE'; mailbox: string; condstore: boolean; qresync: QresyncParams | null }
  | { name: 'CREATE'; mailbox: string; specialUse: string[] } // RFC 6154 §3
  | { name: 'DELETE'; mailbox: string }
  | { name: 'RENAME'; from: string; to: string }
  | { name: 'SUBSCRIBE' | 'UNSUBSCRIBE'; mailbox: string }
  | {
      name: 'LIST';
      reference: string;
      patterns: string[];
      selection: ListSelection;
      returns: ListReturn;
      /** The client used RFC 5258 syntax (options or a pattern list): extended LIST response rules apply. */
      extended: boolean;
    }
  | { name: 'LSUB'; reference: string; pattern: string } // RFC 3501 §6.3.9
  | { name: 'NAMESPACE' }
  | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
  | { name: 'APPEND'; mailbox: string; messages: AppendMessage[] } // several: MULTIAPPEND, RFC 3502
  | { name: 'IDLE' } // RFC 2177
  | { name: 'GETQUOTA'; root: string } // RFC 9208 §4.2
  | { name: 'GETQUOTAROOT'; mailbox: string }
  | { name: 'SETQUOTA'; root: string; limits: { resource: string; limit: bigint }[] }
  // Selected (RFC 9051 §6.4)
  | { name: 'CHECK' } // RFC 3501 only
  | { name: 'CLOSE' }
  | { name: 'UNSELECT' }
  | { name: 'EXPUNGE'; uid: false; set: null }
  | { name: 'EXPUNGE'; uid: true; set: SequenceSet } // UID EXPUNGE, RFC 4315 §2.1
  | {
      name: 'SEARCH';
      uid: boolean;
      charset: string | null;
      /** null: the client asked for the old `* SEARCH` response. */
      returnOptions: SearchReturn | null;
      criteria: SearchKey;
    }
  | { name: 'FETCH'; uid: boolean; set: SequenceSet; items: FetchItem[]; modifiers: FetchModifiers }
  | {
      name: 'STORE';
      uid: boolean;
      set: SequenceSet;
      operation: StoreOperation;
      silent: boolean;
      flags: string[];
      /** RFC 7162 §3.1.3 UNCHANGEDSINCE. */
      unchangedSince: bigint | null;
    }
  | { name: 'COPY' | 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string } // MOVE: RFC 6851
  | {
      name: 'SORT'; // RFC 5256 §3, ESORT RFC 5267 §3
      uid: boolean;
      sort: SortCriterion[];
      charset: string;
      returnOptions: SearchReturn | null;
      criteria: SearchKey;
    }
  | { name: 'THREAD'; uid: boolean; algorithm: string; charset: string; criteria: SearchKey }; // RFC 5256 §3

export type ImapCommandName = ImapCommand['name'];

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

export type ParseOutcome =
  | {
      ok: true;
      tag: string;
      command: ImapCommand;
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

// ---------------------------------------------------------------------------------------------------
// Entry points

interface Ctx {
  r: Reader;
  utf8: boolean;
  maxDepth: number;
}

/** Parses one assembled command. Never throws. */
export function parseCommand(input: AssembledCommand | Buffer, opts: ParseOptions): ParseOutcome {
  const state: { tag: string | null; name: string | null } = { tag: null, name: null };
  try {
    const { tag, command, invalidMailboxName } = parse(input, opts, state);
    return invalidMailboxName ? { ok: true, tag, command, invalidMailboxName } : { ok: true, tag, command };
  } catch (err) {
    if (!(err instanceof ImapSyntaxError)) throw err;
    const kind = err instanceof UnknownCommandError ? 'unknown' : 'syntax';
    return { ok: false, kind, tag: state.tag, name: state.name, error: err };
  }
}

/** Parses one assembled command; throws ImapSyntaxError (or UnknownCommandError). */
export function parseCommandOrThrow(
  input: AssembledCommand | Buffer,
  opts: ParseOptions,
): { tag: string; command: ImapCommand } {
  return parse(input, opts, { tag: null, name: null });
}

function parse(
  input: AssembledCommand | Buffer,
  opts: ParseOptions,
  state: { tag: string | null; name: string | null },
): { tag: string; command: ImapCommand; invalidMailboxName: string | null } {
  const r = new Reader(input);
  const ctx: Ctx = { r, utf8: opts.utf8, maxDepth: opts.maxSearchDepth ?? 1000 };
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
  const parser = Object.hasOwn(PARSERS, name) ? PARSERS[name as keyof typeof PARSERS] : undefined;
  if (!parser) throw new UnknownCommandError(name, at);
  const command = parser(ctx, uid);
  r.end();
  return { tag, command, invalidMailboxName: r.invalidMailboxName };
}

type ArgParser = (ctx: Ctx, uid: boolean) => ImapCommand;

function noArgs<N extends ImapCommandName>(name: N): (ctx: Ctx) => { name: N } {
  return () => ({ name });
}

const PARSERS = {
  CAPABILITY: noArgs('CAPABILITY'),
  NOOP: noArgs('NOOP'),
  LOGOUT: noArgs('LOGOUT'),
  STARTTLS: noArgs('STARTTLS'),
  NAMESPACE: noArgs('NAMESPACE'), // RFC 2342, RFC 9051 §6.3.10
  IDLE: noArgs('IDLE'),
  CHECK: noArgs('CHECK'),
  CLOSE: noArgs('CLOSE'),
  UNSELECT: noArgs('UNSELECT'), // RFC 3691, RFC 9051 §6.4.2
  ID: parseId,
  COMPRESS: parseCompress,
  AUTHENTICATE: parseAuthenticate,
  LOGIN: parseLogin,
  ENABLE: parseEnable,
  SELECT: (ctx) => parseSelect(ctx, 'SELECT'),
  EXAMINE: (ctx) => parseSelect(ctx, 'EXAMINE'),
  CREATE: parseCreate,
  DELETE: (ctx) => ({ name: 'DELETE', mailbox: mailboxArg(ctx) }),
  RENAME: parseRename,
  SUBSCRIBE: (ctx) => ({ name: 'SUBSCRIBE', mailbox: mailboxArg(ctx) }),
  UNSUBSCRIBE: (ctx) => ({ name: 'UNSUBSCRIBE', mailbox: mailboxArg(ctx) }),
  LIST: parseList,
  LSUB: parseLsub,
  STATUS: parseStatus,
  APPEND: parseAppend,
  GETQUOTA: parseGetQuota,
  GETQUOTAROOT: (ctx) => ({ name: 'GETQUOTAROOT', mailbox: mailboxArg(ctx) }),
  SETQUOTA: parseSetQuota,
  EXPUNGE: parseExpunge,
  SEARCH: parseSearch,
  FETCH: parseFetch,
  STORE: parseStore,
  COPY: (ctx, uid) => parseCopyMove(ctx, uid, 'COPY'),
  MOVE: (ctx, uid) => parseCopyMove(ctx, uid, 'MOVE'),
  SORT: parseSort,
  THREAD: parseThread,
} satisfies Record<string, ArgParser>;

/** Every command name the parser knows (for CAPABILITY-independent checks and tests). */
export const COMMAND_NAMES = Object.keys(PARSERS) as (keyof typeof PARSERS)[];

// ---------------------------------------------------------------------------------------------------
// Any state / not authenticated

const LPAREN = 0x28;
const RPAREN = 0x29;
const DQUOTE = 0x22;
const LBRACE = 0x7b;
const TILDE = 0x7e;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LT = 0x3c;
const GT = 0x3e;
const DOT = 0x2e;
const MINUS = 0x2d;
const COLON = 0x3a;
const PLUS = 0x2b;
const SP = 0x20;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}

/** RFC 2971 §4: `id = "ID" SP id-params-list`; `id-params-list = "(" *(string SP nstring) ")" / nil`. */
function parseId({ r }: Ctx): ImapCommand {
  r.sp('after ID');
  if (r.tryNil()) return { name: 'ID', params: null };
  const params = r.list(
    (): [string, string | null] => {
      const key = r.astringText('an ID field name');
      r.sp('after the ID field name');
      const value = r.tryNil() ? null : r.astringText('an ID field value');
      return [key, value];
    },
    { allowEmpty: true, what: 'the ID parameter list' },
  );
  return { name: 'ID', params };
}

/** RFC 4978 §4: `compress = "COMPRESS" SP algorithm`. */
function parseCompress({ r }: Ctx): ImapCommand {
  r.sp('after COMPRESS');
  return { name: 'COMPRESS', mechanism: r.keyword('a compression algorithm') };
}

/**
 * RFC 9051 §6.2.2 and RFC 4959 §3 (SASL-IR): `authenticate = "AUTHENTICATE" SP auth-type
 * [SP initial-resp]`; `initial-resp = (base64 / "=")`, where "=" is an empty initial response.
 */
function parseAuthenticate({ r }: Ctx): ImapCommand {
  r.sp('after AUTHENTICATE');
  const mechanism = r.keyword('a SASL mechanism name');
  let initialResponse: Buffer | null = null;
  if (r.trySp()) {
    const at = r.pos;
    const start = r.pos;
    while (!r.atEnd && r.peek() !== SP) r.pos++;
    const text = r.data.toString('latin1', start, r.pos);
    if (text === '=') initialResponse = Buffer.alloc(0);
    else {
      const decoded = text === '' ? null : decodeBase64(text);
      if (!decoded) r.fail('the initial response is not valid base64 (use "=" for an empty one)', at);
      initialResponse = decoded;
    }
  }
  return { name: 'AUTHENTICATE', mechanism, initialResponse };
}

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

/** RFC 2177 §3 / RFC 9051 §6.3.13: the line that ends IDLE is `DONE` (case-insensitive). */
export function isIdleDone(line: Buffer): boolean {
  return line.length === 4 && line.toString('latin1').toUpperCase() === 'DONE';
}

/** RFC 9051 §6.2.3: `login = "LOGIN" SP userid SP password`, both astrings. */
function parseLogin({ r }: Ctx): ImapCommand {
  r.sp('after LOGIN');
  const username = r.astringText('the user name');
  r.sp('after the user name');
  const password = r.astringText('the password');
  return { name: 'LOGIN', username, password };
}

/** RFC 5161 §4 / RFC 9051 §6.3.1: `enable = "ENABLE" 1*(SP capability)`. */
function parseEnable({ r }: Ctx): ImapCommand {
  r.sp('after ENABLE');
  const capabilities = [r.keyword('a capability name')];
  while (r.trySp()) capabilities.push(r.keyword('a capability name'));
  return { name: 'ENABLE', capabilities };
}

// ---------------------------------------------------------------------------------------------------
// Authenticated state

function mailboxArg(ctx: Ctx): string {
  ctx.r.sp('before the mailbox name');
  return ctx.r.mailbox(ctx);
}

/**
 * RFC 9051 §6.3.2: `select = "SELECT" SP mailbox [select-params]` (RFC 4466 §2.1 select-params),
 * with CONDSTORE (RFC 7162 §3.1.8) and QRESYNC (RFC 7162 §3.2.5).
 */
function parseSelect(ctx: Ctx, name: 'SELECT' | 'EXAMINE'): ImapCommand {
  const { r } = ctx;
  const mailbox = mailboxArg(ctx);
  let condstore = false;
  let qresync: QresyncParams | null = null;
  if (r.trySp()) {
    r.list(
      () => {
        const at = r.pos;
        const param = r.keyword('a SELECT parameter');
        if (param === 'CONDSTORE') condstore = true;
        else if (param === 'QRESYNC') {
          r.sp('after QRESYNC');
          qresync = parseQresync(r);
        } else r.fail(`unknown ${name} parameter "${printable(param)}"`, at);
      },
      { what: `the ${name} parameters` },
    );
  }
  return { name, mailbox, condstore, qresync };
}

/**
 * RFC 7162 §7: `"QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`;
 * known-uids has no "*"; `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`.
 */
function parseQresync(r: Reader): QresyncParams {
  r.byte(LPAREN, '"(" to open the QRESYNC parameters');
  const uidValidity = r.nzNumber('the UIDVALIDITY');
  r.sp('after the UIDVALIDITY');
  const modSeq = r.number64('the last known mod-sequence');
  let knownUids: SequenceSet | null = null;
  let seqMatch: QresyncParams['seqMatch'] = null;
  if (r.trySp()) {
    if (r.peek() !== LPAREN) {
      knownUids = r.sequenceSet({ allowStar: false, allowSaved: false });
      if (r.trySp()) seqMatch = parseSeqMatch(r);
    } else seqMatch = parseSeqMatch(r);
  }
  r.byte(RPAREN, '")" to close the QRESYNC parameters');
  return { uidValidity, modSeq, knownUids, seqMatch };
}

function parseSeqMatch(r: Reader): { seqs: SequenceSet; uids: SequenceSet } {
  r.byte(LPAREN, '"(" to open the sequence match data');
  const seqs = r.sequenceSet({ allowSaved: false });
  r.sp('between the known sequence numbers and UIDs');
  const uids = r.sequenceSet({ allowSaved: false });
  r.byte(RPAREN, '")" to close the sequence match data');
  return { seqs, uids };
}

const USE_ATTRS = new Map(
  ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'].map((a) => [a.toUpperCase(), a]),
);

/**
 * RFC 9051 §6.3.4: `create = "CREATE" SP mailbox [create-params]` (RFC 4466 §2.2); RFC 6154 §6:
 * `create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"`.
 */
function parseCreate(ctx: Ctx): ImapCommand {
  const { r } = ctx;
  const mailbox = mailboxArg(ctx);
  const specialUse: string[] = [];
  if (r.trySp()) {
    r.list(
      () => {
        const at = r.pos;
        const param = r.keyword('a CREATE parameter');
        if (param !== 'USE') r.fail(`unknown CREATE parameter "${printable(param)}"`, at);
        r.sp('after USE');
        r.list(
          () => {
            r.byte(0x5c, 'a special-use attribute such as \\Drafts');
            const attr = `\\${r.atom('a special-use attribute name')}`;
            specialUse.push(USE_ATTRS.get(attr.toUpperCase()) ?? attr);
          },
          { allowEmpty: true, what: 'the USE list' },
        );
      },
      { what: 'the CREATE parameters' },
    );
  }
  return { name: 'CREATE', mailbox, specialUse };
}

/** RFC 9051 §6.3.6: `rename = "RENAME" SP mailbox SP mailbox`. */
function parseRename(ctx: Ctx): ImapCommand {
  const from = mailboxArg(ctx);
  ctx.r.sp('before the new mailbox name');
  return { name: 'RENAME', from, to: ctx.r.mailbox(ctx, 'the new mailbox name') };
}

/**
 * RFC 9051 §6.3.9 and RFC 5258 §6: `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
 * [SP list-return-opts]`; `mbox-or-pat = list-mailbox / patterns`.
 */
function parseList(ctx: Ctx): ImapCommand {
  const { r } = ctx;
  r.sp('after LIST');
  const selection: ListSelection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  const returns: ListReturn = { subscribed: false, children: false, specialUse: false, status: null };
  let extended = false;
  if (r.peek() === LPAREN) {
    extended = true;
    const at = r.pos;
    r.list(
      () => {
        const optAt = r.pos;
        const opt = r.keyword('a LIST selection option');
        if (opt === 'SUBSCRIBED') selection.subscribed = true;
        else if (opt === 'REMOTE') selection.remote = true;
        else if (opt === 'RECURSIVEMATCH') selection.recursiveMatch = true;
        else if (opt === 'SPECIAL-USE')
          selection.specialUse = true; // RFC 6154 §5.1
        else r.fail(`unknown LIST selection option "${printable(opt)}"`, optAt); // RFC 5258 §3 MUST BAD
      },
      { allowEmpty: true, what: 'the LIST selection options' },
    );
    // RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE only) MUST be answered with BAD.
    if (selection.recursiveMatch && !selection.subscribed && !selection.specialUse) {
      r.fail('RECURSIVEMATCH needs another selection option such as SUBSCRIBED (RFC 5258 §3.1)', at);
    }
    r.sp('after the LIST selection options');
  }
  const reference = r.mailbox(ctx, 'a reference name');
  r.sp('after the reference name');
  let patterns: string[];
  if (r.peek() === LPAREN) {
    extended = true;
    patterns = r.list(() => r.listMailbox(ctx), { what: 'the mailbox pattern list' });
  } else {
    patterns = [r.listMailbox(ctx)];
  }
  if (r.trySp()) {
    if (!r.tryKeyword('RETURN')) r.expected('RETURN');
    r.sp('after RETURN');
    extended = true;
    r.list(
      () => {
        const optAt = r.pos;
        const opt = r.keyword('a LIST return option');
        if (opt === 'SUBSCRIBED') returns.subscribed = true;
        else if (opt === 'CHILDREN') returns.children = true;
        else if (opt === 'SPECIAL-USE')
          returns.specialUse = true; // RFC 6154 §5.2
        else if (opt === 'STATUS') {
          // RFC 5819 §2: return-option =/ "STATUS" SP "(" status-att *(SP status-att) ")"
          r.sp('after STATUS');
          returns.status = statusItems(r);
        } else r.fail(`unknown LIST return option "${printable(opt)}"`, optAt);
      },
      { allowEmpty: true, what: 'the LIST return options' },
    );
  }
  return { name: 'LIST', reference, patterns, selection, returns, extended };
}

/** RFC 3501 §6.3.9: `lsub = "LSUB" SP mailbox SP list-mailbox`. */
function parseLsub(ctx: Ctx): ImapCommand {
  const { r } = ctx;
  r.sp('after LSUB');
  const reference = r.mailbox(ctx, 'a reference name');
  r.sp('after the reference name');
  return { name: 'LSUB', reference, pattern: r.listMailbox(ctx) };
}

function statusItems(r: Reader): StatusItem[] {
  return r.list(
    () => {
      const at = r.pos;
      const item = r.keyword('a STATUS item');
      if (!(STATUS_ITEMS as readonly string[]).includes(item)) r.fail(`unknown STATUS item "${printable(item)}"`, at);
      return item as StatusItem;
    },
    { what: 'the STATUS item list' },
  );
}

/** RFC 9051 §6.3.11: `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`. */
function parseStatus(ctx: Ctx): ImapCommand {
  const mailbox = mailboxArg(ctx);
  ctx.r.sp('after the mailbox name');
  return { name: 'STATUS', mailbox, items: statusItems(ctx.r) };
}

/**
 * RFC 9051 §6.3.12: `append = "APPEND" SP mailbox 1*append-message` (several: MULTIAPPEND, RFC 3502 §6);
 * `append-message = append-opts SP append-data`; `append-opts = [SP flag-list] [SP date-time]`;
 * `append-data = literal / literal8` (RFC 3516 §4.4) `/ "UTF8" SP "(" literal8 ")"` (RFC 6855 §4).
 */
function parseAppend(ctx: Ctx): ImapCommand {
  const { r } = ctx;
  const mailbox = mailboxArg(ctx);
  const messages: AppendMessage[] = [];
  do {
    r.sp(messages.length ? 'before the next message' : 'after the mailbox name');
    let flags: string[] = [];
    let internalDate: ImapDateTime | null = null;
    if (r.peek() === LPAREN) {
      flags = r.flagList();
      r.sp('after the flag list');
    }
    if (r.peek() === DQUOTE) {
      internalDate = r.dateTime();
      r.sp('after the date-time');
    }
    let utf8 = false;
    let lit: { data: Buffer; binary: boolean };
    const at = r.pos;
    if (r.tryKeyword('UTF8')) {
      utf8 = true;
      r.sp('after UTF8');
      r.byte(LPAREN, '"(" before the UTF8 message literal');
      lit = r.literal(true);
      r.byte(RPAREN, '")" after the UTF8 message literal');
    } else if (r.tryKeyword('CATENATE')) {
      return r.fail('CATENATE (RFC 4469) is not supported', at);
    } else if (r.peek() === LBRACE || (r.peek() === TILDE && r.peek(1) === LBRACE)) {
      lit = r.literal(true);
    } else {
      return r.expected('the message as a literal {n} or ~{n}');
    }
    messages.push({ flags, internalDate, data: lit.data, binary: lit.binary, utf8 });
  } while (!r.atEnd);
  return { name: 'APPEND', mailbox, messages };
}

/** RFC 9208 §4.2: `getquota = "GETQUOTA" SP quota-root-name` (an astring). */
function parseGetQuota({ r }: Ctx): ImapCommand {
  r.sp('after GETQUOTA');
  return { name: 'GETQUOTA', root: r.astringText('a quota root name') };
}

/**
 * RFC 9208 §4.1: `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`;
 * `setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"`;
 * `setquota-resource = resource-name SP resource-limit` (number64).
 */
function parseSetQuota({ r }: Ctx): ImapCommand {
  r.sp('after SETQUOTA');
  const root = r.astringText('a quota root name');
  r.sp('after the quota root name');
  const limits = r.list(
    () => {
      const resource = r.keyword('a quota resource name such as STORAGE');
      r.sp('after the resource name');
      return { resource, limit: r.number64('the resource limit') };
    },
    { allowEmpty: true, what: 'the quota limits' },
  );
  return { name: 'SETQUOTA', root, limits };
}

// ---------------------------------------------------------------------------------------------------
// Selected state

/** RFC 9051 §6.4.3 EXPUNGE; RFC 4315 §2.1 / RFC 9051 §6.4.9: `UID EXPUNGE SP sequence-set`. */
function parseExpunge({ r }: Ctx, uid: boolean): ImapCommand {
  if (!uid) return { name: 'EXPUNGE', uid: false, set: null };
  r.sp('after UID EXPUNGE');
  return { name: 'EXPUNGE', uid: true, set: r.sequenceSet() };
}

/** RFC 9051 §6.4.7 COPY, RFC 6851 §3 MOVE: `SP sequence-set SP mailbox`. */
function parseCopyMove(ctx: Ctx, uid: boolean, name: 'COPY' | 'MOVE'): ImapCommand {
  const { r } = ctx;
  r.sp(`after ${name}`);
  const set = r.sequenceSet();
  r.sp('after the sequence set');
  return { name, uid, set, mailbox: r.mailbox(ctx, 'the destination mailbox') };
}

/**
 * RFC 9051 §6.4.6 STORE: `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`;
 * `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`;
 * RFC 7162 §3.1.3: `store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer`.
 */
function parseStore({ r }: Ctx, uid: boolean): ImapCommand {
  r.sp('after STORE');
  const set = r.sequenceSet();
  r.sp('after the sequence set');
  let unchangedSince: bigint | null = null;
  if (r.peek() === LPAREN) {
    r.list(
      () => {
        const at = r.pos;
        const mod = r.keyword('a STORE modifier');
        if (mod !== 'UNCHANGEDSINCE') r.fail(`unknown STORE modifier "${printable(mod)}"`, at);
        r.sp('after UNCHANGEDSINCE');
        unchangedSince = r.number64('a mod-sequence');
      },
      { what: 'the STORE modifiers' },
    );
    r.sp('after the STORE modifiers');
  }
  let operation: StoreOperation = 'replace';
  if (r.tryByte(PLUS)) operation = 'add';
  else if (r.tryByte(MINUS)) operation = 'remove';
  const at = r.pos;
  const item = r.name('FLAGS, +FLAGS or -FLAGS');
  if (item !== 'FLAGS' && item !== 'FLAGS.SILENT')
    r.fail(`expected FLAGS or FLAGS.SILENT, not "${printable(item)}"`, at);
  r.sp('after FLAGS');
  let flags: string[];
  if (r.peek() === LPAREN) flags = r.flagList();
  else {
    flags = [r.flag()];
    while (r.trySp()) flags.push(r.flag());
  }
  return { name: 'STORE', uid, set, operation, silent: item === 'FLAGS.SILENT', flags, unchangedSince };
}

/**
 * RFC 9051 §6.4.5 FETCH: `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
 * "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]` (RFC 4466 §2.4).
 */
function parseFetch({ r }: Ctx, uid: boolean): ImapCommand {
  r.sp('after FETCH');
  const set = r.sequenceSet();
  r.sp('after the sequence set');
  let items: FetchItem[];
  // RFC 9051 §6.4.5: the macros, equivalent to the lists below; not allowed inside a list.
  if (r.tryKeyword('ALL')) items = kinds('flags', 'internaldate', 'rfc822.size', 'envelope');
  else if (r.tryKeyword('FAST')) items = kinds('flags', 'internaldate', 'rfc822.size');
  else if (r.tryKeyword('FULL')) items = kinds('flags', 'internaldate', 'rfc822.size', 'envelope', 'body');
  else if (r.peek() === LPAREN) items = r.list(() => fetchAtt(r), { what: 'the fetch attribute list' });
  else items = [fetchAtt(r)];
  const modifiers: FetchModifiers = {};
  if (r.trySp()) {
    r.list(
      () => {
        const at = r.pos;
        const mod = r.keyword('a FETCH modifier');
        if (mod === 'CHANGEDSINCE') {
          r.sp('after CHANGEDSINCE');
          modifiers.changedSince = r.number64('a mod-sequence');
        } else if (mod === 'VANISHED') {
          modifiers.vanished = true;
        } else if (mod === 'PARTIAL') {
          r.sp('after PARTIAL');
          modifiers.partial = partialRange(r);
        } else r.fail(`unknown FETCH modifier "${printable(mod)}"`, at);
      },
      { what: 'the FETCH modifiers' },
    );
    // RFC 7162 §3.2.6: VANISHED without UID FETCH, or without CHANGEDSINCE, MUST be answered with BAD.
    if (modifiers.vanished && (!uid || modifiers.changedSince === undefined)) {
      r.fail('VANISHED needs UID FETCH and CHANGEDSINCE (RFC 7162 §3.2.6)', r.pos);
    }
  }
  return { name: 'FETCH', uid, set, items, modifiers };
}

function kinds(...names: SimpleFetchAttr[]): FetchItem[] {
  return names.map((kind) => ({ kind }));
}

const SIMPLE_ATTRS = new Map<string, SimpleFetchAttr>([
  ['ENVELOPE', 'envelope'],
  ['FLAGS', 'flags'],
  ['INTERNALDATE', 'internaldate'],
  ['RFC822', 'rfc822'],
  ['RFC822.HEADER', 'rfc822.header'],
  ['RFC822.TEXT', 'rfc822.text'],
  ['RFC822.SIZE', 'rfc822.size'],
  ['BODYSTRUCTURE', 'bodystructure'],
  ['UID', 'uid'],
  ['MODSEQ', 'modseq'],
  ['EMAILID', 'emailid'],
  ['THREADID', 'threadid'],
  ['SAVEDATE', 'savedate'],
]);

/** RFC 9051 §9 `fetch-att`, + MODSEQ, EMAILID/THREADID, SAVEDATE and PREVIEW. */
function fetchAtt(r: Reader): FetchItem {
  const at = r.pos;
  const name = r.name('a fetch attribute');
  const simple = SIMPLE_ATTRS.get(name);
  if (simple) return { kind: simple };
  switch (name) {
    case 'BODY':
      if (r.peek() !== LBRACKET) return { kind: 'body' };
      return { kind: 'body-section', peek: false, section: section(r), partial: partialFetch(r) };
    case 'BODY.PEEK':
      return { kind: 'body-section', peek: true, section: section(r), partial: partialFetch(r) };
    case 'BINARY':
    case 'BINARY.PEEK':
      // RFC 3516 §4.2: "BINARY" [".PEEK"] section-binary [partial]
      return { kind: 'binary', peek: name === 'BINARY.PEEK', part: sectionBinary(r), partial: partialFetch(r) };
    case 'BINARY.SIZE':
      return { kind: 'binary.size', part: sectionBinary(r) };
    case 'PREVIEW': {
      // RFC 8970 §7: fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]; preview-mod = "LAZY".
      // "(" after PREVIEW may also open the fetch modifiers of a single-attribute FETCH; only LAZY decides.
      let lazy = false;
      if (r.peek() === SP && r.peek(1) === LPAREN) {
        const save = r.pos;
        r.pos += 2;
        const isMod = r.atKeyword('LAZY');
        r.pos = save;
        if (isMod) {
          r.sp();
          r.list(
            () => {
              const modAt = r.pos;
              if (!r.tryKeyword('LAZY')) r.fail('unknown PREVIEW modifier (only LAZY exists)', modAt);
              lazy = true;
            },
            { what: 'the PREVIEW modifiers' },
          );
        }
      }
      return { kind: 'preview', lazy };
    }
    default:
      return r.fail(`unknown fetch attribute "${printable(name)}"`, at);
  }
}

/**
 * RFC 9051 §9: `section = "[" [section-spec] "]"`; `section-spec = section-msgtext / (section-part
 * ["." section-text])`; `section-part = nz-number *("." nz-number)`; `section-text = section-msgtext /
 * "MIME"`; `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`.
 */
function section(r: Reader): Section {
  r.byte(LBRACKET, '"[" to open the section');
  const part: number[] = [];
  let text: SectionText | null = null;
  if (r.tryByte(RBRACKET)) return { part, text };
  if (isDigit(r.peek())) {
    part.push(r.nzNumber('a part number'));
    while (r.peek() === DOT) {
      r.pos++;
      if (isDigit(r.peek())) part.push(r.nzNumber('a part number'));
      else {
        text = sectionText(r, true);
        break;
      }
    }
  } else {
    text = sectionText(r, false);
  }
  r.byte(RBRACKET, '"]" to close the section');
  return { part, text };
}

function sectionText(r: Reader, afterPart: boolean): SectionText {
  const at = r.pos;
  const word = r.name('HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME');
  switch (word) {
    case 'HEADER':
      return { kind: 'header' };
    case 'TEXT':
      return { kind: 'text' };
    case 'MIME':
      // RFC 9051 §6.4.5: MIME refers to a part's MIME header, so it needs a part number.
      if (!afterPart) r.fail('MIME needs a part number, e.g. BODY[1.MIME]', at);
      return { kind: 'mime' };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      r.sp(`after ${word}`);
      const fields = r.list(() => headerFieldName(r), { what: 'the header field list' });
      return { kind: 'header.fields', not: word === 'HEADER.FIELDS.NOT', fields };
    }
    default:
      return r.fail(`unknown section "${printable(word)}"`, at);
  }
}

/** RFC 9051 §9 `header-fld-name = astring`, restricted to RFC 5322 §3.6.8 field-name characters. */
function headerFieldName(r: Reader): string {
  const at = r.pos;
  const name = r.astring('a header field name').toString('latin1');
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
    r.fail('a header field name is printable ASCII without ":" (RFC 5322 §3.6.8)', at);
  }
  return name;
}

/** RFC 3516 §4.2: `section-binary = "[" [section-part] "]"`. */
function sectionBinary(r: Reader): number[] {
  r.byte(LBRACKET, '"[" to open the section');
  const part: number[] = [];
  if (!r.tryByte(RBRACKET)) {
    part.push(r.nzNumber('a part number'));
    while (r.tryByte(DOT)) part.push(r.nzNumber('a part number'));
    r.byte(RBRACKET, '"]" to close the section (BINARY takes part numbers only)');
  }
  return part;
}

/** RFC 9051 §9: `partial = "<" number64 "." nz-number64 ">"`. */
function partialFetch(r: Reader): PartialFetch | null {
  if (!r.tryByte(LT)) return null;
  const at = r.pos;
  const offset = r.number64('the partial offset');
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) r.fail('partial offset is too large', at);
  r.byte(DOT, '"." between the partial offset and length');
  const length = r.nzNumber64('the partial length');
  r.byte(GT, '">" to close the partial range');
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return { offset: Number(offset), length: Number(length > max ? max : length) };
}

/**
 * RFC 9394 §6: `partial-range = partial-range-first / partial-range-last`;
 * `partial-range-first = nz-number ":" nz-number`; `partial-range-last = MINUS nz-number ":" MINUS nz-number`.
 * "500:400" is the same as "400:500".
 */
function partialRange(r: Reader): PartialRange {
  const fromEnd = r.tryByte(MINUS);
  const a = r.nzNumber('the first position of the PARTIAL range');
  r.byte(COLON, '":" in the PARTIAL range');
  if (fromEnd) r.byte(MINUS, '"-" (both ends of the range count from the end)');
  const b = r.nzNumber('the last position of the PARTIAL range');
  return { fromEnd, lo: Math.min(a, b), hi: Math.max(a, b) };
}

/**
 * RFC 9051 §6.4.4: `search = "SEARCH" [search-return-opts] SP search-program`;
 * `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`.
 */
function parseSearch(ctx: Ctx, uid: boolean): ImapCommand {
  const { r } = ctx;
  r.sp('after SEARCH');
  let returnOptions: SearchReturn | null = null;
  if (r.tryKeyword('RETURN')) {
    r.sp('after RETURN');
    returnOptions = searchReturn(r);
    r.sp('after the RETURN options');
  }
  let charset: string | null = null;
  if (r.tryKeyword('CHARSET')) {
    r.sp('after CHARSET');
    charset = r.astringText('a charset name');
    r.sp('after the charset');
  }
  return { name: 'SEARCH', uid, charset, returnOptions, criteria: searchKeys(ctx) };
}

/**
 * RFC 4731 §3.1 / RFC 9051 §9: `search-return-opts = SP "RETURN" SP "(" [search-return-opt
 * *(SP search-return-opt)] ")"`; an empty list means ALL. SAVE: RFC 5182 §2.2. PARTIAL: RFC 9394 §3.1.
 */
function searchReturn(r: Reader): SearchReturn {
  const ret: SearchReturn = { min: false, max: false, all: false, count: false, save: false, partial: null };
  const opts = r.list(
    () => {
      const at = r.pos;
      const opt = r.keyword('a RETURN option');
      switch (opt) {
        case 'MIN':
          ret.min = true;
          break;
        case 'MAX':
          ret.max = true;
          break;
        case 'ALL':
          ret.all = true;
          break;
        case 'COUNT':
          ret.count = true;
          break;
        case 'SAVE':
          ret.save = true;
          break;
        case 'PARTIAL':
          r.sp('after PARTIAL');
          ret.partial = partialRange(r);
          break;
        default:
          r.fail(`unknown RETURN option "${printable(opt)}"`, at);
      }
      return opt;
    },
    { allowEmpty: true, what: 'the RETURN options' },
  );
  // RFC 4731 §3.1: "RETURN ()" is the same as "RETURN (ALL)".
  if (opts.length === 0) ret.all = true;
  return ret;
}

/** `search-key *(SP search-key)`: several keys are ANDed (RFC 9051 §6.4.4). */
function searchKeys(ctx: Ctx): SearchKey {
  const keys = [searchKey(ctx, 0)];
  while (ctx.r.trySp()) keys.push(searchKey(ctx, 0));
  return keys.length === 1 ? keys[0] : { op: 'and', keys };
}

const FLAG_KEYS = new Map<string, [string, boolean]>([
  ['ANSWERED', ['\\Answered', true]],
  ['DELETED', ['\\Deleted', true]],
  ['DRAFT', ['\\Draft', true]],
  ['FLAGGED', ['\\Flagged', true]],
  ['SEEN', ['\\Seen', true]],
  ['UNANSWERED', ['\\Answered', false]],
  ['UNDELETED', ['\\Deleted', false]],
  ['UNDRAFT', ['\\Draft', false]],
  ['UNFLAGGED', ['\\Flagged', false]],
  ['UNSEEN', ['\\Seen', false]],
  // RFC 3501 §6.4.4 only (no \Recent in IMAP4rev2): RECENT, OLD = NOT RECENT.
  ['RECENT', ['\\Recent', true]],
  ['OLD', ['\\Recent', false]],
]);

const TEXT_KEYS = new Map<string, SearchTextField>([
  ['BCC', 'bcc'],
  ['BODY', 'body'],
  ['CC', 'cc'],
  ['FROM', 'from'],
  ['SUBJECT', 'subject'],
  ['TEXT', 'text'],
  ['TO', 'to'],
]);

const DATE_KEYS = new Map<string, [Extract<SearchKey, { op: 'date' }>['which'], 'before' | 'on' | 'since']>([
  ['BEFORE', ['internal', 'before']],
  ['ON', ['internal', 'on']],
  ['SINCE', ['internal', 'since']],
  ['SENTBEFORE', ['sent', 'before']],
  ['SENTON', ['sent', 'on']],
  ['SENTSINCE', ['sent', 'since']],
  ['SAVEDBEFORE', ['saved', 'before']], // RFC 8514 §4.3
  ['SAVEDON', ['saved', 'on']],
  ['SAVEDSINCE', ['saved', 'since']],
]);

/** RFC 9051 §9 `search-key`, + RFC 3501 NEW/OLD/RECENT, MODSEQ, OLDER/YOUNGER, EMAILID/THREADID, SAVED*, FUZZY. */
function searchKey(ctx: Ctx, depth: number): SearchKey {
  const { r } = ctx;
  if (depth > ctx.maxDepth) r.fail(`search criteria nested deeper than ${ctx.maxDepth} levels`);
  const c = r.peek();
  if (c === LPAREN) {
    // RFC 9051 §9: "(" search-key *(SP search-key) ")"
    const keys = r.list(() => searchKey(ctx, depth + 1), { what: 'the parenthesised search keys' });
    return keys.length === 1 ? keys[0] : { op: 'and', keys };
  }
  // RFC 9051 §9: search-key =/ sequence-set (and "$", RFC 5182 §2.1).
  if (isDigit(c) || c === 0x2a || c === 0x24) return { op: 'seq', set: r.sequenceSet() };
  const at = r.pos;
  const word = r.keyword('a search key');
  const flagKey = FLAG_KEYS.get(word);
  if (flagKey) return { op: 'flag', flag: flagKey[0], set: flagKey[1] };
  const textKey = TEXT_KEYS.get(word);
  if (textKey) {
    r.sp(`after ${word}`);
    return { op: 'text', field: textKey, value: r.astring(`the ${word} string`) };
  }
  const dateKey = DATE_KEYS.get(word);
  if (dateKey) {
    r.sp(`after ${word}`);
    return { op: 'date', which: dateKey[0], cmp: dateKey[1], date: r.date() };
  }
  switch (word) {
    case 'ALL':
      return { op: 'all' };
    case 'NEW':
      // RFC 3501 §6.4.4: NEW is RECENT UNSEEN.
      return {
        op: 'and',
        keys: [
          { op: 'flag', flag: '\\Recent', set: true },
          { op: 'flag', flag: '\\Seen', set: false },
        ],
      };
    case 'KEYWORD':
    case 'UNKEYWORD':
      r.sp(`after ${word}`);
      return { op: 'flag', flag: r.flag(), set: word === 'KEYWORD' };
    case 'HEADER': {
      r.sp('after HEADER');
      const field = headerFieldName(r);
      r.sp('after the header field name');
      return { op: 'header', field, value: r.astring('the header value to search for') };
    }
    case 'LARGER':
    case 'SMALLER': {
      r.sp(`after ${word}`);
      // RFC 9051 §9: "LARGER" SP number64
      const n = r.number64('a size in bytes');
      const size = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
      return { op: 'size', cmp: word === 'LARGER' ? 'larger' : 'smaller', size };
    }
    case 'NOT':
      r.sp('after NOT');
      return { op: 'not', key: searchKey(ctx, depth + 1) };
    case 'OR': {
      r.sp('after OR');
      const left = searchKey(ctx, depth + 1);
      r.sp('between the two keys of OR');
      return { op: 'or', left, right: searchKey(ctx, depth + 1) };
    }
    case 'UID':
      r.sp('after UID');
      return { op: 'uid', set: r.sequenceSet() };
    case 'OLDER':
    case 'YOUNGER':
      // RFC 5032 §3: "OLDER" SP nz-number / "YOUNGER" SP nz-number
      r.sp(`after ${word}`);
      return { op: 'age', cmp: word === 'OLDER' ? 'older' : 'younger', seconds: r.nzNumber('a number of seconds') };
    case 'MODSEQ':
      return modseqKey(r);
    case 'EMAILID':
    case 'THREADID': {
      // RFC 8474 §6: "EMAILID" SP objectid / "THREADID" SP objectid
      r.sp(`after ${word}`);
      const id = objectId(r);
      return word === 'EMAILID' ? { op: 'emailid', id } : { op: 'threadid', id };
    }
    case 'SAVEDATESUPPORTED':
      return { op: 'savedatesupported' };
    case 'FUZZY':
      r.sp('after FUZZY');
      return { op: 'fuzzy', key: searchKey(ctx, depth + 1) };
    default:
      return r.fail(`unknown search key "${printable(word)}"`, at);
  }
}

/**
 * RFC 7162 §7: `search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer`;
 * `search-modseq-ext = SP entry-name SP entry-type-req`; `entry-name = DQUOTE "/flags/" attr-flag DQUOTE`;
 * `entry-type-req = "priv" / "shared" / "all"`.
 */
function modseqKey(r: Reader): SearchKey {
  r.sp('after MODSEQ');
  let entry: Extract<SearchKey, { op: 'modseq' }>['entry'] = null;
  if (r.peek() === DQUOTE) {
    const at = r.pos;
    const name = r.quoted().toString('latin1');
    if (!name.toLowerCase().startsWith('/flags/') || name.length <= 7) {
      r.fail('a MODSEQ entry name looks like "/flags/\\\\Seen"', at);
    }
    const flag = canonicalFlag(name.slice(7));
    r.sp('after the MODSEQ entry name');
    const typeAt = r.pos;
    const type = r.keyword('priv, shared or all').toLowerCase();
    if (type !== 'priv' && type !== 'shared' && type !== 'all') r.expected('priv, shared or all', typeAt);
    r.sp('after the MODSEQ entry type');
    entry = { flag, type };
  }
  return { op: 'modseq', modSeq: r.number64('a mod-sequence'), entry };
}

/** RFC 8474 §7: `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`. */
function objectId(r: Reader): string {
  const at = r.pos;
  const id = r.atom('an object id');
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) r.fail('an object id is 1-255 letters, digits, "_" or "-"', at);
  return id;
}

/**
 * RFC 5256 §5: `sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria`;
 * `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`; `sort-criterion = ["REVERSE" SP] sort-key`;
 * `search-criteria = charset 1*(SP search-key)`. RFC 5267 §3 (ESORT): `[SP sort-return-opts]` after SORT.
 */
function parseSort(ctx: Ctx, uid: boolean): ImapCommand {
  const { r } = ctx;
  r.sp('after SORT');
  let returnOptions: SearchReturn | null = null;
  if (r.tryKeyword('RETURN')) {
    r.sp('after RETURN');
    returnOptions = searchReturn(r);
    r.sp('after the RETURN options');
  }
  const sort = r.list(
    (): SortCriterion => {
      const reverse = r.tryKeyword('REVERSE');
      if (reverse) r.sp('after REVERSE');
      const at = r.pos;
      const key = r.keyword('a sort key');
      if (!(SORT_KEYS as readonly string[]).includes(key)) r.fail(`unknown sort key "${printable(key)}"`, at);
      return { key: key as SortKey, reverse };
    },
    { what: 'the sort criteria' },
  );
  r.sp('after the sort criteria');
  const charset = r.astringText('a charset name');
  r.sp('after the charset');
  return { name: 'SORT', uid, sort, charset, returnOptions, criteria: searchKeys(ctx) };
}

/** RFC 5256 §5: `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`. */
function parseThread(ctx: Ctx, uid: boolean): ImapCommand {
  const { r } = ctx;
  r.sp('after THREAD');
  const algorithm = r.keyword('a threading algorithm such as REFERENCES');
  r.sp('after the threading algorithm');
  const charset = r.astringText('a charset name');
  r.sp('after the charset');
  return { name: 'THREAD', uid, algorithm, charset, criteria: searchKeys(ctx) };
}

// ---------------------------------------------------------------------------------------------------
// Echoing fetch items in responses

/** A section spec as it appears between brackets, e.g. `1.2.HEADER.FIELDS (From To)` (RFC 9051 §7.5.2). */
/** A header field name as an astring in a response (RFC 9051 §9 `header-fld-name`). */
function fieldName(name: string): string {
  return /^[\x21\x23\x24\x26\x27\x2b-\x5b\x5e-\x7a\x7c\x7e]+$/.test(name)
    ? name
    : `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function formatSection(s: Section): string {
  const parts = s.part.map(String);
  if (s.text) {
    switch (s.text.kind) {
      case 'header':
        parts.push('HEADER');
        break;
      case 'text':
        parts.push('TEXT');
        break;
      case 'mime':
        parts.push('MIME');
        break;
      case 'header.fields':
        parts.push(`HEADER.FIELDS${s.text.not ? '.NOT' : ''} (${s.text.fields.map(fieldName).join(' ')})`);
        break;
    }
  }
  return parts.join('.');
}

/**
 * The name a FETCH response uses for an item (RFC 9051 §7.5.2): `BODY.PEEK[...]` answers as `BODY[...]`,
 * a partial fetch as `BODY[...]<origin>`; RFC822.HEADER etc. answer under their own names.
 */
export function fetchResponseName(item: FetchItem): string {
  switch (item.kind) {
    case 'body-section':
      return `BODY[${formatSection(item.section)}]${item.partial ? `<${item.partial.offset}>` : ''}`;
    case 'binary':
      return `BINARY[${item.part.join('.')}]${item.partial ? `<${item.partial.offset}>` : ''}`;
    case 'binary.size':
      return `BINARY.SIZE[${item.part.join('.')}]`;
    case 'preview':
      return 'PREVIEW';
    default:
      return item.kind.toUpperCase();
  }
}
