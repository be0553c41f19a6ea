/**
 * The messages Sieve actions make at delivery: a vacation reply (RFC 5230 §5, RFC 3834), a rejection
 * notice (RFC 5429 §2.1: an MDN, RFC 8098, with the disposition "deleted", as Pigeonhole sends), and the
 * redirected copy (RFC 5228 §4.2) with its `Delivered-To:` loop mark. delivery.ts sends them.
 *
 * Invariants:
 * - Every line ends in CRLF and header fields are folded; text from the script (`:subject`, `:from`,
 *   a reject reason) cannot add header fields: line breaks in it become spaces, and non-ASCII header
 *   text is written as RFC 2047 encoded-words.
 * - A vacation reply carries `Auto-Submitted: auto-replied` (RFC 3834 §5, RFC 5230 §5.6), a fresh
 *   Message-ID and Date, `In-Reply-To` and `References` naming the original (RFC 5230 §5.8); its body
 *   is the `:mime` entity as given (line ends made CRLF), else the reason as text/plain UTF-8
 *   quoted-printable. The caller sends it with the null envelope sender (RFC 5230 §5.1).
 * - A rejection notice carries `Auto-Submitted: auto-replied (rejected)` and returns only the
 *   original's header (text/rfc822-headers), never its body; the caller sends it with `<>` to the
 *   original envelope sender, and never to the null sender.
 * - `deliveredTo` reads the `Delivered-To:` fields of a message's top header (Postfix's loop check);
 *   `redirectCopy` prepends one for the redirecting account.
 */

import { randomBytes } from 'node:crypto';
import libmime from 'libmime';
import { rfc5322Date } from '../mail/date.js';
import { decodeWords } from '../mail/decode.js';
import { scanHeader, unfold } from '../mail/header.js';
import type { SieveVacation } from '../sieve/types.js';
import {
  displayName,
  field,
  has8bit,
  headerOnly,
  isPrintableAscii,
  newBoundary,
  normalizeLineEnds,
  oneLine,
  printable,
  quotedPrintable,
} from './dsn.js';

const CRLF = '\r\n';
/** References kept from the original's References field (the newest), plus its Message-ID. */
const MAX_REFERENCES = 20;

/** The unfolded values of every `name:` field of the message's top header, in order. */
export function headerValues(raw: Buffer, name: string): string[] {
  const { fields } = scanHeader(raw);
  const lower = name.toLowerCase();
  return fields
    .filter((f) => f.name.toLowerCase() === lower)
    .map((f) => unfold(raw.toString('utf8', f.valueStart, f.valueEnd)).trim());
}

/** The lower-case addresses of the message's `Delivered-To:` fields (angle brackets dropped). */
export function deliveredTo(raw: Buffer): Set<string> {
  return new Set(headerValues(raw, 'Delivered-To').map((v) => v.replace(/^<|>$/g, '').trim().toLowerCase()));
}

/** The copy a `redirect` sends: the message as received here, marked `Delivered-To: <account>` (Postfix). */
export function redirectCopy(account: string, received: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`Delivered-To: ${printable(account)}${CRLF}${received}`, 'utf8'), data]);
}

/** A header text value: as is when printable ASCII, else RFC 2047 encoded-words (UTF-8, Q). */
function headerText(value: string): string {
  const clean = oneLine(value);
  return isPrintableAscii(clean) ? clean : libmime.encodeWords(clean, 'Q', 52);
}

/** An address field value: `Name <addr>` kept (its name encoded when needed), a bare address bracketed. */
function addressValue(value: string): string {
  const clean = oneLine(value);
  const m = /^(.*?)\s*<([^<>]+)>$/.exec(clean);
  if (!m) return `<${clean.replace(/^<|>$/g, '')}>`;
  const name = m[1].trim().replace(/^"(.*)"$/, '$1');
  return name === '' ? `<${m[2]}>` : `${displayName(name)} <${m[2]}>`;
}

function messageId(hostname: string): string {
  return `<${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${printable(hostname)}>`;
}

export interface VacationInput {
  vacation: SieveVacation;
  /** The message being answered. */
  original: Buffer;
  /** The account's address: From when the script gave no `:from`. */
  account: string;
  hostname: string;
  date: Date;
}

/** The vacation reply (see the header). Send it with `MAIL FROM:<>` to `vacation.to`. */
export function buildVacationReply(input: VacationInput): Buffer {
  const v = input.vacation;
  const originalId = v.inReplyTo ? oneLine(v.inReplyTo) : null;
  // RFC 5230 §5.4: "Auto: " and the original subject when the script gives none.
  let subject = v.subject;
  if (subject === null) {
    const original = headerValues(input.original, 'Subject')[0];
    subject = original ? `Auto: ${decodeWords(original)}` : 'Automated reply';
  }
  let header =
    field('From', addressValue(v.from ?? input.account)) +
    field('To', addressValue(v.to)) +
    field('Subject', headerText(subject)) +
    field('Date', rfc5322Date(input.date)) +
    field('Message-ID', messageId(input.hostname));
  if (originalId) {
    // RFC 5230 §5.8 and RFC 5322 §3.6.4: the original's References (or In-Reply-To) and its Message-ID.
    const earlier = (
      headerValues(input.original, 'References')[0] ??
      headerValues(input.original, 'In-Reply-To')[0] ??
      ''
    ).match(/<[^<>\s]+>/g);
    const refs = [...(earlier ?? []).slice(-MAX_REFERENCES), originalId];
    header += field('In-Reply-To', originalId) + field('References', refs.join(' '));
  }
  header += field('Auto-Submitted', 'auto-replied') + field('MIME-Version', '1.0');
  if (v.mime) {
    // RFC 5230 §5.7 (:mime): the reason is a MIME entity, its own header fields then its body.
    const entity = normalizeLineEnds(Buffer.from(v.reason.replace(/^(\r?\n)+/, ''), 'utf8'));
    const startsWithHeader = /^[!-9;-~]+:/.test(entity.toString('latin1', 0, 200));
    return Buffer.concat([Buffer.from(header, 'utf8'), startsWithHeader ? Buffer.alloc(0) : Buffer.from(CRLF), entity]);
  }
  const text = v.reason.replace(/\r\n|\r|\n/g, CRLF);
  header += field('Content-Type', 'text/plain; charset=utf-8') + field('Content-Transfer-Encoding', 'quoted-printable');
  return Buffer.from(`${header}${CRLF}${quotedPrintable(text.endsWith(CRLF) ? text : text + CRLF)}`, 'utf8');
}

