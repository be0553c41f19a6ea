/** DATA (RFC 5321 §4.1.1.4): receive the message up to the end-of-data line, then deliver it durably. */
import { QuotaExceededError, SieveRejectError } from '../../delivery/delivery.js';
import { scanHeader } from '../../mail/header.js';
import type { BodySink } from '../../net/spool.js';
import { StoreFullError } from '../../store/types.js';
import { R, reply } from '../reply.js';
import { refuseForeignFrom } from '../sender-check.js';
import type { SmtpSession, Transaction } from '../session.js';
import { defineCommand, ok, syntax } from './types.js';

export const data = defineCommand<null>({
  verb: 'DATA',
  help: 'DATA - send the message; end it with a line holding only "." (RFC 5321 4.1.1.4)',
  states: ['rcpt'],
  outOfState: (state) =>
    state === 'mail'
      ? reply(554, '5.5.1', 'No valid recipients; send RCPT TO first')
      : state === 'chunking'
        ? R.badSequence('DATA is not allowed after BDAT; finish with BDAT n LAST')
        : R.badSequence('Send MAIL FROM and RCPT TO first'),
  // An argument is refused before the sequence (as DATA always answered).
  checks: ['parse', 'state'],
  parse: (args) => (args.trim() ? syntax('DATA takes no arguments') : ok(null)),
  async run(s) {
    const tx = s.transaction();
    const lf = s.lineMode === 'lf';
    s.send(
      reply(
        354,
        null,
        lf
          ? 'Start mail input; end with a line holding only "." (lab mode: bare LF line endings accepted)'
          : 'Start mail input; end with <CRLF>.<CRLF>',
      ),
    );
    s.conn.trace.state('data');
    // The message goes to the spool as it arrives (memory stays bounded however large it is).
    const sink = s.conn.newBody();
    const result = await s.conn.readDotData({
      mode: lf ? 'lf' : 'crlf',
      maxBytes: s.settings.maxMessageSize,
      // Past twice the limit the rest is not read to its end (a message that never ends would hold
      // the connection for good): the client is told and the connection closed.
      giveUpBytes: 2 * s.settings.maxMessageSize,
      sink,
    });
    if (result.kind === 'overflow') {
      sink.discard();
      s.send(R.tooBig(s.settings.maxMessageSize, true));
      s.done = true;
      return;
    }
    if (result.kind === 'eof') {
      sink.discard();
      s.done = true;
      return;
    }
    if (result.kind === 'timeout') {
      sink.discard();
      s.send(reply(421, '4.4.2', `${s.settings.hostname} Error: timeout exceeded while receiving the message`));
      s.done = true;
      return;
    }
    s.resetTransaction();
    if (result.tooBig) {
      sink.discard();
      if (s.conn.trace.active)
        s.conn.trace.note(`… message of ${formatBytes(result.size)} not shown (over the size limit)`);
      return s.send(R.tooBig(s.settings.maxMessageSize));
    }
    await deliverBody(s, tx, sink, (message) => {
      if (s.conn.trace.active) traceMessage(s, message, result.size, result.bareLf);
      return message;
    });
  },
});

/**
 * Shared by DATA and BDAT LAST: takes a received body out of the spool (waiting for room in the
 * memory budget, see net/spool.ts), delivers it and gives the memory back. A body the spool could not
 * hold (a full disk) is answered 452 4.3.1 (RFC 3463 §3.4) without a delivery attempt.
 */
export async function deliverBody(
  s: SmtpSession,
  tx: Transaction,
  sink: BodySink,
  prepare: (message: Buffer) => Buffer,
): Promise<void> {
  const body = await sink.finish();
  if (sink.error) {
    body.discard();
    if (!sink.error.full) return s.serverError(sink.error, 'spool');
    s.log.warn({ sid: s.conn.id, err: sink.error }, 'message refused: no space for the spool');
    return s.send(reply(452, '4.3.1', 'Insufficient system storage, try again later'));
  }
  let loaded: { data: Buffer; release: () => void };
  try {
    loaded = await body.load();
  } catch (err) {
    return s.serverError(err, 'spool');
  }
  try {
    await deliverMessage(s, tx, prepare(loaded.data));
  } finally {
    loaded.release();
  }
}

/**
 * What the trace shows of a message: its header block and the start of its body, then one note with
 * what was left out. The lab wants the structure of a message, not its bytes; every line shown is an
 * event that the web lab keeps and stores.
 */
export const TRACE_PREVIEW = {
  /** Header lines shown at most (folded lines count one each). */
  headerLines: 100,
  /** Body lines shown after the empty line that ends the header. */
  bodyLines: 10,
  /** Bytes shown at most, and at most this many of one line. */
  bytes: 16 * 1024,
  lineBytes: 998,
} as const;

