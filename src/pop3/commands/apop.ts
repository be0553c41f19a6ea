/**
 * APOP name digest (RFC 1939 §7): digest = MD5(greeting timestamp + password) in hex, so the password
 * never crosses the wire; allowed on unencrypted connections.
 */
import { MAX_LONG_ARGUMENT } from '../wire.js';
import { defineCommand, ok, syntax } from './types.js';

export const apop = defineCommand<{ name: string; digest: string }>({
  verb: 'APOP',
  states: ['authorization'],
  maxArgument: MAX_LONG_ARGUMENT,
  redact: (line) => `APOP ${line.args[0] ?? ''} <redacted>`,
  parse(line) {
    const [name, digest] = line.args;
    if (line.args.length !== 2 || !/^[0-9a-fA-F]{32}$/.test(digest)) {
      return syntax(
        "APOP <name> <digest>, where digest is the MD5 of the greeting's <...> timestamp followed by the password, as 32 hex digits",
      );
    }
    return ok({ name, digest: digest.toLowerCase() });
  },
  async run(s, { name, digest }) {
    const result = await s.backend.auth.apop(s.client, name, s.timestamp, digest);
    if (!result.ok) return s.loginFailed(name, 'APOP', result);
    await s.loggedIn(result.account, 'APOP');
  },
});
