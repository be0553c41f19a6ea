/** BDAT (RFC 3030 CHUNKING): the message in counted chunks, the last one marked LAST. */
import { R, reply } from '../reply.js';
import { deliverBody } from './data.js';
import { ANY_STATE, defineCommand, ok, syntax } from './types.js';

export const bdat = defineCommand<{ size: number; last: boolean }>({
  verb: 'BDAT',
  help: 'BDAT <size> [LAST] - send the next <size> bytes of the message (RFC 3030)',
  // RFC 3030 §2: the chunk is read even when the command is refused, so the sequence check (503 without a
  // transaction, 554 without recipients) comes after the read, in `run`.
  states: ANY_STATE,
  parse(args) {
    const m = /^\s*(\d{1,15})(?:\s+(LAST))?\s*$/i.exec(args);
    if (!m) return syntax('Syntax: BDAT <chunk-size> [LAST]');
    return ok({ size: Number(m[1]), last: m[2] !== undefined });
  },
  async run(s, { size, last }) {
    // A chunk announced larger than a whole message may be is not read (at the minimum data rate it could
    // hold the connection for years): it is refused and the connection closed, since the chunk's bytes
    // that follow cannot be read as commands (RFC 3030 §2: a server reads every chunk it accepts).
    if (size > s.settings.maxMessageSize) {
      s.conn.trace.in(`<chunk: ${size} bytes announced, not read>`);
      s.send(
        reply(
          552,
          '5.3.4',
          `A chunk of ${size} bytes exceeds the message size limit of ${s.settings.maxMessageSize} bytes; closing the connection`,
        ),
      );
      s.done = true;
      return;
    }
    const tx = s.tx;
    const room = tx && tx.recipients.length > 0 && !tx.chunkTooBig ? s.settings.maxMessageSize - tx.chunkBytes : 0;
    // RFC 3030 §2: the chunk is always read, even when it will be refused. Kept chunks go to the spool.
    const keep = tx !== null && size <= room;
    if (keep) tx.chunks ??= s.conn.newBody();
    const input = keep && tx.chunks ? await s.conn.readBytesTo(size, tx.chunks) : await s.conn.readBytes(size, 0);
    if (input.kind === 'eof') {
      s.done = true;
      return;
    }
    if (input.kind === 'timeout') {
      s.send(reply(421, '4.4.2', `${s.settings.hostname} Error: timeout exceeded while receiving a chunk`));
      s.done = true;
      return;
    }
    s.conn.trace.in(`<chunk: ${size} bytes${last ? ', last' : ''}>`);
    if (!tx) return s.send(R.badSequence('Send MAIL FROM and RCPT TO before BDAT'));
    if (tx.recipients.length === 0) {
      // RFC 3030 §3: a refused chunk fails the transaction. Kept open, a later RCPT and `BDAT n LAST`
      // would deliver the message without this chunk (as Postfix, the client starts again with MAIL).
      s.resetTransaction();
      return s.send(
        reply(554, '5.5.1', 'No valid recipients, so the transaction is reset; start again with MAIL FROM'),
      );
    }
    tx.chunks ??= s.conn.newBody();
    tx.chunkBytes += size;
    if (!keep || tx.chunkTooBig) {
      tx.chunkTooBig = true;
      tx.chunks.discard();
      tx.chunks = s.conn.newBody();
    }
    if (!last) {
      if (tx.chunkTooBig) {
        s.resetTransaction();
        return s.send(R.tooBig(s.settings.maxMessageSize));
      }
      return s.send(reply(250, '2.0.0', `${size} octets received`));
    }
    const sink = tx.chunks;
    tx.chunks = null; // delivered below; resetTransaction must not discard it
    s.resetTransaction();
    if (tx.chunkTooBig) {
      sink.discard();
      return s.send(R.tooBig(s.settings.maxMessageSize));
    }
    await deliverBody(s, tx, sink, asStored);
  },
});

/**
 * The chunks as stored: CRLF line endings, and a final line break (what DATA's `<CRLF>.<CRLF>` always
 * gives). Without it, POP3 would send a CRLF more than the size LIST and RETR announce (RFC 1939
 * §5: the exact size), and the message would not be RFC 5322 text; Postfix completes it too.
 */
function asStored(buf: Buffer): Buffer {
  const crlf = toCrlf(buf);
  if (crlf.length === 0 || crlf[crlf.length - 1] === 0x0a) return crlf;
  return Buffer.concat([crlf, crlf[crlf.length - 1] === 0x0d ? LF : CRLF]);
}

const LF = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');

/** Stored messages use CRLF line endings; bare LFs in chunks are completed to CRLF. */
function toCrlf(buf: Buffer): Buffer {
  let bare = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) if (i === 0 || buf[i - 1] !== 0x0d) bare++;
  if (bare === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + bare);
  let o = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a && (i === 0 || buf[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = buf[i];
  }
  return out;
}
