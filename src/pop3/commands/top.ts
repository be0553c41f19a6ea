/**
 * TOP msg n (RFC 1939 §7): the header, the empty line, and the first n body lines. The header length
 * comes from the blob's meta when known (TOP msg 0 then reads only the header bytes).
 */
import { TopCutter } from '../body.js';
import { err, ok, parseNumber } from '../wire.js';
import { defineCommand, ok as parsed, syntax } from './types.js';

export const top = defineCommand<{ n: number; lines: number }>({
  verb: 'TOP',
  states: ['transaction'],
  parse(line) {
    const n = line.args.length === 2 ? parseNumber(line.args[0]) : null;
    const lines = line.args.length === 2 ? parseNumber(line.args[1]) : null;
    if (n === null || lines === null) return syntax('TOP <message number> <number of lines>');
    return parsed({ n, lines });
  },
  async run(s, { n, lines }) {
    const message = s.target(n);
    if (!message || !s.maildrop) return;
    const headerLength = await s.maildrop.headerLength(message);
    const range = lines === 0 && headerLength !== null ? { start: 0, end: headerLength } : undefined;
    const chunks = await s.maildrop.read(message, range);
    if (!chunks) return s.send(err(`Message ${n} is no longer available; another client removed it`));
    s.send(ok(`Top of message ${n} follows`));
    await s.sendBody(chunks, new TopCutter(headerLength, lines));
  },
});
