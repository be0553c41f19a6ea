/**
 * Delivery: who a recipient is (local account, alias, catch-all, remote) and storing an accepted
 * message: local copies with Return-Path + Received, remote recipients into the durable outbound queue.
 *
 * Invariants:
 * - `deliver` resolves only when every copy is durable (the store's contract); the SMTP engine sends
 *   250 after that and never before.
 * - Alias resolution follows aliases up to MAX_ALIAS_DEPTH and never loops; the result is a set of
 *   distinct local accounts plus remote addresses.
 * - Local copies share one blob (one set of bytes for all local recipients).
 * - Quota (an account's `quotaBytes`, else the store's default `store.default_quota`, see `quotaLimit`;
 *   usage is the sum of its message sizes): `resolve` reports each local account's usage so RCPT can
 *   refuse a full mailbox (`quotaRefusal`: 452 4.2.2 when full, or when a
 *   declared SIZE does not fit; 552 5.2.2 when SIZE exceeds the whole quota — RFC 1870 §6.5,
 *   RFC 3463 §3.3). `deliver` leaves the decision with the real size to the store's write (atomic with
 *   the insert, `DeliveryRequest.overQuota`): when the message fits none of the recipients (no remote
 *   ones, no local one with room) the store refuses it with OverQuotaError and stores nothing, and
 *   `deliver` throws QuotaExceededError (the SMTP engine answers 552 5.2.2). When only some local
 *   recipients overflow, every accepted copy is still delivered (a grace of one message, as Dovecot's
 *   quota_grace): after 250 the message may not be lost, and there is no bounce generator yet to tell
 *   the sender about a dropped copy.
 * - DKIM: the queued copy for remote recipients is signed once, before it is stored, when the message
 *   was submitted by an authenticated user or generated here (a DSN), and a key exists (dkim.ts) for
 *   the envelope sender's domain (the From: domain for the null sender) and that domain is local. Mail
 *   that arrived unauthenticated and is forwarded (aliases, Sieve redirects: `forwarded`) is never
 *   signed. The signature goes below our Received header; local copies are not signed. A signing
 *   error is logged and the mail goes unsigned.
 * - An authenticated submission missing a `Date:` or `Message-ID:` gets them first (RFC 6409 §8.1,
 *   §8.3; submission-header.ts), so every copy, local or queued, and the DKIM signature have them.
 * - A message marked `junk` (inbound checks, inbound-auth.ts) is stored in each local account's \Junk
 *   mailbox instead of INBOX, with the $Junk keyword; remote copies are unaffected.
 * - Subaddressing (RFC 5233): `user+detail@domain` resolves as itself when it is an account or an alias,
 *   else as `user@domain`, before the domain's catch-all (the order of Postfix's
 *   recipient_delimiter); the separators are `delivery.recipient_delimiter` ("" turns it off). The
 *   filter sees the address as the client gave it.
 * - Sieve (sieve.ts) runs for each local account of a message, after the inbound checks and before the
 *   message is stored, with the first RCPT address that reached the account as its envelope "to". Its
 *   copies (keep, fileinto, with flags) go into the same one atomic `store.deliver` as every other
 *   copy of the message; discard stores none for that account.
 * - Redirects (RFC 5228 §4.2) are delivered before that write, each as a new message with the original
 *   envelope sender (the null sender stays null) and a `Delivered-To:` naming the redirecting account:
 *   a redirected message cannot be lost after the 250 (a failure after them makes the client send
 *   again, and the redirect may then go twice: duplicates over loss, RFC 5321 §6.1). An account never
 *   redirects a message that already carries its `Delivered-To:` (Postfix's loop check): it keeps it.
 *   A message with redirects is stored even over quota, like one with remote recipients.
 * - reject/ereject (RFC 5429): when every local recipient rejects and nobody else takes the message,
 *   `deliver({ refuseInProtocol: true })` throws `SieveRejectError`, storing nothing (the SMTP engine
 *   answers 550 5.7.1 with the reason). Otherwise the others get the message and the sender gets a
 *   rejection notice (sieve-messages.ts), never the null sender.
 * - After the write: `duplicate` ids are recorded, vacation replies are sent when
 *   `store.sieve.remember` says the sender was not answered within the period (RFC 5230 §4.2), then
 *   rejection notices. Their failures are logged and never undo the delivery.
 * - Messages made here (redirects, vacation replies, notices) go through `deliver` again: a local
 *   recipient gets them at once (its own filter runs), others through the outbound queue, DKIM-signed
 *   when their sender's (or, for `<>`, their From:) domain is local. They nest at most
 *   MAX_GENERATED_DEPTH deep.
 */

