/** STAT (RFC 1939 §5): `+OK count octets` of the messages not marked deleted. */
import { ok } from '../wire.js';
import { defineCommand, noArguments } from './types.js';

export const stat = defineCommand<null>({
  verb: 'STAT',
  states: ['transaction'],
  parse: noArguments('STAT'),
  run(s) {
    const { count, size } = s.totals();
    s.send(ok(`${count} ${size}`));
  },
});