/** Shows a preview of the message in the trace (see TRACE_PREVIEW), then the end-of-data line. */
function traceMessage(s: SmtpSession, message: Buffer, size: number, bareLf: number): void {
  const trace = s.conn.trace;
  const { headerLines, bodyLines, bytes, lineBytes } = TRACE_PREVIEW;
  let pos = 0;
  let header = 0;
  let body = -1; // -1 while in the header; the empty line that ends it starts the body count at 0
  // The message has CRLF line endings (the DATA reader completes bare LFs).
  while (pos < message.length && pos < bytes && (body < 0 ? header < headerLines : body < bodyLines)) {
    const lf = message.indexOf(0x0a, pos);
    const end = lf < 0 ? message.length : lf;
    const contentEnd = end > pos && message[end - 1] === 0x0d ? end - 1 : end;
    const textEnd = Math.min(contentEnd, pos + lineBytes);
    const line = message.toString('utf8', pos, textEnd);
    // The wire form: RFC 5321 §4.5.2 dot-stuffing, undone by the reader, is shown as the client sent it.
    trace.in(line.startsWith('.') ? `.${line}` : line);
    if (textEnd < contentEnd) trace.note(`… the line goes on for ${formatBytes(contentEnd - textEnd)} (not shown)`);
    if (body >= 0) body++;
    else if (line === '') body = 0;
    else header++;
    pos = lf < 0 ? message.length : lf + 1;
  }
  if (pos < message.length && size <= message.length) {
    let lines = message[message.length - 1] === 0x0a ? 0 : 1;
    for (let i = message.indexOf(0x0a, pos); i >= 0; i = message.indexOf(0x0a, i + 1)) lines++;
    trace.note(`… ${lines} more line${lines === 1 ? '' : 's'}, ${formatBytes(message.length - pos)} (not shown)`);
  }
  if (bareLf) trace.note(`${bareLf} lines ended with a bare LF (stored with CRLF)`);
  trace.in('.');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${n < 10 * 1024 ? (n / 1024).toFixed(1) : Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** Shared by DATA and BDAT LAST: hand the message to delivery and answer only once it is durable. */
export async function deliverMessage(s: SmtpSession, tx: Transaction, message: Buffer): Promise<void> {
  let report: Awaited<ReturnType<SmtpSession['backend']['deliver']>>;
  // RFC 5321 §6.3: loops are found by counting Received fields, with a threshold of at least 100.
  const hops = receivedCount(message);
  if (hops > MAX_HOPS) {
    s.stats.rejected++;
    s.send(
      reply(
        554,
        '5.4.6',
        `Too many hops: the message has more than ${MAX_HOPS} Received: header fields; it is probably in a mail loop`,
      ),
    );
    s.conn.trace.state('greeted');
    return;
  }
  try {
    if (await refuseForeignFrom(s, message)) return; // smtp.sender_login_match (sender-check.ts)
    let msg = s.incoming(tx, message);
    const check = s.backend.checkInbound;
    // Inbound checks only for unauthenticated mail on port 25; submission never waits for DNS.
    if (check && s.settings.role === 'mx' && s.authUser === null) {
      const verdict = await check.call(s.backend, msg);
      if (verdict.action === 'refuse') {
        s.stats.rejected++;
        s.send(reply(verdict.code, verdict.enhanced, verdict.text));
        s.conn.trace.state('greeted');
        return;
      }
      msg = verdict.msg;
    }
    report = await s.backend.deliver(msg);
  } catch (err) {
    // RFC 3463 §3.3 (X.2.2): the message fits none of the recipients' quotas (delivery.ts); nothing was stored.
    if (err instanceof QuotaExceededError) return s.send(reply(552, '5.2.2', err.message));
    // RFC 5429 §2.2 (ereject, and reject where the protocol allows it): every recipient's Sieve script
    // refused the message; nothing was stored. RFC 3463 §3.8 X.7.1: delivery not authorized.
    if (err instanceof SieveRejectError) {
      s.stats.rejected++;
      s.send(reply(550, '5.7.1', rejectText(err.reason, tx.smtputf8)));
      s.conn.trace.state('greeted');
      return;
    }
    // RFC 3463 §3.4 (X.3.1 mail system full): the store cannot write now; nothing was stored, retry later.
    if (err instanceof StoreFullError)
      return s.send(reply(452, '4.3.1', 'Insufficient system storage, try again later'));
    return s.serverError(err, 'deliver');
  }
  s.stats.messages++;
  s.stats.recipients += tx.recipients.length;
  s.send(reply(250, '2.6.0', `<${report.id}@${s.settings.hostname}> Queued mail for delivery`));
  s.conn.trace.state('greeted');
}

/** Received: fields a message may have (RFC 5321 §6.3: "normally at least 100"; Postfix uses 50). */
export const MAX_HOPS = 100;

/** The `Received:` fields in the header of `message` (scanHeader: folded lines count once). */
export function receivedCount(message: Buffer): number {
  let n = 0;
  for (const field of scanHeader(message).fields) if (field.name.toLowerCase() === 'received') n++;
  return n;
}

/** Longest reject reason in a reply: the line stays within RFC 5321 §4.5.3.1.5's 512 octets. */
const MAX_REASON_BYTES = 400;

/**
 * A Sieve reject reason as the text of one reply line: line breaks and tabs become spaces, non-ASCII
 * becomes '?' unless the transaction is SMTPUTF8 (RFC 6531 §3.7.4.2), at most MAX_REASON_BYTES bytes.
 */
export function rejectText(reason: string, utf8: boolean): string {
  let text = reason.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  if (!utf8) text = text.replace(/[^\x20-\x7e]/g, '?');
  if (text === '') return "Rejected by the recipient's mail filter";
  if (Buffer.byteLength(text, 'utf8') <= MAX_REASON_BYTES) return text;
  let cut = '';
  for (const ch of text) {
    if (Buffer.byteLength(cut + ch, 'utf8') > MAX_REASON_BYTES - 3) break;
    cut += ch;
  }
  return `${cut}...`;
}