import type { Logger } from '../log.js';
import { canonicalMailbox } from '../mail/address-syntax.js';
import { rfc5322Date } from '../mail/date.js';
import { parseMessage } from '../mail/parse.js';
import { DirectoryReads } from '../store/directory.js';
import {
  type Account,
  type JsonValue,
  type LocalTarget,
  OverQuotaError,
  type QueueRecipient,
  quotaLimit,
  type Store,
} from '../store/types.js';
import { VERSION } from '../version.js';
import { type DkimKeyStore, fromHeaderDomain, signMessage } from './dkim.js';
import { type AccountPlan, SieveFilter } from './sieve.js';
import { buildRejectNotice, buildVacationReply, deliveredTo, redirectCopy } from './sieve-messages.js';
import { completeSubmittedHeader } from './submission-header.js';

const MAX_ALIAS_DEPTH = 8;
/** How deep messages made by delivery (redirects, replies, notices) may make further ones. */
const MAX_GENERATED_DEPTH = 8;

/** A local account a recipient resolves to; `quota` is null when the account has no limit. */
export interface LocalAccount {
  id: number;
  address: string;
  quota: { used: number; limit: number } | null;
}

export type Resolution =
  | { kind: 'local'; accounts: LocalAccount[]; remote: string[] }
  | { kind: 'remote' }
  | { kind: 'unknown-user' };

export interface AcceptedRecipient {
  /** As given in RCPT TO. */
  address: string;
  resolution: Resolution;
  notify: string[] | null;
  orcpt: string | null;
}

export interface TraceInfo {
  /** The HELO/EHLO name the client gave (or what we used instead). */
  helo: string;
  remoteAddress: string;
  /** RFC 3848 protocol: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA; RFC 6531: UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA. */
  protocol: string;
  sessionId: string;
  tls: { protocol: string; cipher: string } | null;
  authUser: string | null;
}

export interface IncomingMessage {
  envelopeFrom: string;
  recipients: AcceptedRecipient[];
  /** The message as received (CRLF line endings). */
  data: Buffer;
  trace: TraceInfo;
  dsnRet: 'FULL' | 'HDRS' | null;
  dsnEnvid: string | null;
  /** Local copies go to each account's Junk mailbox (special-use \Junk) with the $Junk keyword. */
  junk?: boolean;
  /**
   * A copy made here of mail that arrived from elsewhere without a login (a Sieve redirect): never
   * DKIM-signed, like mail forwarded through an alias.
   */
  forwarded?: boolean;
}

export interface DeliveryReport {
  /** An id for the reply and the logs. */
  id: string;
  localCopies: number;
  queueId: number | null;
}

/** Why a recipient's mailbox cannot take a message (see `quotaRefusal`). */
export interface QuotaRefusal {
  /** `full`: usage reached the limit; `no-room`: the declared size does not fit now; `too-big`: never fits. */
  kind: 'full' | 'no-room' | 'too-big';
  address: string;
  used: number;
  limit: number;
}

/**
 * Whether RCPT must refuse this recipient for quota (RFC 1870 §6.5, RFC 3463 §3.3 X.2.2): one of its local
 * accounts is full, or the size declared with MAIL FROM SIZE= does not fit. Null when it may proceed.
 */
