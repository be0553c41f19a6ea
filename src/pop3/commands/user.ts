/** USER name (RFC 1939 §7): the first half of a USER/PASS login. Unknown names are accepted too. */
import { MAX_LONG_ARGUMENT, ok, printable } from '../wire.js';
import { defineCommand, ok as parsed, syntax } from './types.js';

export const user = defineCommand<string>({
  verb: 'USER',
  states: ['authorization'],
  maxArgument: MAX_LONG_ARGUMENT,
  parse: (line) => (line.args.length === 1 ? parsed(line.args[0]) : syntax('USER <name>, e.g. USER alice@example.org')),
  run(s, name) {
    if (!s.plaintextAllowed) return s.refusePlaintext();
    // Whether the user exists is not revealed here (nor after PASS): RFC 1939 §7 allows either way.
    s.pendingUser = name;
    s.send(ok(`Password required for ${printable(name, 64)}.`));
  },
});