export interface RejectNoticeInput {
  /** The reject reason as the script gave it. */
  reason: string;
  original: Buffer;
  /** The recipient whose script rejected the message (the MDN's Final-Recipient). */
  recipient: string;
  /** The original envelope sender, the notice's To. */
  envelopeFrom: string;
  hostname: string;
  date: Date;
}

/**
 * The rejection notice (RFC 5429 §2.1): an MDN (RFC 8098) in a multipart/report with the reason, the
 * disposition `automatic-action/MDN-sent-automatically; deleted`, and the original's header.
 */
export function buildRejectNotice(input: RejectNoticeInput): Buffer {
  const hostname = printable(input.hostname);
  const recipient = oneLine(input.recipient);
  const originalSubject = headerValues(input.original, 'Subject')[0];
  const originalId = headerValues(input.original, 'Message-ID')[0];
  const reason = input.reason.replace(/\r\n|\r|\n/g, CRLF).replace(/(\r\n)+$/, '');
  const text =
    `Your message to <${recipient}> was automatically rejected:${CRLF}${CRLF}` +
    `${reason}${CRLF}${CRLF}` +
    `This is the mail filter (Sieve) of the recipient at ${hostname}; the message was not delivered.${CRLF}`;
  const ascii = isPrintableAscii(text.replace(/\r\n/g, ''));
  const textPart = Buffer.from(
    `Content-Type: text/plain; charset=${ascii ? 'us-ascii' : 'utf-8'}${CRLF}` +
      `Content-Transfer-Encoding: ${ascii ? '7bit' : 'quoted-printable'}${CRLF}${CRLF}` +
      (ascii ? text : quotedPrintable(text)),
    'utf8',
  );
  // RFC 8098 §3.1–§3.2; the recipient as `rfc822;` for ASCII, RFC 6533 `utf-8;` otherwise.
  const finalRecipient = isPrintableAscii(recipient) ? `rfc822; ${recipient}` : `utf-8; ${recipient}`;
  const mdnPart = Buffer.from(
    `Content-Type: message/disposition-notification${CRLF}${CRLF}` +
      field('Reporting-UA', `${hostname}; postbode`) +
      field('Final-Recipient', finalRecipient) +
      (originalId ? field('Original-Message-ID', oneLine(originalId)) : '') +
      field('Disposition', 'automatic-action/MDN-sent-automatically; deleted'),
    'utf8',
  );
  const original = normalizeLineEnds(input.original);
  const headEnd = scanHeader(original).headerEnd;
  const returned = headerOnly(original.subarray(0, headEnd));
  const returnedPart = Buffer.concat([
    Buffer.from(
      `Content-Type: text/rfc822-headers${CRLF}${has8bit(returned) ? `Content-Transfer-Encoding: 8bit${CRLF}` : ''}${CRLF}`,
      'latin1',
    ),
    returned,
  ]);
  const parts = [textPart, mdnPart, returnedPart];
  let boundary = newBoundary();
  while (parts.some((p) => p.includes(boundary))) boundary = newBoundary();
  const subject = originalSubject ? `Rejected: ${decodeWords(originalSubject)}` : 'Automatically rejected mail';
  const header =
    field('From', `${displayName('Mail Delivery System')} <MAILER-DAEMON@${hostname}>`) +
    field('To', `<${printable(input.envelopeFrom)}>`) +
    field('Subject', headerText(subject)) +
    field('Date', rfc5322Date(input.date)) +
    field('Message-ID', messageId(hostname)) +
    (originalId ? field('In-Reply-To', oneLine(originalId)) : '') +
    field('Auto-Submitted', 'auto-replied (rejected)') +
    field('MIME-Version', '1.0') +
    field('Content-Type', `multipart/report; report-type=disposition-notification; boundary="${boundary}"`) +
    CRLF +
    'This is a MIME-encapsulated message.' +
    CRLF;
  const chunks: Buffer[] = [Buffer.from(header, 'utf8')];
  for (const part of parts) chunks.push(Buffer.from(`${CRLF}--${boundary}${CRLF}`, 'latin1'), part);
  chunks.push(Buffer.from(`${CRLF}--${boundary}--${CRLF}`, 'latin1'));
  return Buffer.concat(chunks);
}
