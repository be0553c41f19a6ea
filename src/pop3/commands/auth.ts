/**
 * AUTH mechanism [initial-response] (RFC 5034): the shared SASL exchange of auth/sasl-exchange.ts
 * with `+ <base64>` challenges; a client line `*` cancels (RFC 5034 §4). `AUTH` alone lists the
 * mechanisms (the older RFC 1734 habit that some clients, e.g. Outlook, still probe with).
 */
import { advertisedMechanisms, createMechanism, mechanismHint } from '../../auth/sasl.js';
import { runSaslExchange, type SaslEngine } from '../../auth/sasl-exchange.js';
import type { Pop3User } from '../backend.js';
import { err, MAX_LONG_ARGUMENT } from '../wire.js';
import { defineCommand, ok, syntax } from './types.js';

export const auth = defineCommand<{ mechanism: string; initial: string | null } | null>({
  verb: 'AUTH',
  states: ['authorization'],
  maxArgument: MAX_LONG_ARGUMENT,
  redact: (line) => (line.args.length > 1 ? `AUTH ${line.args[0]} <redacted>` : `AUTH ${line.args[0] ?? ''}`.trimEnd()),
  parse(line) {
    if (line.args.length === 0) return ok(null);
    if (line.args.length > 2) return syntax('AUTH <mechanism> [initial-response]');
    return ok({ mechanism: line.args[0], initial: line.args[1] ?? null });
  },
  async run(s, args) {
    if (args === null) {
      return s.sendLines(
        '+OK List of SASL mechanisms follows',
        s.plaintextAllowed ? advertisedMechanisms(s.backend.auth, s.conn) : [],
      );
    }
    if (!s.plaintextAllowed) return s.refusePlaintext();
    const sasl: SaslEngine<Pop3User> = {
      auth: s.backend.auth,
      client: s.client,
      conn: s.conn,
      challenge: (data) => s.send(`+ ${data}`),
    };
    const mech = createMechanism(args.mechanism, sasl);
    if (!mech)
      return s.fail(
        `Unrecognized authentication mechanism "${args.mechanism.slice(0, 20)}"; ${mechanismHint(sasl.auth, sasl.conn)}`,
      );
    const outcome = await runSaslExchange(sasl, mech, args.initial);
    switch (outcome.kind) {
      case 'closed':
        s.done = true;
        return;
      case 'too-long':
        return s.fail('Authentication exchange line is too long');
      case 'cancelled':
        return s.send(err('Authentication cancelled'));
      case 'malformed':
        return s.fail(`Cannot decode the response: ${outcome.message}`);
      case 'failure':
        return s.loginFailed(outcome.username, outcome.mechanism, outcome.failure);
      case 'success':
        return s.loggedIn(outcome.account, outcome.mechanism);
    }
  },
});
