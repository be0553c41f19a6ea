/** DATA (RFC 5321 §4.1.1.4): receive the message up to the end-of-data line, then deliver it durably. */
import { QuotaExceededError } from '../../delivery/delivery.js';
import { R, reply } from '../reply.js';
import type { SmtpSession, Transaction } from '../session.js';
import type { SmtpCommand } from './types.js';

export const data: SmtpCommand = {
  verb: 'DATA',
  help: 'DATA - send the message; end it with a line holding only "." (RFC 5321 4.1.1.4)',
  async run(s, args) {
    const tx = s.tx;
    if (args.trim()) return s.send(R.syntax('DATA takes no arguments'));
    if (!tx) return s.send(R.badSequence('Send MAIL FROM and RCPT TO first'));
    if (tx.chunks) return s.send(R.badSequence('DATA is not allowed after BDAT; finish with BDAT n LAST'));
    if (tx.recipients.length === 0) return s.send(reply(554, '5.5.1', 'No valid recipients; send RCPT TO first'));
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
    const result = await s.conn.readDotData({ mode: lf ? 'lf' : 'crlf', maxBytes: s.settings.maxMessageSize });
    if (result.kind === 'eof') {
      s.done = true;
      return;
    }
    if (result.kind === 'timeout') {
      s.send(reply(421, '4.4.2', `${s.settings.hostname} Error: timeout exceeded while receiving the message`));
      s.done = true;
      return;
    }
    if (s.conn.trace.active) traceMessage(s, result.data, result.size, result.bareLf);
    s.resetTransaction();
    if (result.tooBig) {
      return s.send(
        reply(
          552,
          '5.3.4',
          `Message size exceeds fixed limit of ${s.settings.maxMessageSize} bytes; nothing was stored`,
        ),
      );
    }
    await deliverMessage(s, tx, result.data);
  },
};

const TRACE_LINES = 200;

/** Shows the message lines in the trace (the first TRACE_LINES of them), then the end-of-data line. */
function traceMessage(s: SmtpSession, message: Buffer, size: number, bareLf: number): void {
  const lines = message
    .subarray(0, 64 * 1024)
    .toString('utf8')
    .split('\r\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines.slice(0, TRACE_LINES)) s.conn.trace.in(line.startsWith('.') ? `.${line}` : line);
  if (lines.length > TRACE_LINES || message.length > 64 * 1024 || size > message.length) {
    s.conn.trace.note(`message continues: ${size} bytes in all`);
  }
  if (bareLf) s.conn.trace.note(`${bareLf} lines ended with a bare LF (stored with CRLF)`);
  s.conn.trace.in('.');
}

/** Shared by DATA and BDAT LAST: hand the message to delivery and answer only once it is durable. */
export async function deliverMessage(s: SmtpSession, tx: Transaction, message: Buffer): Promise<void> {
  let report: Awaited<ReturnType<SmtpSession['backend']['deliver']>>;
  try {
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
    return s.serverError(err, 'deliver');
  }
  s.stats.messages++;
  s.stats.recipients += tx.recipients.length;
  s.send(reply(250, '2.6.0', `<${report.id}@${s.settings.hostname}> Queued mail for delivery`));
  s.conn.trace.state('greeted');
}
