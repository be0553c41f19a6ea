/** DELE msg (RFC 1939 §5): marks a message; it is removed only by QUIT (UPDATE state). */
import { ok } from '../wire.js';
import { messageNumber } from './args.js';
import { defineCommand } from './types.js';

export const dele = defineCommand<number>({
  verb: 'DELE',
  states: ['transaction'],
  parse: messageNumber('DELE'),
  run(s, n) {
    if (!s.target(n)) return;
    s.deleted.add(n);
    s.send(ok(`Message ${n} deleted.`));
  },
});
