/** The small commands: RSET, NOOP, QUIT, VRFY, EXPN (RFC 5321 §4.1.1.5–4.1.1.10), allowed in every state. */
import { R, reply } from '../reply.js';
import { ANY_STATE, defineCommand, ignoreArguments, ok, syntax } from './types.js';

export const rset = defineCommand<null>({
  verb: 'RSET',
  help: 'RSET - forget the current message and start over (RFC 5321 4.1.1.5)',
  states: ANY_STATE,
  parse: ignoreArguments,
  run(s) {
    s.resetTransaction();
    s.send(R.ok());
  },
});

export const noop = defineCommand<null>({
  verb: 'NOOP',
  help: 'NOOP - do nothing; the server answers 250 (RFC 5321 4.1.1.9)',
  states: ANY_STATE,
  parse: ignoreArguments,
  run: (s) => s.send(R.ok()),
});

export const quit = defineCommand<null>({
  verb: 'QUIT',
  help: 'QUIT - end the session (RFC 5321 4.1.1.10)',
  states: ANY_STATE,
  parse: ignoreArguments,
  run(s) {
    s.send(reply(221, '2.0.0', `${s.settings.hostname} Service closing transmission channel`));
    s.done = true;
  },
});

export const vrfy = defineCommand<string>({
  verb: 'VRFY',
  help: 'VRFY <address> - verify an address (answered 252 to prevent address harvesting) (RFC 5321 4.1.1.6)',
  states: ANY_STATE,
  parse: (args) => (args.trim() ? ok(args.trim()) : syntax('Syntax: VRFY <address>')),
  // RFC 5321 §3.5.3: 252 when the server will not verify but will accept mail for the address.
  run: (s) => s.send(reply(252, '2.0.0', 'Cannot VRFY user, but will accept message and attempt delivery')),
});

export const expn = defineCommand<null>({
  verb: 'EXPN',
  help: 'EXPN <list> - expand a mailing list (disabled) (RFC 5321 4.1.1.7)',
  states: ANY_STATE,
  parse: ignoreArguments,
  run: (s) => s.send(reply(502, '5.5.1', 'EXPN is disabled on this server')),
});
