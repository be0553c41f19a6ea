/**
 * Sieve at delivery (RFC 5228 §2.10): runs a local account's active script on a message and turns the
 * actions into delivery terms: the copies to store (`LocalTarget`s), addresses to redirect to, a
 * rejection, a vacation reply, and the `duplicate` ids to record. delivery.ts does the writes and sends.
 *
 * Invariants:
 * - A script never costs a message: a script that does not compile (stored before an upgrade, say), a
 *   run that fails (`SieveRuntimeError`: a limit, a missing include, conflicting actions) or any other
 *   error of the interpreter keeps the message in the default mailbox (INBOX, or Junk for junk) as RFC
 *   5228 §2.10.6 wants, with a log line naming the account, the script and the error.
 * - Compiled scripts are cached by the SHA-256 of their source (a compiled script depends on nothing
 *   else: `include` loads the other scripts at run time), in a least-recently-used map bounded in
 *   entries (CACHE_ENTRIES) and in source bytes (CACHE_BYTES). Failed compilations are cached too, so a
 *   broken script is not compiled again for every message.
 * - `fileinto` a mailbox that does not exist: with `:create` (RFC 5490 §3.2) it is made, with its
 *   superior names, under the same name rules and mailbox limit as IMAP CREATE
 *   (src/mail/mailbox-name.ts); without, or when the name is refused, the copy goes to the default
 *   mailbox with a log line, as Pigeonhole does.
 * - Several copies into the same mailbox are one copy (RFC 5228 §2.10.3: duplicate deliveries into one
 *   mailbox are suppressed; `keep` is `fileinto "INBOX"`). The script naming one mailbox twice is one
 *   store with the last one's flags (src/sieve/interpret.ts, as Pigeonhole); stores that meet here
 *   only after resolution (a missing mailbox falling back to INBOX beside a keep) get the union.
 * - The layer is given the world through `SieveContext`: the store's mailboxes, the account's other
 *   scripts (`include :personal`; there are no global scripts), and its `duplicate` memory.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import { canonicalName, checkNewName, MAX_MAILBOXES, parentsOf } from '../mail/mailbox-name.js';
import { compile, defaultSieveLimits, run } from '../sieve/index.js';
import {
  type CompileResult,
  type SieveAction,
  type SieveResult,
  SieveRuntimeError,
  type SieveVacation,
} from '../sieve/types.js';
import { type LocalTarget, type Store, StoreConflictError } from '../store/types.js';

/** Compiled scripts kept at most (see the header). */
export const CACHE_ENTRIES = 512;
/** Source bytes of the cached scripts at most. */
export const CACHE_BYTES = 16 * 1024 * 1024;

export interface SieveFilterOptions {
  /** `sieve.max_redirects`: redirect actions one run may take. */
  maxRedirects: number;
  /**
   * The environment items (RFC 5183 §4) every run shares: `domain`, `host`, `location`, `name`,
   * `phase`, `version`. `remote-ip` is added per message.
   */
  environment: Readonly<Record<string, string>>;
  log: Logger;
}

/** One account's delivery of one message, as the filter sees it. */
export interface FilterInput {
  accountId: number;
  /** The account's address (for logs). */
  account: string;
  /** The message as it will be stored (Return-Path and Received already prepended). */
  raw: Buffer;
  envelopeFrom: string;
  /** RCPT TO as the client gave it, `+detail` included. */
  envelopeTo: string;
  auth: string | null;
  /** The client's IP address, or null for mail generated here. */
  remoteIp: string | null;
  /** Asked only when the account has an active script: its own addresses (vacation's `:addresses` check). */
  userAddresses: () => Promise<string[]>;
  /** Where `keep` and every fallback go (INBOX, or the Junk mailbox for junk), and the flags every copy gets. */
  defaultTarget: { mailbox: string; flags: string[] };
  now: Date;
  /** For log lines: the delivery id. */
  id: string;
}

/** What one account's script decided, in delivery terms (see the header). */
export interface AccountPlan {
  accountId: number;
  account: string;
  /** Copies to store for the account; empty when the script discarded, rejected or only redirected it. */
  targets: LocalTarget[];
  /** The copy an implicit keep makes (the default mailbox): delivery's fallback when a redirect cannot go. */
  keep: LocalTarget;
  /** Addresses to redirect the message to, in the script's order. */
  redirects: string[];
  /** The reason of a `reject`/`ereject`, or null. */
  reject: string | null;
  vacation: SieveVacation | null;
  /** Ids of `duplicate` tests to record once the message is stored (RFC 7352 §3.1). */
  duplicates: { key: string; seconds: number }[];
  /** The active script's name, or null when the account has none (or it failed). */
  script: string | null;
  /** A few words for the delivery log line: the actions taken, or why the default was used. */
  summary: string;
}

