/** UIDL [msg] (RFC 1939 §7): unique-ids that stay the same across sessions and restarts (wire.ts). */
import { ok, uidl as uniqueId } from '../wire.js';
import { optionalMessageNumber } from './args.js';
import { defineCommand } from './types.js';

export const uidl = defineCommand<number | null>({
  verb: 'UIDL',
  states: ['transaction'],
  parse: optionalMessageNumber('UIDL'),
  async run(s, n) {
    const uidValidity = s.maildrop?.uidValidity ?? 0;
    if (n !== null) {
      const message = s.target(n);
      if (message) s.send(ok(`${n} ${uniqueId(message.uid, uidValidity)}`));
      return;
    }
    const lines = [...s.visible()].map(([i, m]) => `${i} ${uniqueId(m.uid, uidValidity)}`);
    await s.sendLines(ok('Unique-ID listing follows'), lines);
  },
});
