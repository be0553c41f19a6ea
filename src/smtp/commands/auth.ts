/** AUTH (RFC 4954): the shared SASL exchange of auth/sasl-exchange.ts with SMTP's `334` challenges. */
import { createMechanism, mechanismHint } from '../../auth/sasl.js';
import { runSaslExchange, type SaslEngine } from '../../auth/sasl-exchange.js';
import { throttledText } from '../../auth/service.js';
import { R, reply } from '../reply.js';
import type { SmtpSession } from '../session.js';
import { defineCommand, ok, submissionHintOf, syntax } from './types.js';

export const auth = defineCommand<{ name: string; initial: string | undefined }>({
  verb: 'AUTH',
  help: 'AUTH <mechanism> [initial-response] - log in (RFC 4954); EHLO lists the mechanisms offered',
  // RFC 4954 §4: after EHLO, once per session, not during a mail transaction; the syntax error comes first.
  states: ['greeted'],
  outOfState: () => R.badSequence('AUTH is not allowed during a mail transaction'),
  checks: ['parse', 'ehlo', 'not-logged-in', 'state'],
  parse(args) {
    const [name = '', initial, extra] = args.trim().split(/\s+/);
    if (!name || extra !== undefined) return syntax('Syntax: AUTH <mechanism> [initial-response]');
    return ok({ name, initial });
  },
  async run(s, { name, initial }) {
    if (s.settings.role === 'mx' && !s.settings.authOnMx) {
      const submission = submissionHintOf(s.settings);
      return s.send(R.badSequence(`AUTH is not offered on this port${submission ? `; use ${submission}` : ''}`));
    }
    if (!s.backend.plaintextAllowed(s.conn)) {
      return s.send(
        reply(538, '5.7.11', 'Encryption required for requested authentication mechanism; use STARTTLS first'),
      );
    }
    const sasl = saslEngine(s);
    const mech = createMechanism(name, sasl);
    if (!mech)
      return s.send(
        reply(
          504,
          '5.5.4',
          `Unrecognized authentication type ${name.slice(0, 20)}; ${mechanismHint(sasl.auth, sasl.conn)}`,
        ),
      );
    const outcome = await runSaslExchange(sasl, mech, initial === undefined ? null : initial);
    switch (outcome.kind) {
      case 'closed':
        s.done = true;
        return;
      case 'too-long':
        return s.fail(500, '5.5.6', 'Authentication exchange line is too long');
      case 'cancelled':
        return s.send(reply(501, '5.0.0', 'Authentication cancelled'));
      case 'malformed':
        return s.send(reply(501, '5.5.2', `Cannot decode the response: ${outcome.message}`));
    }
    const result = outcome.kind === 'success' ? { ok: true as const, account: outcome.account } : outcome.failure;
    s.conn.trace.auth(outcome.username, result.ok, outcome.mechanism);
    if (!result.ok) {
      s.authFailures++;
      // RFC 4954 §6: 454 4.7.0 is a temporary authentication failure (here: the login limits).
      const refusal =
        result.reason === 'throttled'
          ? reply(454, '4.7.0', throttledText(result.throttle))
          : reply(535, '5.7.8', result.text ?? 'Authentication credentials invalid');
      if (s.authFailures >= s.settings.maxAuthFailures) {
        s.send(refusal);
        s.send(reply(421, '4.7.0', `${s.settings.hostname} Error: too many failed logins, closing connection`));
        s.done = true;
        return;
      }
      if (result.reason === 'throttled') return s.send(refusal);
      if (result.text) return s.send(reply(535, '5.7.8', result.text));
      return s.send(
        reply(
          535,
          '5.7.8',
          'Authentication credentials invalid (check the user name, which is the full address, and the password)',
        ),
      );
    }
    s.authUser = result.account;
    s.send(reply(235, '2.7.0', 'Authentication successful'));
    s.conn.trace.state('authenticated');
  },
});

function saslEngine(s: SmtpSession): SaslEngine<string> {
  return {
    auth: s.backend,
    client: { remoteAddress: s.conn.remoteAddress, protocol: 'smtp' },
    conn: s.conn,
    challenge: (data) => s.send(reply(334, null, data)),
  };
}
