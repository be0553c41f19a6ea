/**
 * QUOTA (RFC 9208): GETQUOTAROOT (§4.1.2), GETQUOTA (§4.1.1), SETQUOTA (§4.1.3, refused). The model —
 * one root "" per account, the STORAGE resource only — is described in ../quota.ts.
 */
import { limitKiB, QUOTA_ROOT, quotaCheck, usageKiB } from '../quota.js';
import type { ImapSession } from '../session.js';
import type { ParseContext } from '../wire/commands.js';
import { mailboxArg } from './grammar.js';
import { AUTHED, command } from './types.js';

/** `* QUOTA "" (STORAGE used limit)` (RFC 9208 §4.2.1); nothing for an account without a limit. */
async function sendQuota(s: ImapSession): Promise<void> {
  const q = await quotaCheck(s.store, s.user!.id, 0);
  if (q.limit === null) return;
  const w = s.builder().untagged().raw('QUOTA ').string(QUOTA_ROOT);
  s.send(w.raw(` (STORAGE ${usageKiB(q.used)} ${limitKiB(q.limit)})`).crlf());
}

export const getquotaroot = command({
  name: 'GETQUOTAROOT',
  parse: (ctx: ParseContext): GetQuotaRootCommand => ({ name: 'GETQUOTAROOT', mailbox: mailboxArg(ctx) }),
  states: AUTHED,
  async run(s, tag, cmd) {
    const box = await s.store.mailboxes.get(s.user!.id, cmd.mailbox);
    if (!box) return s.no(tag, `Mailbox "${cmd.mailbox}" does not exist`, 'NONEXISTENT');
    const q = await quotaCheck(s.store, s.user!.id, 0);
    // RFC 9208 §4.2.2: `* QUOTAROOT mailbox root...`, then a QUOTA response per root (§4.1.2). An account
    // without a limit has no root: naming one would promise a QUOTA response that cannot be given.
    const w = s.builder().untagged().raw('QUOTAROOT ').mailbox(box.name);
    if (q.limit !== null) w.sp().string(QUOTA_ROOT);
    s.send(w.crlf());
    await sendQuota(s);
    s.ok(tag, 'GETQUOTAROOT completed');
  },
});

export const getquota = command({
  name: 'GETQUOTA',
  parse: parseGetQuota,
  states: AUTHED,
  async run(s, tag, cmd) {
    const q = await quotaCheck(s.store, s.user!.id, 0);
    if (cmd.root !== QUOTA_ROOT || q.limit === null) {
      const why = q.limit === null ? 'your account has no quota' : 'GETQUOTAROOT INBOX names yours';
      return s.no(tag, `There is no quota root "${cmd.root}"; ${why}`, 'NONEXISTENT');
    }
    await sendQuota(s);
    s.ok(tag, 'GETQUOTA completed');
  },
});

export const setquota = command({
  name: 'SETQUOTA',
  parse: parseSetQuota,
  states: AUTHED,
  run(s, tag) {
    // RFC 9208 §4.1.3: a server may refuse to change limits; we do not advertise QUOTASET.
    s.no(tag, 'Quota limits are set by the administrator (postbode user quota)', 'NOPERM');
  },
});

/** RFC 9208 §4.1.2: `getquotaroot = "GETQUOTAROOT" SP mailbox`. */
export interface GetQuotaRootCommand {
  name: 'GETQUOTAROOT';
  mailbox: string;
}

/** RFC 9208 §4.1.1: the quota root asked for. */
export interface GetQuotaCommand {
  name: 'GETQUOTA';
  root: string;
}

/** RFC 9208 §4.1.3: the quota root and the limits to set, per resource. */
export interface SetQuotaCommand {
  name: 'SETQUOTA';
  root: string;
  limits: { resource: string; limit: bigint }[];
}

/** RFC 9208 §4.2: `getquota = "GETQUOTA" SP quota-root-name` (an astring). */
function parseGetQuota({ r }: ParseContext): GetQuotaCommand {
  r.sp('after GETQUOTA');
  return { name: 'GETQUOTA', root: r.astringText('a quota root name') };
}

/**
 * RFC 9208 §4.1: `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`;
 * `setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"`;
 * `setquota-resource = resource-name SP resource-limit` (number64).
 */
function parseSetQuota({ r }: ParseContext): SetQuotaCommand {
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