export function quotaRefusal(resolution: Resolution, declaredSize: number | null): QuotaRefusal | null {
  if (resolution.kind !== 'local') return null;
  for (const a of resolution.accounts) {
    if (!a.quota) continue;
    const { used, limit } = a.quota;
    const base = { address: a.address, used, limit };
    if (used >= limit) return { kind: 'full', ...base };
    if (declaredSize !== null && declaredSize > limit) return { kind: 'too-big', ...base };
    if (declaredSize !== null && used + declaredSize > limit) return { kind: 'no-room', ...base };
  }
  return null;
}

/** Thrown by `deliver` when the message fits no recipient's quota; nothing was stored. */
export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';

  constructor(
    readonly addresses: string[],
    readonly size: number,
  ) {
    super(`Mailbox full: the message (${size} bytes) does not fit the storage quota of ${addresses.join(', ')}`);
  }
}

/**
 * Thrown by `deliver({ refuseInProtocol: true })` when the Sieve scripts of all recipients rejected the
 * message (RFC 5429) and nobody else takes it; nothing was stored.
 */
export class SieveRejectError extends Error {
  override name = 'SieveRejectError';

  constructor(
    /** The reason the (first) script gave, as written: the SMTP engine makes it a reply line. */
    readonly reason: string,
    readonly addresses: string[],
  ) {
    super(`Rejected by the mail filter of ${addresses.join(', ')}: ${reason}`);
  }
}

export interface DeliveryOptions {
  hostname: string;
  product: string;
  log: Logger;
  /** Called after a message was durably queued for remote recipients (the outbound worker's wake-up). */
  onQueued?: (queueId: number) => void;
  /**
   * Called after a message from a client (not one made here) was durably stored for local recipients,
   * for the success DSNs that NOTIFY=SUCCESS asks (bounce.ts `deliveredHandler`); not awaited.
   */
  onDelivered?: (msg: IncomingMessage, id: string, arrival: Date) => Promise<void>;
  /** DKIM keys; without it nothing is signed. */
  dkim?: DkimKeyStore;
  /** `delivery.recipient_delimiter` (RFC 5233 subaddressing); default "+", "" turns it off. */
  recipientDelimiter?: string;
  /** `sieve.max_redirects`; default 4 (as Pigeonhole's sieve_max_redirects). */
  maxRedirects?: number;
}

/** How a caller of `deliver` can refuse a message. */
export interface DeliverOptions {
  /**
   * The caller answers the sender in its protocol (SMTP, at the end of DATA): a message every
   * recipient's filter rejects throws SieveRejectError instead of being answered with a notice.
   */
  refuseInProtocol?: boolean;
}

export class Delivery {
  #counter = 0;
  readonly #sieve: SieveFilter;
  readonly #delimiters: string;

