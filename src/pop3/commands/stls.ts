/**
 * STLS (RFC 2595 §4): upgrade to TLS in AUTHORIZATION. Input pipelined behind STLS is discarded by the
 * connection, and the session forgets the USER name given before (RFC 2595 §3.1).
 */
import { err, ok } from '../wire.js';
import { defineCommand, noArguments } from './types.js';

export const stls = defineCommand<null>({
  verb: 'STLS',
  states: ['authorization'],
  parse: noArguments('STLS'),
  async run(s) {
    const ctx = s.settings.tlsContext;
    if (!ctx) return s.send(err('TLS is not available on this server'));
    if (s.conn.secure) return s.fail('TLS is already active on this connection');
    s.send(ok('Begin TLS negotiation'));
    try {
      await s.conn.startTls(ctx());
    } catch {
      s.done = true;
      return;
    }
    s.pendingUser = null;
  },
});
