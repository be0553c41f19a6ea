/**
 * STARTTLS (RFC 5804 §2.2): upgrade to TLS before login. Input pipelined behind STARTTLS is discarded
 * by the connection; after the handshake the server sends its capabilities again, then OK (§2.2), so
 * the client sees what TLS changed (SASL mechanisms, no STARTTLS).
 */
import { defineCommand, noArguments } from './types.js';

export const starttls = defineCommand<null>({
  name: 'STARTTLS',
  states: ['unauthenticated'],
  usage: 'STARTTLS (no arguments)',
  parse: noArguments('STARTTLS (no arguments)'),
  async run(s) {
    const ctx = s.settings.tlsContext;
    if (!ctx) return s.no('TLS is not available on this server');
    if (s.conn.secure) return s.fail('TLS is already active on this connection');
    s.ok('Begin TLS negotiation now');
    try {
      await s.conn.startTls(ctx());
    } catch {
      s.done = true;
      return;
    }
    s.sendCapabilities('TLS negotiation successful');
  },
});