  constructor(
    private readonly store: Store,
    private readonly opts: DeliveryOptions,
  ) {
    this.#delimiters = opts.recipientDelimiter ?? '+';
    const host = opts.hostname.toLowerCase();
    const dot = host.indexOf('.');
    this.#sieve = new SieveFilter(store, {
      maxRedirects: opts.maxRedirects ?? 4,
      // RFC 5183 §4: the items every run shares.
      environment: {
        domain: dot > 0 && dot < host.length - 1 ? host.slice(dot + 1) : host,
        host,
        location: 'MDA',
        name: 'postbode',
        phase: 'during',
        version: VERSION,
      },
      log: opts.log.child({ component: 'sieve' }),
    });
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    return this.store.domains.has(domain.toLowerCase());
  }

  /**
   * Resolves one recipient address (already syntactically valid, `local@domain`). What the first level
   * asks (the domain, the address and its catch-all as aliases, the address and its form without
   * detail as accounts, with their usage) is read at once (store/directory.ts), one round trip on
   * PostgreSQL; deeper alias targets are read one by one.
   */
  async resolve(address: string): Promise<Resolution> {
    const lower = canonicalMailbox(address).toLowerCase();
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    const base = this.#withoutDetail(lower);
    const names = base === null ? [lower] : [lower, base];
    const reads = await DirectoryReads.prefetch(this.store, {
      domains: [domain],
      aliases: [...names, `@${domain}`],
      accounts: names,
      usage: true,
    });
    if (!(await reads.hasDomain(domain))) {
      // RFC 5321 §4.5.1: RCPT TO:<Postmaster> without a domain MUST be accepted. SMTP reads it as
      // postmaster@<hostname>; when the hostname is no mail domain here, it is the first local domain's.
      if (lower === `postmaster@${this.opts.hostname.toLowerCase()}`) {
        const first = (await this.store.domains.list()).sort()[0];
        if (first !== undefined) return this.resolve(`postmaster@${first}`);
      }
      return { kind: 'remote' };
    }
    const accounts = new Map<number, Account>();
    const remote = new Set<string>();
    const seen = new Set<string>();
    const found = await this.#expand(reads, lower, 0, seen, accounts, remote);
    if (!found) {
      // RFC 5321 §4.5.1: postmaster must be accepted; without an alias it goes to the domain's first account.
      if (lower.startsWith('postmaster@')) {
        const first = (await this.store.accounts.list()).find((a) => a.address.endsWith(`@${domain}`));
        if (first) return { kind: 'local', accounts: [await this.#local(reads, first)], remote: [] };
      }
      return { kind: 'unknown-user' };
    }
    if (accounts.size === 0 && remote.size === 0) return { kind: 'unknown-user' };
    return {
      kind: 'local',
      accounts: await Promise.all([...accounts.values()].map((a) => this.#local(reads, a))),
      remote: [...remote],
    };
  }

  /** The account with its quota usage (only counted when it has a limit). */
  async #local(reads: DirectoryReads, account: Account): Promise<LocalAccount> {
    const limit = quotaLimit(this.store, account);
    const quota = limit === null ? null : { used: await reads.usage(account), limit };
    return { id: account.id, address: account.address, quota };
  }

  async #expand(
    reads: DirectoryReads,
    address: string,
    depth: number,
    seen: Set<string>,
    accounts: Map<number, Account>,
    remote: Set<string>,
  ): Promise<boolean> {
    if (seen.has(address) || depth > MAX_ALIAS_DEPTH) return true;
    seen.add(address);
    const domain = address.slice(address.lastIndexOf('@') + 1);
    if (depth > 0 && !(await reads.hasDomain(domain))) {
      remote.add(address);
      return true;
    }
    const targets = await reads.alias(address);
    if (targets) {
      for (const t of targets) await this.#expand(reads, t.toLowerCase(), depth + 1, seen, accounts, remote);
      return true;
    }
    const account = await reads.account(address);
    if (account && !account.disabled) {
      accounts.set(account.id, account);
      return true;
    }
    // RFC 5233: `user+detail` that is nothing itself is `user`, before the catch-all (as Postfix).
    const base = this.#withoutDetail(address);
    if (base !== null && !seen.has(base)) return this.#expand(reads, base, depth, seen, accounts, remote);
    const catchAll = await reads.alias(`@${domain}`);
    if (catchAll) {
      for (const t of catchAll) await this.#expand(reads, t.toLowerCase(), depth + 1, seen, accounts, remote);
      return true;
    }
    return false;
  }

  /** `user+detail@domain` → `user@domain` (the first delimiter found); null without a detail. */
  #withoutDetail(address: string): string | null {
    if (this.#delimiters === '') return null;
    const at = address.lastIndexOf('@');
    let cut = -1;
    for (let i = 0; i < at; i++) {
      if (this.#delimiters.includes(address[i])) {
        cut = i;
        break;
      }
    }
    return cut > 0 ? address.slice(0, cut) + address.slice(at) : null;
  }

  /** The account's mailbox with special-use \Junk (RFC 6154), else "Junk"; the store falls back to INBOX. */
  async #junkMailbox(accountId: number): Promise<string> {
    const boxes = await this.store.mailboxes.list(accountId);
    return boxes.find((b) => b.specialUse === '\\Junk')?.name ?? 'Junk';
  }

  /** The message signed when a DKIM key applies (see the header), else as it is. */
  async #dkimSign(id: string, msg: IncomingMessage): Promise<Buffer> {
    const keys = this.opts.dkim;
    if (!keys || msg.forwarded || (msg.trace.authUser === null && msg.trace.protocol !== 'local')) return msg.data;
    const from = msg.envelopeFrom;
    const domain = from ? from.slice(from.lastIndexOf('@') + 1).toLowerCase() : fromHeaderDomain(msg.data);
    if (!domain || !(await this.isLocalDomain(domain))) return msg.data;
    try {
      const key = keys.get(domain);
      if (!key) return msg.data;
      return await signMessage(msg.data, {
        domain: key.domain,
        selector: key.selector,
        privateKey: key.privateKey,
        algorithm: key.algorithm,
      });
    } catch (err) {
      this.opts.log.error({ id, domain, err }, 'DKIM signing failed; the message goes unsigned');
      return msg.data;
    }
  }

  /**
   * Stores the message for every recipient, where each local account's Sieve script puts it (see the
   * header). Resolves when all copies are durable. Throws QuotaExceededError, storing nothing, when the
   * message fits no recipient; with `refuseInProtocol`, SieveRejectError, storing nothing, when every
   * recipient's script rejected it.
   */
  deliver(msg: IncomingMessage, options: DeliverOptions = {}): Promise<DeliveryReport> {
    return this.#deliver(msg, options.refuseInProtocol ?? false, 0);
  }

  async #deliver(message: IncomingMessage, refuseInProtocol: boolean, depth: number): Promise<DeliveryReport> {
    const id = `${message.trace.sessionId}.${(++this.#counter).toString(36)}`;
    // RFC 6409 §8.1, §8.3: an authenticated submission gets the Date and Message-ID its author's
    // client left out, before it is signed (submission-header.ts).
    const msg =
      depth === 0 && message.trace.authUser !== null && !message.forwarded
        ? {
            ...message,
            data: completeSubmittedHeader(message.data, { hostname: this.opts.hostname, id, date: new Date() }),
          }
        : message;
    // Each local account once, with the recipient addresses that reached it (the first is the
    // envelope "to" its script sees).
    const accounts = new Map<number, { address: string; rcpts: string[] }>();
    const remote = new Map<string, QueueRecipient>();
    for (const r of msg.recipients) {
      if (r.resolution.kind === 'local') {
        for (const a of r.resolution.accounts) {
          const known = accounts.get(a.id);
          if (known) known.rcpts.push(r.address);
          else accounts.set(a.id, { address: a.address, rcpts: [r.address] });
        }
        for (const addr of r.resolution.remote) remote.set(addr, { address: addr, notify: r.notify, orcpt: r.orcpt });
      } else if (r.resolution.kind === 'remote') {
        remote.set(r.address, { address: r.address, notify: r.notify, orcpt: r.orcpt });
      }
    }
    const now = new Date();
    const singleRcpt = msg.recipients.length === 1 ? msg.recipients[0].address : null;
    const received = receivedHeader(msg.trace, {
      id,
      hostname: this.opts.hostname,
      product: this.opts.product,
      forRcpt: singleRcpt,
      date: now,
    });
    // RFC 5321 §4.4: the final delivery adds Return-Path with the envelope sender.
    const raw = Buffer.concat([Buffer.from(`Return-Path: <${msg.envelopeFrom}>\r\n${received}`), msg.data]);
    const plans = await this.#plans(id, msg, accounts, raw, now);

    // RFC 5429 §2.1–§2.2: refused in the protocol when nobody takes the message.
    const rejecting = plans.filter((p) => p.reject !== null);
    if (
      refuseInProtocol &&
      rejecting.length > 0 &&
      rejecting.length === plans.length &&
      remote.size === 0 &&
      plans.every((p) => p.targets.length === 0 && p.redirects.length === 0)
    ) {
      const addresses = rejecting.map((p) => p.account);
      this.opts.log.info(
        { id, from: msg.envelopeFrom, rejected: addresses, size: msg.data.length },
        "refused: the recipients' Sieve scripts rejected the message",
      );
      throw new SieveRejectError(rejecting[0].reject ?? '', addresses);
    }

    const redirected = await this.#redirect(id, msg, plans, received, depth);
    const local: LocalTarget[] = plans.flatMap((p) => p.targets);
    const byAccount = new Map(plans.map((p) => [p.accountId, p.account]));
    const writes: Promise<unknown>[] = [];
    if (local.length > 0) {
      // The store decides the quota in the write (types.ts DeliveryRequest.overQuota): with remote
      // recipients or redirects the message is accepted anyway, so local copies are stored even over quota.
      const stored = this.store
        .deliver({
          raw,
          meta: parseMessage(raw) as unknown as JsonValue,
          internalDate: now,
          local,
          overQuota: remote.size > 0 || redirected > 0 ? 'accept' : 'refuse',
        })
        .then(
          (result) => {
            if (result.overQuota.length > 0) {
              this.opts.log.warn(
                { id, over: result.overQuota.map((a) => byAccount.get(a)), size: raw.length },
                'delivered over quota (grace: other recipients had room)',
              );
            }
          },
          (err: unknown) => {
            if (!(err instanceof OverQuotaError)) throw err;
            throw new QuotaExceededError(
              err.accountIds.map((a) => byAccount.get(a) ?? String(a)),
              msg.data.length,
            );
          },
        );
      writes.push(stored);
    }
    let queueId: number | null = null;
    if (remote.size > 0) {
      const queued = Buffer.concat([Buffer.from(received), await this.#dkimSign(id, msg)]);
      writes.push(
        this.store
          .deliver({
            raw: queued,
            meta: parseMessage(queued) as unknown as JsonValue,
            internalDate: now,
            local: [],
            remote: {
              envelopeFrom: msg.envelopeFrom,
              recipients: [...remote.values()],
              dsnRet: msg.dsnRet,
              dsnEnvid: msg.dsnEnvid,
            },
          })
          .then((r) => {
            queueId = r.queueId;
          }),
      );
    }
    await Promise.all(writes);
    const filtered = plans.filter((p) => p.script !== null);
    this.opts.log.info(
      {
        id,
        from: msg.envelopeFrom,
        local: [...new Set(local.map((t) => byAccount.get(t.accountId)))],
        remote: [...remote.keys()],
        size: msg.data.length,
        queueId,
        ...(filtered.length > 0 ? { sieve: Object.fromEntries(filtered.map((p) => [p.account, p.summary])) } : {}),
      },
      'delivered',
    );
    const queued = queueId as number | null; // assigned in the write above
    if (queued !== null) this.opts.onQueued?.(queued);
    await this.#afterWrite(id, msg, plans, now, depth);
    if (depth === 0 && accounts.size > 0 && msg.envelopeFrom !== '' && this.opts.onDelivered) {
      this.opts.onDelivered(msg, id, now).catch((err: unknown) => {
        this.opts.log.warn({ id, err }, 'could not send the delivery report (NOTIFY=SUCCESS)');
      });
    }
    return { id, localCopies: local.length, queueId };
  }

  /** Each local account's plan: its Sieve script's decision, or one copy in INBOX (Junk for junk). */
  async #plans(
    id: string,
    msg: IncomingMessage,
    accounts: Map<number, { address: string; rcpts: string[] }>,
    raw: Buffer,
    now: Date,
  ): Promise<AccountPlan[]> {
    let index: Promise<Map<string, string[]>> | null = null;
    return Promise.all(
      [...accounts].map(async ([accountId, { address, rcpts }]) => {
        const defaultTarget = msg.junk
          ? { mailbox: await this.#junkMailbox(accountId), flags: ['$Junk'] }
          : { mailbox: 'INBOX', flags: [] };
        return this.#sieve.plan({
          id,
          accountId,
          account: address,
          raw,
          envelopeFrom: msg.envelopeFrom,
          envelopeTo: rcpts[0],
          auth: msg.trace.authUser,
          remoteIp: msg.trace.protocol === 'local' ? null : msg.trace.remoteAddress,
          // RFC 5230 §4.5: the account's own addresses, its aliases, and the addresses it was reached at.
          userAddresses: async () => {
            index ??= this.#aliasIndex();
            const all = [address, ...aliasesOf(address, await index), ...rcpts.map((r) => r.toLowerCase())];
            return [...new Set(all)];
          },
          defaultTarget,
          now,
        });
      }),
    );
  }

  /** Alias target → the exact aliases naming it (catch-alls give no address of one's own). */
  async #aliasIndex(): Promise<Map<string, string[]>> {
    const index = new Map<string, string[]>();
    for (const { alias, targets } of await this.store.aliases.list()) {
      if (alias.startsWith('@')) continue;
      for (const t of targets) {
        const key = t.toLowerCase();
        const list = index.get(key);
        if (list) list.push(alias);
        else index.set(key, [alias]);
      }
    }
    return index;
  }

  /**
   * Sends the redirects of every plan before the message is stored (see the header); returns how many
   * went. A redirect that loops (the message carries the account's Delivered-To), or that has nowhere
   * to go, leaves the message with the account instead.
   */
  async #redirect(
    id: string,
    msg: IncomingMessage,
    plans: AccountPlan[],
    received: string,
    depth: number,
  ): Promise<number> {
    let sent = 0;
    const marks = deliveredTo(msg.data);
    for (const plan of plans) {
      if (plan.redirects.length === 0) continue;
      let kept = false;
      if (marks.has(plan.account)) {
        this.opts.log.warn(
          { id, account: plan.account, to: plan.redirects },
          'Sieve redirect not sent: the message already carries Delivered-To for this account (a forwarding loop); it is kept',
        );
        kept = true;
      } else {
        const data = redirectCopy(plan.account, received, msg.data);
        // Signed only when the original could have been (see #dkimSign): a redirect is no way to get
        // outside mail that claims a local sender signed with our key.
        const forwarded = msg.forwarded === true || (msg.trace.authUser === null && msg.trace.protocol !== 'local');
        for (const to of plan.redirects) {
          const copy = { envelopeFrom: msg.envelopeFrom, to, data, junk: msg.junk, forwarded };
          if (await this.#send({ id, kind: 'redirect', depth, ...copy })) sent++;
          else kept = true;
        }
      }
      if (kept && plan.targets.length === 0) plan.targets.push({ ...plan.keep, flags: [...(plan.keep.flags ?? [])] });
    }
    return sent;
  }

  /** After the write: `duplicate` ids, vacation replies and rejection notices (failures only logged). */
  async #afterWrite(id: string, msg: IncomingMessage, plans: AccountPlan[], now: Date, depth: number): Promise<void> {
    for (const plan of plans) {
      try {
        // RFC 7352 §3.1: the ids are recorded once the message was delivered.
        for (const d of plan.duplicates) {
          await this.store.sieve.remember(plan.accountId, 'duplicate', d.key, d.seconds, now);
        }
        const v = plan.vacation;
        // RFC 5230 §4.2: one reply per sender (and :handle) per period, decided atomically by the store.
        if (v && (await this.store.sieve.remember(plan.accountId, 'vacation', v.memoryKey, v.periodSeconds, now))) {
          const reply = buildVacationReply({
            vacation: v,
            original: msg.data,
            account: plan.account,
            hostname: this.opts.hostname,
            date: now,
          });
          await this.#send({ id, kind: 'vacation reply', envelopeFrom: '', to: v.to, data: reply, depth });
        } else if (v) {
          this.opts.log.info({ id, account: plan.account, to: v.to }, 'vacation: already answered within its period');
        }
        if (plan.reject !== null) {
          // RFC 5429 §2.1: a notice to the envelope sender, never to the null sender.
          if (msg.envelopeFrom === '') {
            this.opts.log.info({ id, account: plan.account }, 'Sieve reject: no notice to the null sender');
          } else {
            const notice = buildRejectNotice({
              reason: plan.reject,
              original: msg.data,
              recipient: plan.account,
              envelopeFrom: msg.envelopeFrom,
              hostname: this.opts.hostname,
              date: now,
            });
            await this.#send({
              id,
              kind: 'rejection notice',
              envelopeFrom: '',
              to: msg.envelopeFrom,
              data: notice,
              depth,
            });
          }
        }
      } catch (err) {
        this.opts.log.error(
          { id, account: plan.account, err },
          'Sieve: a reply or notice failed; the message was delivered',
        );
      }
    }
  }

  /**
   * Delivers a message made here (redirect, vacation reply, rejection notice) to one address: a local
   * account at once, others through the queue (see the header). False, with a log line, when it cannot
   * go anywhere; store failures throw.
   */
  async #send(m: {
    id: string;
    kind: string;
    envelopeFrom: string;
    to: string;
    data: Buffer;
    depth: number;
    junk?: boolean;
    forwarded?: boolean;
  }): Promise<boolean> {
    const log = { id: m.id, to: m.to };
    if (m.depth + 1 >= MAX_GENERATED_DEPTH) {
      this.opts.log.warn(
        log,
        `${m.kind} not sent: messages made by delivery nest ${MAX_GENERATED_DEPTH} deep (a loop?)`,
      );
      return false;
    }
    const resolution = await this.resolve(m.to);
    if (resolution.kind === 'unknown-user') {
      this.opts.log.warn(log, `${m.kind} not sent: <${m.to}> is no user here`);
      return false;
    }
    try {
      const report = await this.#deliver(
        {
          envelopeFrom: m.envelopeFrom,
          recipients: [{ address: m.to, resolution, notify: null, orcpt: null }],
          data: m.data,
          trace: {
            helo: this.opts.hostname,
            remoteAddress: '127.0.0.1',
            protocol: 'local',
            sessionId: m.id,
            tls: null,
            authUser: null,
          },
          dsnRet: null,
          dsnEnvid: null,
          ...(m.junk ? { junk: true } : {}),
          ...(m.forwarded ? { forwarded: true } : {}),
        },
        false,
        m.depth + 1,
      );
      this.opts.log.info({ ...log, sent: report.id }, `${m.kind} sent`);
      return true;
    } catch (err) {
      if (!(err instanceof QuotaExceededError)) throw err;
      this.opts.log.warn(log, `${m.kind} not sent: the mailbox of <${m.to}> is full`);
      return false;
    }
  }
}

