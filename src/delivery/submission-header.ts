/**
 * What the submission server adds to a message's header when the author's client left it out: a
 * `Date:` (RFC 6409 §8.1; RFC 5322 §3.6 makes it mandatory) and a `Message-ID:` (RFC 6409 §8.3: the
 * MSA SHOULD add one), as Postfix does for its own clients. Students typing a message by hand after
 * DATA write a From and a Subject at most; without a Date their mail client sorts the message
 * anywhere, and without a Message-ID replies cannot thread and clients cannot tell copies apart.
 *
 * Invariants:
 * - Only fields that are missing are added, at the end of the header (before its empty line, or
 *   before the first line that is no header field); nothing present is changed.
 * - A message that does not start with a header field (text typed straight after DATA) gets a header
 *   of its own: the added fields and an empty line, the text becoming the body it was meant to be.
 * - The Message-ID is unique: the time, the delivery id (the session's id, unique in the process,
 *   and a counter) and the host name.
 */
import { rfc5322Date } from '../mail/date.js';
import { scanHeader } from '../mail/header.js';

export function completeSubmittedHeader(raw: Buffer, o: { hostname: string; id: string; date: Date }): Buffer {
  const scan = scanHeader(raw);
  const names = new Set(scan.fields.map((f) => f.name.toLowerCase()));
  const added: string[] = [];
  if (!names.has('date')) added.push(`Date: ${rfc5322Date(o.date)}\r\n`);
  if (!names.has('message-id')) added.push(`Message-ID: <${o.date.getTime().toString(36)}.${o.id}@${o.hostname}>\r\n`);
  if (added.length === 0) return raw;
  const fields = Buffer.from(added.join(''));
  const first = scan.fields[0];
  if (first !== undefined && first.name === '') return Buffer.concat([fields, Buffer.from('\r\n'), raw]);
  const nameless = scan.fields.find((f) => f.name === '');
  let at: number;
  if (nameless) at = nameless.start;
  else if (scan.hasEmptyLine) at = scan.fields.length > 0 ? scan.fields[scan.fields.length - 1].next : 0;
  else at = raw.length;
  const before = raw.subarray(0, at);
  // A header that ends the message without a line break gets one before the added fields.
  const gap = at > 0 && raw[at - 1] !== 0x0a ? Buffer.from('\r\n') : Buffer.alloc(0);
  return Buffer.concat([before, gap, fields, raw.subarray(at)]);
}
