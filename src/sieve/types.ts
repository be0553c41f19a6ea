/**
 * The Sieve layer's public types (RFC 5228 and the extensions of docs/sieve.md): what a caller gives
 * the interpreter and what it gets back. `index.ts` exports, beside these types:
 *
 * - `compile(source, options?) → CompileResult`: parse and validate a script. Every error names its
 *   1-based line and column. A script that compiles never throws at `run` for a reason `compile`
 *   could have seen (unknown command, wrong arguments, extension used without `require`).
 * - `run(script, context, limits?) → Promise<SieveResult>`: evaluate a compiled script for one
 *   message and one recipient. Throws `SieveRuntimeError` when the script fails at run time (a limit
 *   reached, an `include` that is missing or loops, conflicting actions such as reject with fileinto):
 *   the caller then files the message in INBOX as RFC 5228 §2.10.6 wants.
 *
 * Invariants:
 * - The layer is pure: no store, no network, no clock of its own. What it needs from the world comes
 *   through `SieveContext` (the time, other scripts for `include`, mailbox existence, the duplicate
 *   memory), so the same script and context give the same actions, which the differential tests
 *   against Pigeonhole rely on.
 * - Every loop the script can drive is bounded by `SieveLimits`.
 * - The interpreter decides *whether* an action applies (RFC 5230 §4.5–§5 for vacation: no reply to
 *   the null sender, Auto-Submitted, Precedence bulk/list/junk, List-Id, or mail not addressed to the
 *   user). Remembering whom vacation answered, and when, is the caller's: it gets the key and period.
 */

/** A place in the script text: 1-based line and column (the column counts characters). */
export interface SievePosition {
  line: number;
  column: number;
}

export interface SieveDiagnostic extends SievePosition {
  message: string;
}

/** The bounds of one compile and one run. Defaults in `defaultSieveLimits` (index.ts). */
export interface SieveLimits {
  /** Largest script source, in bytes (UTF-8). */
  maxScriptBytes: number;
  /** Most actions one run may take (keep, fileinto, redirect, reject, discard, vacation count once each; duplicates that collapse, and flag changes, do not count). */
  maxActions: number;
  /** Most `redirect` actions one run may take. */
  maxRedirects: number;
  /** Deepest `include` nesting. */
  maxIncludeDepth: number;
  /**
   * Most commands and tests evaluated in one run (a bound on run time that does not read a clock); the
   * characters :matches may examine are bounded with it (1,000 per step).
   */
  maxSteps: number;
  /** Longest value a variable (RFC 5229) may hold, in bytes; longer values are truncated. */
  maxVariableBytes: number;
  /**
   * The shortest and longest vacation period, in seconds: a `:days`/`:seconds` outside is moved to the
   * bound (Pigeonhole's sieve_vacation_min_period/max_period; defaults 1 day and 60 days; a maximum of
   * 0 means none). Optional, so a `SieveLimits` written before they existed stays valid.
   */
  vacationMinSeconds?: number;
  vacationMaxSeconds?: number;
}

export interface CompileOptions {
  /** The extensions a script may `require`; default: every extension the layer supports. */
  extensions?: readonly string[];
  limits?: Partial<SieveLimits>;
}

/** A compiled script: opaque to callers, reusable for many runs. */
export interface SieveScript {
  readonly source: string;
  /** The extensions the script requires (for `include`d scripts, checked when they are loaded). */
  readonly requires: readonly string[];
}

export type CompileResult = { ok: true; script: SieveScript } | { ok: false; errors: SieveDiagnostic[] };

/** The message being delivered and its envelope. */
export interface SieveMessage {
  /** The whole message as it will be stored (header and body). */
  raw: Buffer;
  /** Envelope sender (MAIL FROM) without brackets; '' for the null sender `<>`. */
  envelopeFrom: string;
  /** Envelope recipient (RCPT TO) as the client gave it, with any `+detail`. */
  envelopeTo: string;
  /** The authenticated submitter, when there was one (envelope `auth`). */
  auth?: string | null;
}

export interface SieveContext {
  message: SieveMessage;
  /** The account the script runs for: its own address and its aliases (vacation's own addresses). */
  userAddresses: readonly string[];
  /** The current time, for `date`/`currentdate` and vacation periods. */
  now: Date;
  /**
   * The environment extension's items (RFC 5183): at least `domain`, `host`, `location` ("MDA"),
   * `name` ("postbode"), `phase` ("during"), `version`, and `remote-host`/`remote-ip` when known.
   */
  environment: Readonly<Record<string, string>>;
  /** `mailboxexists` and `fileinto :create`: does the account have this mailbox (UTF-8 name)? */
  mailboxExists(name: string): Promise<boolean>;
  /** `include`: the source of another script of the account (`:personal`) or of the server (`:global`), or null. */
  loadScript(name: string, location: 'personal' | 'global'): Promise<string | null>;
  /** `duplicate` (RFC 7352): was this key recorded and has it not expired? */
  duplicateSeen(key: string): Promise<boolean>;
}

/** One action of the result, after implicit keep and cancellation are applied. */
export type SieveAction =
  /** Store in INBOX (explicit or implicit keep) with these flags (imap4flags; empty: none). */
  | { type: 'keep'; flags: string[]; implicit: boolean }
  /** Store in `mailbox` (UTF-8 name); `create`: make it when missing (RFC 5490 `:create`). */
  | { type: 'fileinto'; mailbox: string; flags: string[]; copy: boolean; create: boolean }
  /** Forward to `address`; `copy` means it does not cancel the implicit keep (RFC 3894). */
  | { type: 'redirect'; address: string; copy: boolean }
  /** Refuse the message with `reason` (RFC 5429); `ereject`: refuse in the protocol where possible. */
  | { type: 'reject'; reason: string; ereject: boolean }
  | { type: 'discard' }
  | SieveVacation;

/** A vacation reply the interpreter decided is due (RFC 5230), before the caller's memory of replies. */
export interface SieveVacation {
  type: 'vacation';
  /** Who gets the reply: the envelope sender (or Return-Path). */
  to: string;
  /**
   * `:from`, or null for the recipient's own address. A constant :from was checked by `compile`; one
   * built from variables is passed on as it is (as Pigeonhole does): check it before writing a From.
   */
  from: string | null;
  /** `:subject`, or null for "Auto: " + the original subject (RFC 5230 §5.4). */
  subject: string | null;
  /** The reason text; with `mime`, a MIME entity (headers and body) to send as the body. */
  reason: string;
  mime: boolean;
  /** The period during which the same sender is not answered again, in seconds (`:days` × 86400 or `:seconds`). */
  periodSeconds: number;
  /** Key of the caller's reply memory: sender and `:handle` (or the reason and arguments), hashed. */
  memoryKey: string;
  /** The original's Message-ID, for In-Reply-To/References, or null. */
  inReplyTo: string | null;
}

export interface SieveResult {
  actions: SieveAction[];
  /** Keys the `duplicate` tests of this run ask to record, each with its expiry in seconds (RFC 7352 §3.1). */
  duplicates: { key: string; seconds: number }[];
  /** Messages of `ereject`/`reject` etc. are in actions; these are non-fatal notes for the log. */
  warnings: string[];
}

export class SieveRuntimeError extends Error {
  override name = 'SieveRuntimeError';

  constructor(
    message: string,
    readonly position: SievePosition | null = null,
  ) {
    super(message);
  }
}
