/** NOOP [tag] (RFC 5804 §2.13): OK, with the tag echoed in a TAG response code when one was given. */
import { stringArg } from '../wire.js';
import { defineCommand, ok, syntax } from './types.js';

const USAGE = 'NOOP ["<tag>"]';

export const noop = defineCommand<string | null>({
  name: 'NOOP',
  states: ['unauthenticated', 'authenticated'],
  usage: USAGE,
  parse(args) {
    if (args.length === 0) return ok(null);
    const tag = stringArg(args[0]);
    return args.length === 1 && tag !== null ? ok(tag) : syntax(USAGE);
  },
  run(s, tag) {
    if (tag === null) s.ok('NOOP completed');
    else s.ok('Done', { tag });
  },
});
