/** PASS password (RFC 1939 §7): the second half of a USER/PASS login. */
import { MAX_LONG_ARGUMENT } from '../wire.js';
import { defineCommand, ok, syntax } from './types.js';

export const pass = defineCommand<string>({
  verb: 'PASS',
  states: ['authorization'],
  maxArgument: MAX_LONG_ARGUMENT,
  redact: () => 'PASS <redacted>',
  // RFC 1939 §7: the password is the rest of the line; it may contain spaces.
  parse: (line) => (line.rest !== '' ? ok(line.rest) : syntax('PASS <password>')),
  async run(s, password) {
    if (!s.plaintextAllowed) return s.refusePlaintext();
    const name = s.pendingUser;
    if (name === null) return s.fail('Send USER <name> first, then PASS <password>');
    const result = await s.backend.auth.login(s.client, name, password);
    if (!result.ok) return s.loginFailed(name, 'USER', result);
    await s.loggedIn(result.account, 'USER');
  },
});
