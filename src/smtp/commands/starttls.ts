/** STARTTLS (RFC 3207): upgrade to TLS; afterwards the session starts over (no greeting, no auth, no tx). */
import { R, reply } from '../reply.js';
import { ANY_STATE, defineCommand, ok, syntax } from './types.js';

export const starttls = defineCommand<null>({
  verb: 'STARTTLS',
  help: 'STARTTLS - switch this connection to TLS (RFC 3207)',
  // In every state (a transaction in progress is dropped below). Whether TLS is already active is not a
  // state: it is answered after "TLS not available" (a listener without certificates), as it always was.
  states: ANY_STATE,
  parse: (args) => (args.trim() ? syntax('STARTTLS takes no arguments') : ok(null)),
  async run(s) {
    const ctx = s.settings.tlsContext;
    if (!ctx) return s.send(reply(454, '4.7.0', 'TLS not available on this server'));
    if (s.conn.secure) return s.send(R.badSequence('TLS is already active'));
    s.send(reply(220, '2.0.0', 'Ready to start TLS'));
    try {
      await s.conn.startTls(ctx());
    } catch {
      s.done = true;
      return;
    }
    // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS.
    s.greeting = null;
    s.authUser = null;
    s.resetTransaction();
    s.conn.trace.state('tls');
  },
});
