/**
 * The connection as the shared SASL exchange (src/auth/sasl-exchange.ts) reads it in ManageSieve:
 * RFC 5804 §2.1 sends every client response as a string, quoted (`"base64"`) or a literal (`{N+}`
 * CRLF base64), and `"*"` cancels. This adapter reads one such string and hands the exchange its
 * content as the "line" it decodes; the exchange keeps its rules (base64, the response size limit,
 * cancelling, the trace's `<redacted>`). A bare line (the IMAP habit, or typed by hand) is taken as it
 * is.
 *
 * Invariant: a literal larger than the response limit is read and dropped when it is small enough to
 * skip (`too-long`); a larger one ends the session with BYE, unread.
 */
import type { SaslConnection } from '../auth/sasl-exchange.js';
import type { ReadResult } from '../net/connection.js';
import type { ManageSieveSession } from './session.js';
import { MAX_LINE, tokenize } from './wire.js';

/** Literals of SASL responses over the limit up to this size are dropped; larger ones end the session. */
const DISCARD_LIMIT = 64 * 1024;

export function saslConnection(s: ManageSieveSession): SaslConnection {
  const conn = s.conn;
  return {
    get secure() {
      return conn.secure;
    },
    channelBinding: (type) => conn.channelBinding(type),
    trace: { in: (text) => conn.trace.in(text) },
    async readLine(maxLength: number): Promise<ReadResult> {
      const first = await conn.readLine(MAX_LINE);
      if (first.kind !== 'line') return first;
      const tokens = tokenize(first.line, 0);
      if (tokens.error !== null) return first;
      const only = tokens.args[0]?.arg;
      if (tokens.literal === null && tokens.args.length === 1 && only?.kind === 'string') {
        return { kind: 'line', line: Buffer.from(only.value, 'utf8'), ending: first.ending };
      }
      if (tokens.literal === null || tokens.args.length > 0) return first;
      const size = tokens.literal.size;
      if (size > maxLength && size > DISCARD_LIMIT) {
        s.bye(`Authentication response of ${size} octets is too large (the limit is ${maxLength})`);
        return { kind: 'eof' };
      }
      const data = await conn.readBytes(size, maxLength);
      if (data.kind !== 'bytes') return data;
      // The response ends its line: the rest of it (normally empty) goes with it.
      const rest = await conn.readLine(MAX_LINE);
      if (rest.kind === 'eof' || rest.kind === 'timeout') return rest;
      if (data.data === null || rest.kind === 'too-long') return { kind: 'too-long' };
      return { kind: 'line', line: data.data, ending: 'crlf' };
    },
  };
}
