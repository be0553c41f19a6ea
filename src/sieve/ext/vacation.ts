/**
 * vacation (RFC 5230) and vacation-seconds (RFC 6131): whether a reply is due, its period and the key
 * of the caller's reply memory. The checks follow RFC 5230 §4.5–§5 and RFC 3834 §2, in Pigeonhole's
 * order: no reply to the null sender, to the user's own addresses, to mailing lists (List-Id and the
 * other List-* fields), to Auto-Submitted mail other than "no", to Precedence bulk/list/junk, to
 * X-Auto-Response-Suppress All/OOF, to system senders (MAILER-DAEMON, LISTSERV, majordomo, owner-*,
 * *-request), nor to mail whose To/Cc/Bcc/Resent-To/Resent-Cc/Resent-Bcc name none of the user's
 * addresses or the `:addresses`.
 */

import { createHash } from 'node:crypto';
import { MessageView } from '../message.js';

export const VACATION_DEFAULT_SECONDS = 7 * 86400;
/** Pigeonhole's sieve_vacation_min_period and max_period defaults. */
export const VACATION_MIN_SECONDS = 86400;
export const VACATION_MAX_SECONDS = 60 * 86400;

const LIST_HEADERS = [
  'list-id',
  'list-owner',
  'list-subscribe',
  'list-post',
  'list-unsubscribe',
  'list-help',
  'list-archive',
];
const MY_ADDRESS_HEADERS = ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'];

/**
 * The period in seconds: the default (7 days) when none was given, else moved into [min, max] (a max
 * of 0: no maximum), as Pigeonhole does with its sieve_vacation_min_period and max_period.
 */
export function vacationPeriod(seconds: number | null, min = VACATION_MIN_SECONDS, max = VACATION_MAX_SECONDS): number {
  if (seconds === null) return VACATION_DEFAULT_SECONDS;
  const atLeast = Math.max(seconds, min);
  return max > 0 ? Math.min(atLeast, max) : atLeast;
}

/** `user+detail@domain` → `user@domain`. */
function withoutDetail(address: string): string {
  const at = address.lastIndexOf('@');
  const local = at < 0 ? address : address.slice(0, at);
  const plus = local.indexOf('+');
  return plus < 0 ? address : local.slice(0, plus) + address.slice(at < 0 ? address.length : at);
}

export interface VacationInput {
  message: MessageView;
  envelopeFrom: string;
  envelopeTo: string;
  userAddresses: readonly string[];
  /** The `:addresses` of the command, already expanded. */
  addresses: readonly string[];
}

/** Null when a reply is due, else why not (for the run's warnings). */
export function vacationRefusal(input: VacationInput): string | null {
  const sender = input.envelopeFrom.toLowerCase();
  if (sender === '') return 'no vacation reply to the null sender <>';
  const mine = new Set(
    [input.envelopeTo, withoutDetail(input.envelopeTo), ...input.userAddresses, ...input.addresses].map((a) =>
      a.toLowerCase(),
    ),
  );
  if (mine.has(sender) || mine.has(withoutDetail(sender)))
    return `no vacation reply to the user's own address <${input.envelopeFrom}>`;
  const msg = input.message;
  for (const h of LIST_HEADERS) if (msg.has(h)) return `no vacation reply to mailing list mail (it has ${h})`;
  for (const v of msg.values('auto-submitted'))
    if (v.toLowerCase() !== 'no') return `no vacation reply to automatic mail (Auto-Submitted: ${v})`;
  for (const v of msg.values('precedence'))
    if (['junk', 'bulk', 'list'].includes(v.toLowerCase())) return `no vacation reply to Precedence: ${v} mail`;
  for (const v of msg.values('x-auto-response-suppress')) {
    const flags = v.split(',').map((f) => f.trim().toLowerCase());
    if (flags.includes('all') || flags.includes('oof')) return `no vacation reply: X-Auto-Response-Suppress: ${v}`;
  }
  const at = sender.lastIndexOf('@');
  const local = at < 0 ? sender : sender.slice(0, at);
  if (
    local === 'mailer-daemon' ||
    local === 'listserv' ||
    local === 'majordomo' ||
    local.includes('-request') ||
    local.startsWith('owner-')
  )
    return `no vacation reply to the system address <${input.envelopeFrom}>`;
  for (const h of MY_ADDRESS_HEADERS) {
    for (const value of msg.rawValues(h)) {
      for (const a of MessageView.addresses(value)) {
        if (a.local === null || a.domain === null) continue;
        const addr = `${a.local}@${a.domain}`.toLowerCase();
        if (mine.has(addr)) return null; // as written: bob+tag@ in To is not bob@ (Pigeonhole compares the same way)
      }
    }
  }
  return 'no vacation reply: the message is not addressed to the user (none of their addresses or :addresses is in To, Cc or Bcc)';
}

/** The default handle (RFC 5230 §4.2): the reason and the arguments that shape the reply. */
export function defaultHandle(reason: string, subject: string | null, from: string | null, mime: boolean): string {
  return `${reason}${subject ?? '<default-subject>'}${from ?? '<default-from>'}${mime ? '<MIME>' : '<NO-MIME>'}`;
}

/** The caller's reply memory key: the sender and the handle, hashed (SHA-256, hex). */
export function vacationMemoryKey(sender: string, handle: string): string {
  return createHash('sha256').update(`vacation\0${sender.toLowerCase()}\0${handle}`).digest('hex');
}
