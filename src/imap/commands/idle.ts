/**
 * IDLE (RFC 2177, RFC 9051 §6.3.13): the client waits; the server sends mailbox changes as they
 * happen (EXISTS, EXPUNGE or VANISHED, FETCH FLAGS) until the client sends DONE.
 */
import { noArgs } from './grammar.js';
import { AUTHED, command, SHUTDOWN_BYE } from './types.js';

export const idle = command({
  name: 'IDLE',
  parse: noArgs('IDLE'),
  states: AUTHED,
  async run(s, tag) {
    s.conn.writeLine('+ idling');
    await s.announce(true);
    const sel = s.selected;
    let chain = Promise.resolve();
    if (sel) {
      sel.onChange = () => {
        // Changes arrive from the store's feed; announce them at once, in order.
        chain = chain.then(async () => {
          // A client that reads nothing while mail keeps arriving would make its unsent output grow
          // without bound (no read of ours can hold it back here): drop it.
          if (s.conn.outputStalled) {
            s.log.info({ sid: s.conn.id, unsent: s.conn.unsentBytes }, 'IDLE client does not read; closing');
            s.conn.destroy();
            return;
          }
          await s.announce(true);
          s.conn.flush();
        });
      };
    }
    try {
      for (;;) {
        const input = await s.conn.readCommandLine(s.settings.maxLineLength);
        if (input.kind === 'eof' || input.kind === 'timeout' || input.kind === 'shutdown') {
          if (input.kind === 'timeout') s.untagged('BYE Autologout; idle for too long');
          // Server shutdown during IDLE: BYE at once (RFC 9051 §7.1.5), no tagged reply.
          if (input.kind === 'shutdown') s.untagged(SHUTDOWN_BYE);
          s.state = 'logout';
          return;
        }
        if (input.kind === 'line' && isIdleDone(input.line)) {
          s.conn.trace.in('DONE');
          break;
        }
        s.conn.trace.in(input.kind === 'line' ? input.line.toString('utf8') : '<line too long>');
        return s.bad(tag, 'Expected DONE to end IDLE');
      }
    } finally {
      if (sel) sel.onChange = null;
      await chain;
    }
    s.ok(tag, 'IDLE terminated');
  },
});

/** RFC 2177 §3 / RFC 9051 §6.3.13: the line that ends IDLE is `DONE` (case-insensitive). */
export function isIdleDone(line: Buffer): boolean {
  return line.length === 4 && line.toString('latin1').toUpperCase() === 'DONE';
}
