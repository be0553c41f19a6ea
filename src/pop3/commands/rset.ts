/** RSET (RFC 1939 §5): unmarks every message marked with DELE in this session. */
import { ok } from '../wire.js';
import { defineCommand, noArguments } from './types.js';

export const rset = defineCommand<null>({
  verb: 'RSET',
  states: ['transaction'],
  parse: noArguments('RSET'),
  run(s) {
    s.deleted.clear();
    const { count, size } = s.totals();
    s.send(ok(`Maildrop has ${count} messages (${size} octets)`));
  },
});
