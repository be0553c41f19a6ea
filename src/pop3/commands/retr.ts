/** RETR msg (RFC 1939 §5): the whole message, byte-stuffed, streamed with backpressure. */
import { err, ok } from '../wire.js';
import { messageNumber } from './args.js';
import { defineCommand } from './types.js';

export const retr = defineCommand<number>({
  verb: 'RETR',
  states: ['transaction'],
  parse: messageNumber('RETR'),
  async run(s, n) {
    const message = s.target(n);
    if (!message || !s.maildrop) return;
    const chunks = await s.maildrop.read(message);
    if (!chunks) return s.send(err(`Message ${n} is no longer available; another client removed it`));
    s.send(ok(`${message.size} octets`));
    if (await s.sendBody(chunks, null)) s.stats.retrieved++;
  },
});
