/**
 * AUTHENTICATE mechanism [initial-response] (RFC 5804 §2.1): the shared SASL exchange of
 * auth/sasl-exchange.ts, with challenges sent as strings and responses read as strings (../sasl.ts);
 * `"*"` cancels. PLAIN and LOGIN (and SCRAM, under the same rule as IMAP and POP3) are refused with
 * ENCRYPT-NEEDED where plaintext logins are not allowed: STARTTLS first.
 */
import { createMechanism, mechanismHint } from '../../auth/sasl.js';
import { runSaslExchange, SASL_LINE_LIMIT, type SaslEngine } from '../../auth/sasl-exchange.js';
import type { ManageSieveUser } from '../backend.js';
import { saslConnection } from '../sasl.js';
import { encodeString, printable } from '../wire.js';
import { defineCommand, ok, syntax } from './types.js';

const USAGE = 'AUTHENTICATE "<mechanism>" ["<base64 initial response>"]';

export const authenticate = defineCommand<{ mechanism: string; initial: string | null }>({
  name: 'AUTHENTICATE',
  states: ['unauthenticated'],
  usage: USAGE,
  redactFrom: 1,
  literalLimit: () => SASL_LINE_LIMIT,
  parse(args) {
    if (args.length < 1 || args.length > 2) return syntax(USAGE);
    const [mechanism, initial] = args;
    // RFC 5804 §4: auth-type is a string; an atom (typed by hand) is taken too.
    if (initial !== undefined && initial.kind !== 'string') return syntax(USAGE);
    return ok({ mechanism: mechanism.value, initial: initial?.value ?? null });
  },
  async run(s, args) {
    s.afterAuth = true;
    if (!s.plaintextAllowed) {
      const hint = s.settings.tlsContext && !s.conn.secure ? 'use STARTTLS first' : 'connect over TLS';
      return s.no(`Logins are not allowed on an unencrypted connection; ${hint}`, 'ENCRYPT-NEEDED');
    }
    const sasl: SaslEngine<ManageSieveUser> = {
      auth: s.backend.auth,
      client: s.client,
      conn: saslConnection(s),
      // RFC 5804 §2.1: a challenge is a string on a line of its own.
      challenge: (data) => s.send(encodeString(data)),
    };
    const mech = createMechanism(args.mechanism, sasl);
    if (!mech) {
      return s.fail(
        `Unsupported authentication mechanism "${printable(args.mechanism, 20)}"; ${mechanismHint(sasl.auth, sasl.conn)}`,
      );
    }
    const outcome = await runSaslExchange(sasl, mech, args.initial);
    switch (outcome.kind) {
      case 'closed':
        s.done = true;
        return;
      case 'too-long':
        return s.fail('Authentication response too long');
      case 'cancelled':
        // RFC 5804 §2.1: a cancelled exchange is answered NO.
        return s.no('Authentication cancelled');
      case 'malformed':
        return s.fail(`Cannot decode the response: ${outcome.message}`);
      case 'failure':
        return s.loginFailed(outcome.username, outcome.mechanism, outcome.failure);
      case 'success':
        return s.loggedIn(outcome.account, outcome.mechanism);
    }
  },
});