/** The exact aliases that lead to `address`, through nested aliases up to MAX_ALIAS_DEPTH. */
function aliasesOf(address: string, index: Map<string, string[]>): string[] {
  const found = new Set<string>();
  let level = [address];
  for (let depth = 0; depth < MAX_ALIAS_DEPTH && level.length > 0; depth++) {
    const next: string[] = [];
    for (const a of level) {
      for (const alias of index.get(a) ?? []) {
        if (alias !== address && !found.has(alias)) {
          found.add(alias);
          next.push(alias);
        }
      }
    }
    level = next;
  }
  return [...found];
}

/** RFC 5321 §4.4 trace header, folded, with the RFC 3848 protocol and TLS details. */
export function receivedHeader(
  t: TraceInfo,
  o: { id: string; hostname: string; product: string; forRcpt: string | null; date: Date },
): string {
  const ip = t.remoteAddress.includes(':') ? `IPv6:${t.remoteAddress}` : t.remoteAddress;
  let h = `Received: from ${t.helo} ([${ip}])\r\n\tby ${o.hostname} (${o.product}) with ${t.protocol} id ${o.id}`;
  if (t.tls) h += `\r\n\t(using ${t.tls.protocol} with cipher ${t.tls.cipher})`;
  if (t.authUser) h += `\r\n\t(authenticated as ${t.authUser})`;
  if (o.forRcpt) h += `\r\n\tfor <${o.forRcpt}>`;
  return `${h};\r\n\t${rfc5322Date(o.date)}\r\n`;
}
