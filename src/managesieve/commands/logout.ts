/** LOGOUT (RFC 5804 §2.3): OK, and the server closes the connection. */
import { defineCommand, noArguments } from './types.js';

export const logout = defineCommand<null>({
  name: 'LOGOUT',
  states: ['unauthenticated', 'authenticated'],
  usage: 'LOGOUT (no arguments)',
  parse: noArguments('LOGOUT (no arguments)'),
  run(s) {
    s.ok('Logout completed');
    s.done = true;
  },
});
