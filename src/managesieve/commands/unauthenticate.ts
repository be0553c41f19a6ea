/**
 * UNAUTHENTICATE (RFC 5804 §2.14): back to the unauthenticated state, so the client can log in as
 * someone else on the same connection (TLS stays).
 */
import { defineCommand, noArguments } from './types.js';

export const unauthenticate = defineCommand<null>({
  name: 'UNAUTHENTICATE',
  states: ['authenticated'],
  usage: 'UNAUTHENTICATE (no arguments)',
  parse: noArguments('UNAUTHENTICATE (no arguments)'),
  run(s) {
    s.user = null;
    s.state = 'unauthenticated';
    s.conn.trace.state('unauthenticated');
    s.ok('Logged out; you may AUTHENTICATE again');
  },
});
