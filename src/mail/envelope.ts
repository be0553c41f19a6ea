/**
 * The IMAP ENVELOPE (RFC 9051 §7.5.2): built once from a message's header when it is parsed, stored
 * as JSON in the message meta, rendered to wire text on FETCH.
 *
 * Invariants:
 * - Values stay as written: encoded-words are NOT decoded (RFC 9051 §7.5.2 wants the raw header
 *   text). Dates, message-ids and in-reply-to are only unfolded; the subject and display names have
 *   their whitespace runs collapsed to one space and trimmed, as Dovecot sends them.
 * - Like Dovecot (the reference peer): for date, subject, in-reply-to and message-id the last field
 *   wins; repeated address fields are merged as if they were one comma-separated list (so a forged
 *   second From: is not hidden).
 * - `sender` and `replyTo` are null when their field is absent; the wire form then repeats `from`,
 *   as RFC 9051 requires ("the server MUST default … to the value of the from field").
 */

import { type Address, parseAddressList } from './address.js';
import { collapseWhitespace, unfold } from './header.js';
import { imapNString } from './wire.js';

export type { Address } from './address.js';

export interface Envelope {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  sender: Address[] | null;
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

type AddressKey = 'from' | 'sender' | 'replyTo' | 'to' | 'cc' | 'bcc';
type StringKey = 'date' | 'subject' | 'inReplyTo' | 'messageId';

/** Lower-case header name → envelope key. */
export const ENVELOPE_FIELDS: ReadonlyMap<string, AddressKey | StringKey> = new Map<string, AddressKey | StringKey>([
  ['date', 'date'],
  ['subject', 'subject'],
  ['from', 'from'],
  ['sender', 'sender'],
  ['reply-to', 'replyTo'],
  ['to', 'to'],
  ['cc', 'cc'],
  ['bcc', 'bcc'],
  ['in-reply-to', 'inReplyTo'],
  ['message-id', 'messageId'],
]);

const ADDRESS_KEYS = new Set<string>(['from', 'sender', 'replyTo', 'to', 'cc', 'bcc']);

export function emptyEnvelope(): Envelope {
  return {
    date: null,
    subject: null,
    from: null,
    sender: null,
    replyTo: null,
    to: null,
    cc: null,
    bcc: null,
    inReplyTo: null,
    messageId: null,
  };
}

/**
 * Builds an envelope from header fields in message order: `[lower-case name, value]`, where the
 * value is the field's full value (folding kept as "\n", see header.ts `fieldValue`).
 */
export function buildEnvelope(fields: Iterable<readonly [string, string]>): Envelope {
  const env = emptyEnvelope();
  for (const [name, value] of fields) {
    const key = ENVELOPE_FIELDS.get(name);
    if (key === undefined) continue;
    if (ADDRESS_KEYS.has(key)) {
      const list = parseAddressList(value).map(normalizeAddress);
      if (list.length === 0) continue;
      const k = key as AddressKey;
      env[k] = env[k] === null ? list : [...(env[k] as Address[]), ...list];
    } else if (key === 'subject') {
      env.subject = collapseWhitespace(value);
    } else {
      env[key as StringKey] = unfold(value);
    }
  }
  return env;
}

function normalizeAddress(a: Address): Address {
  return a[0] === null ? a : [collapseWhitespace(a[0]), a[1], a[2], a[3]];
}

function addressList(list: Address[] | null, utf8: boolean): string {
  if (list === null || list.length === 0) return 'NIL';
  let s = '(';
  for (const [name, adl, mailbox, host] of list) {
    s += `(${imapNString(name, utf8)} ${imapNString(adl, utf8)} ${imapNString(mailbox, utf8)} ${imapNString(host, utf8)})`;
  }
  return s + ')';
}

/** The ENVELOPE's contents as wire text, without the surrounding parentheses. */
export function envelopeFields(env: Envelope, utf8: boolean): string {
  return [
    imapNString(env.date, utf8),
    imapNString(env.subject, utf8),
    addressList(env.from, utf8),
    addressList(env.sender ?? env.from, utf8),
    addressList(env.replyTo ?? env.from, utf8),
    addressList(env.to, utf8),
    addressList(env.cc, utf8),
    addressList(env.bcc, utf8),
    imapNString(env.inReplyTo, utf8),
    imapNString(env.messageId, utf8),
  ].join(' ');
}

/**
 * `(date subject from sender reply-to to cc bcc in-reply-to message-id)`, what follows "ENVELOPE " in
 * FETCH, as wire text: literal lengths count UTF-8 bytes, so encode it as UTF-8 (the IMAP encoder's
 * `raw()` does).
 */
export function envelopeText(env: Envelope, options: { utf8: boolean }): string {
  return `(${envelopeFields(env, options.utf8)})`;
}

/** `envelopeText` as bytes. */
export function serializeEnvelope(env: Envelope, options: { utf8: boolean }): Buffer {
  return Buffer.from(envelopeText(env, options), 'utf8');
}
