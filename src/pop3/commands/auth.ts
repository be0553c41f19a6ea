/**
 * AUTH mechanism [initial-response] (RFC 5034) with the SASL mechanisms of auth/sasl.ts.
 * Challenges are `+ <base64>`; a client line `*` cancels (RFC 5034 §4). `AUTH` alone lists the
 * mechanisms (the older RFC 1734 habit that some clients, e.g. Outlook, still probe with).
 */
import { createMechanism, SASL_MECHANISMS } from '../../auth/sasl.js';
import { err, MAX_LONG_ARGUMENT, MAX_SASL_LINE } from '../wire.js';
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
      return s.sendLines('+OK List of SASL mechanisms follows', s.plaintextAllowed ? SASL_MECHANISMS : []);
    }
    if (!s.plaintextAllowed) return s.refusePlaintext();
    const mech = createMechanism(args.mechanism);
    if (!mech)
      return s.fail(
        `Unrecognized authentication mechanism "${args.mechanism.slice(0, 20)}"; use ${SASL_MECHANISMS.join(' or ')}`,
      );
    let step = mech.start(args.initial);
    while (step.kind === 'challenge') {
      s.send(`+ ${step.data}`);
      const input = await s.conn.readLine(MAX_SASL_LINE);
      if (input.kind === 'eof' || input.kind === 'timeout') {
        s.done = true;
        return;
      }
      if (input.kind === 'too-long') {
        s.conn.trace.in('<redacted: line too long>');
        return s.fail('Authentication exchange line is too long');
      }
      const text = input.line.toString('latin1').trim();
      s.conn.trace.in(text === '*' ? '*' : '<redacted>');
      if (text === '*') return s.send(err('Authentication cancelled'));
      step = mech.next(text);
    }
    if (step.kind === 'error') return s.fail(`Cannot decode the response: ${step.message}`);
    if (step.authzid && step.authzid.toLowerCase() !== step.username.toLowerCase()) {
      return s.loginFailed(step.username, mech.name, {
        ok: false,
        reason: 'invalid',
        text: 'Logging in as another user (authorization identity) is not supported',
      });
    }
    const result = await s.backend.auth.login(s.client, step.username, step.password);
    if (!result.ok) return s.loginFailed(step.username, mech.name, result);
    await s.loggedIn(result.account, mech.name);
  },
});
