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
 *   that arrived unauthenticated and is forwarded (aliases) is never signed. The signature goes below
 *   our Received header; local copies are not signed. A signing error is logged and the mail goes
 *   unsigned.
 * - A message marked `junk` (inbound checks, inbound-auth.ts) is stored in each local account's \Junk
 *   mailbox instead of INBOX; remote copies are unaffected.
 */
import type { Logger } from '../log.js';
import { parseMessage } from '../mail/parse.js';
import {
  type Account,
  type JsonValue,
  OverQuotaError,
  type QueueRecipient,
  quotaLimit,
  type Store,
} from '../store/types.js';
import { type DkimKeyStore, fromHeaderDomain, signMessage } from './dkim.js';

const MAX_ALIAS_DEPTH = 8;

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
  /** RFC 3848 protocol: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA. */
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

export class Delivery {
  #counter = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: {
      hostname: string;
      product: string;
      log: Logger;
      /** Called after a message was durably queued for remote recipients (the outbound worker's wake-up). */
      onQueued?: (queueId: number) => void;
      /** DKIM keys; without it nothing is signed. */
      dkim?: DkimKeyStore;
    },
  ) {}

  async isLocalDomain(domain: string): Promise<boolean> {
    return this.store.domains.has(domain.toLowerCase());
  }

  /** Resolves one recipient address (already syntactically valid, `local@domain`). */
  async resolve(address: string): Promise<Resolution> {
    const lower = address.toLowerCase();
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    if (!(await this.isLocalDomain(domain))) return { kind: 'remote' };
    const accounts = new Map<number, Account>();
    const remote = new Set<string>();
    const seen = new Set<string>();
    const found = await this.#expand(lower, 0, seen, accounts, remote);
    if (!found) {
      // RFC 5321 §4.5.1: postmaster must be accepted; without an alias it goes to the domain's first account.
      if (lower.startsWith('postmaster@')) {
        const first = (await this.store.accounts.list()).find((a) => a.address.endsWith(`@${domain}`));
        if (first) return { kind: 'local', accounts: [await this.#local(first)], remote: [] };
      }
      return { kind: 'unknown-user' };
    }
    if (accounts.size === 0 && remote.size === 0) return { kind: 'unknown-user' };
    return {
      kind: 'local',
      accounts: await Promise.all([...accounts.values()].map((a) => this.#local(a))),
      remote: [...remote],
    };
  }

  /** The account with its quota usage (only counted when it has a limit). */
  async #local(account: Account): Promise<LocalAccount> {
    const limit = quotaLimit(this.store, account);
    const quota = limit === null ? null : { used: await this.store.accounts.usage(account.id), limit };
    return { id: account.id, address: account.address, quota };
  }

  async #expand(
    address: string,
    depth: number,
    seen: Set<string>,
    accounts: Map<number, Account>,
    remote: Set<string>,
  ): Promise<boolean> {
    if (seen.has(address) || depth > MAX_ALIAS_DEPTH) return true;
    seen.add(address);
    const domain = address.slice(address.lastIndexOf('@') + 1);
    if (depth > 0 && !(await this.isLocalDomain(domain))) {
      remote.add(address);
      return true;
    }
    const targets = await this.store.aliases.get(address);
    if (targets) {
      for (const t of targets) await this.#expand(t.toLowerCase(), depth + 1, seen, accounts, remote);
      return true;
    }
    const account = await this.store.accounts.get(address);
    if (account && !account.disabled) {
      accounts.set(account.id, account);
      return true;
    }
    const catchAll = await this.store.aliases.get(`@${domain}`);
    if (catchAll) {
      for (const t of catchAll) await this.#expand(t.toLowerCase(), depth + 1, seen, accounts, remote);
      return true;
    }
    return false;
  }

  /** The account's mailbox with special-use \Junk (RFC 6154), else "Junk"; the store falls back to INBOX. */
  async #junkMailbox(accountId: number): Promise<string> {
    const boxes = await this.store.mailboxes.list(accountId);
    return boxes.find((b) => b.specialUse === '\\Junk')?.name ?? 'Junk';
  }

  /** The message signed when a DKIM key applies (see the header), else as it is. */
  async #dkimSign(id: string, msg: IncomingMessage): Promise<Buffer> {
    const keys = this.opts.dkim;
    if (!keys || (msg.trace.authUser === null && msg.trace.protocol !== 'local')) return msg.data;
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
   * Stores the message for every recipient. Resolves when all copies are durable. Throws
   * QuotaExceededError, storing nothing, when the message fits no recipient (see the header).
   */
  async deliver(msg: IncomingMessage): Promise<DeliveryReport> {
    const id = `${msg.trace.sessionId}.${(++this.#counter).toString(36)}`;
    const localIds = new Map<number, string>();
    const remote = new Map<string, QueueRecipient>();
    for (const r of msg.recipients) {
      if (r.resolution.kind === 'local') {
        for (const a of r.resolution.accounts) localIds.set(a.id, a.address);
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
    const writes: Promise<unknown>[] = [];
    if (localIds.size > 0) {
      // RFC 5321 §4.4: the final delivery adds Return-Path with the envelope sender.
      const raw = Buffer.concat([Buffer.from(`Return-Path: <${msg.envelopeFrom}>\r\n${received}`), msg.data]);
      const local = await Promise.all(
        [...localIds.keys()].map(async (accountId) =>
          msg.junk
            ? { accountId, mailbox: await this.#junkMailbox(accountId), flags: ['$Junk'] }
            : { accountId, mailbox: 'INBOX' },
        ),
      );
      // The store decides the quota in the write (types.ts DeliveryRequest.overQuota): with remote
      // recipients the message is accepted anyway, so local copies are stored even over quota.
      const stored = this.store
        .deliver({
          raw,
          meta: parseMessage(raw) as unknown as JsonValue,
          internalDate: now,
          local,
          overQuota: remote.size > 0 ? 'accept' : 'refuse',
        })
        .then(
          (result) => {
            if (result.overQuota.length > 0) {
              this.opts.log.warn(
                { id, over: result.overQuota.map((a) => localIds.get(a)), size: raw.length },
                'delivered over quota (grace: other recipients had room)',
              );
            }
          },
          (err: unknown) => {
            if (!(err instanceof OverQuotaError)) throw err;
            throw new QuotaExceededError(
              err.accountIds.map((a) => localIds.get(a) ?? String(a)),
              msg.data.length,
            );
          },
        );
      writes.push(stored);
    }
    let queueId: number | null = null;
    if (remote.size > 0) {
      const raw = Buffer.concat([Buffer.from(received), await this.#dkimSign(id, msg)]);
      writes.push(
        this.store
          .deliver({
            raw,
            meta: parseMessage(raw) as unknown as JsonValue,
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
    this.opts.log.info(
      {
        id,
        from: msg.envelopeFrom,
        local: [...localIds.values()],
        remote: [...remote.keys()],
        size: msg.data.length,
        queueId,
      },
      'delivered',
    );
    const queued = queueId as number | null; // assigned in the write above
    if (queued !== null) this.opts.onQueued?.(queued);
    return { id, localCopies: localIds.size, queueId };
  }
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

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC, e.g. `Fri, 27 Nov 2026 08:00:00 +0000`. */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
