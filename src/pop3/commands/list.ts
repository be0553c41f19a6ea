/** LIST [msg] (RFC 1939 §5): sizes in octets, one message or all that are not marked deleted. */
import { ok } from '../wire.js';
import { optionalMessageNumber } from './args.js';
import { defineCommand } from './types.js';

export const list = defineCommand<number | null>({
  verb: 'LIST',
  states: ['transaction'],
  parse: optionalMessageNumber('LIST'),
  async run(s, n) {
    if (n !== null) {
      const message = s.target(n);
      if (message) s.send(ok(`${n} ${message.size}`));
      return;
    }
    const { count, size } = s.totals();
    const lines = [...s.visible()].map(([i, m]) => `${i} ${m.size}`);
    await s.sendLines(ok(`${count} visible messages (${size} octets)`), lines);
  },
});