export class SieveFilter {
  readonly #cache = new Map<string, { result: CompileResult; bytes: number }>();
  #cacheBytes = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: SieveFilterOptions,
  ) {}

  /** The plan for the account when no script runs (or one failed): one copy in the default mailbox. */
  static keep(input: Pick<FilterInput, 'accountId' | 'account' | 'defaultTarget'>, summary: string): AccountPlan {
    return {
      accountId: input.accountId,
      account: input.account,
      targets: [keepTarget(input)],
      keep: keepTarget(input),
      redirects: [],
      reject: null,
      vacation: null,
      duplicates: [],
      script: null,
      summary,
    };
  }

  /** Runs the account's active script, if any, and returns what to do (never throws for a script's fault). */
  async plan(input: FilterInput): Promise<AccountPlan> {
    const active = await this.store.sieve.active(input.accountId);
    if (!active) return SieveFilter.keep(input, 'keep');
    const log = { id: input.id, account: input.account, script: active.name };
    const compiled = this.#compile(active.source);
    if (!compiled.ok) {
      const e = compiled.errors[0];
      const where = e ? `line ${e.line} column ${e.column}: ${e.message}` : 'unknown error';
      this.opts.log.warn(
        { ...log, error: where },
        'Sieve script does not compile; the message is kept in INBOX (fix it with ManageSieve CHECKSCRIPT/PUTSCRIPT)',
      );
      return SieveFilter.keep(input, 'keep (script does not compile)');
    }
    let result: SieveResult;
    try {
      result = await run(
        compiled.script,
        {
          message: {
            raw: input.raw,
            envelopeFrom: input.envelopeFrom,
            envelopeTo: input.envelopeTo,
            auth: input.auth,
          },
          userAddresses: await input.userAddresses(),
          now: input.now,
          environment: input.remoteIp
            ? { ...this.opts.environment, 'remote-ip': input.remoteIp }
            : this.opts.environment,
          mailboxExists: async (name) =>
            (await this.store.mailboxes.get(input.accountId, canonicalName(name))) !== null,
          loadScript: async (name, location) =>
            location === 'personal' ? this.store.sieve.get(input.accountId, name) : null,
          duplicateSeen: (key) => this.store.sieve.seen(input.accountId, 'duplicate', key, input.now),
        },
        { ...defaultSieveLimits, maxRedirects: this.opts.maxRedirects },
      );
    } catch (err) {
      // RFC 5228 §2.10.6: a run-time error keeps the message (implicit keep into INBOX).
      if (err instanceof SieveRuntimeError) {
        const at = err.position ? ` (line ${err.position.line} column ${err.position.column})` : '';
        this.opts.log.warn(
          { ...log, error: `${err.message}${at}` },
          'Sieve script failed at run time; the message is kept in INBOX (RFC 5228 §2.10.6)',
        );
      } else {
        this.opts.log.error({ ...log, err }, 'Sieve interpreter failed; the message is kept in INBOX');
      }
      return SieveFilter.keep(input, 'keep (script failed)');
    }
    for (const w of result.warnings) this.opts.log.info({ ...log, warning: w }, 'Sieve warning');
    return this.#toPlan(input, active.name, result, log);
  }

  /** The compiled script for `source`, from the cache or compiled now (see the header). */
  #compile(source: string): CompileResult {
    const key = createHash('sha256').update(source).digest('hex');
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key); // most recently used goes last
      this.#cache.set(key, hit);
      return hit.result;
    }
    let result: CompileResult;
    try {
      result = compile(source, { limits: { maxRedirects: this.opts.maxRedirects } });
    } catch (err) {
      // A fault of the compiler, not of the script: the message is kept all the same (not cached).
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, errors: [{ line: 1, column: 1, message: `the compiler failed: ${message}` }] };
    }
    const bytes = Buffer.byteLength(source, 'utf8');
    this.#cache.set(key, { result, bytes });
    this.#cacheBytes += bytes;
    for (const [k, v] of this.#cache) {
      if (this.#cache.size <= CACHE_ENTRIES && this.#cacheBytes <= CACHE_BYTES) break;
      if (k === key) break; // the newest stays, however large
      this.#cache.delete(k);
      this.#cacheBytes -= v.bytes;
    }
    return result;
  }

  /** Cached compiled scripts now (tests). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  async #toPlan(
    input: FilterInput,
    script: string,
    result: SieveResult,
    log: Record<string, unknown>,
  ): Promise<AccountPlan> {
    const plan: AccountPlan = {
      accountId: input.accountId,
      account: input.account,
      targets: [],
      keep: keepTarget(input),
      redirects: [],
      reject: null,
      vacation: null,
      duplicates: result.duplicates,
      script,
      summary: '',
    };
    const words: string[] = [];
    const byMailbox = new Map<string, LocalTarget>();
    const add = (mailbox: string, flags: readonly string[]) => {
      const all = [...flags, ...input.defaultTarget.flags];
      const existing = byMailbox.get(mailbox);
      if (existing) {
        const have = new Set((existing.flags ?? []).map((f) => f.toLowerCase()));
        for (const f of all) if (!have.has(f.toLowerCase())) existing.flags?.push(f);
        return;
      }
      const target: LocalTarget = { accountId: input.accountId, mailbox, flags: all };
      byMailbox.set(mailbox, target);
      plan.targets.push(target);
    };
    for (const action of result.actions) {
      words.push(describe(action));
      switch (action.type) {
        case 'keep':
          add(input.defaultTarget.mailbox, action.flags);
          break;
        case 'fileinto':
          add(await this.#mailboxFor(input, action.mailbox, action.create, log), action.flags);
          break;
        case 'redirect':
          if (plan.redirects.length >= this.opts.maxRedirects) {
            // The interpreter enforces the limit; this is the second line.
            this.opts.log.warn({ ...log, to: action.address }, 'Sieve redirect over sieve.max_redirects ignored');
            break;
          }
          plan.redirects.push(action.address);
          break;
        case 'reject':
          plan.reject = action.reason;
          break;
        case 'discard':
          break;
        case 'vacation':
          plan.vacation = action;
          break;
        default:
          action satisfies never;
      }
    }
    plan.summary = words.join(', ') || 'no action';
    return plan;
  }

  /** The mailbox a `fileinto` goes to: the named one when it exists or `:create` made it, else the default. */
  async #mailboxFor(input: FilterInput, requested: string, create: boolean, log: Record<string, unknown>) {
    const name = canonicalName(requested);
    const fallback = input.defaultTarget.mailbox;
    if (name === 'INBOX' || (await this.store.mailboxes.get(input.accountId, name))) return name;
    if (!create) {
      this.opts.log.warn(
        { ...log, mailbox: name },
        `Sieve fileinto: mailbox "${name}" does not exist; the message goes to ${fallback} (create the mailbox, or use fileinto :create)`,
      );
      return fallback;
    }
    const check = checkNewName(name);
    if (!check.ok) {
      this.opts.log.warn(
        { ...log, mailbox: name, error: check.reason },
        `Sieve fileinto :create refused; the message goes to ${fallback}`,
      );
      return fallback;
    }
    // RFC 5490 §3.2 (:create), with the superior names as IMAP CREATE makes them (RFC 9051 §6.3.4).
    const existing = new Set((await this.store.mailboxes.list(input.accountId)).map((b) => b.name));
    const missing = [...parentsOf(check.name), check.name].filter((n) => !existing.has(n));
    if (existing.size + missing.length > MAX_MAILBOXES) {
      this.opts.log.warn(
        { ...log, mailbox: name },
        `Sieve fileinto :create refused: the account has ${MAX_MAILBOXES} mailboxes; the message goes to ${fallback}`,
      );
      return fallback;
    }
    for (const n of missing) {
      try {
        // Made by the filter, not by a client: subscribed, so that clients show it (as Pigeonhole with
        // lda_mailbox_autosubscribe).
        await this.store.mailboxes.create(input.accountId, n);
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err; // made meanwhile by another delivery: fine
      }
    }
    this.opts.log.info({ ...log, mailbox: check.name }, 'Sieve fileinto :create made the mailbox');
    return check.name;
  }
}

/** One copy in the default mailbox. */
function keepTarget(input: Pick<FilterInput, 'accountId' | 'defaultTarget'>): LocalTarget {
  return { accountId: input.accountId, mailbox: input.defaultTarget.mailbox, flags: [...input.defaultTarget.flags] };
}

/** An action in a few words, for the log. */
function describe(a: SieveAction): string {
  switch (a.type) {
    case 'keep':
      return a.implicit ? 'keep' : 'keep (explicit)';
    case 'fileinto':
      return `fileinto "${a.mailbox}"${a.copy ? ' :copy' : ''}`;
    case 'redirect':
      return `redirect <${a.address}>${a.copy ? ' :copy' : ''}`;
    case 'reject':
      return a.ereject ? 'ereject' : 'reject';
    case 'discard':
      return 'discard';
    case 'vacation':
      return `vacation to <${a.to}>`;
  }
}
