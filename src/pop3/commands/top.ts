/**
 * TOP msg n (RFC 1939 §7): the header, the empty line, and the first n body lines. The header length
 * comes from the blob's meta when known (TOP msg 0 then reads only the header bytes).
 *
 * The +OK line gives the size of what follows, as RETR's does (`+OK 512 octets`, before byte-stuffing):
 * RFC 1939 leaves the text after +OK free, and Wireshark's POP dissector reads the first word after a
 * RETR's or TOP's +OK as the length to reassemble (any other word is flagged malformed, and the body's
 * segments are then dissected one by one). The size is found by a first pass through the message,
 * which stops where the cut does, so it reads about as much again as the reply sends.
 */
import type { Maildrop, MaildropMessage } from '../backend.js';
import { TopCutter } from '../body.js';
import { err, ok, parseLineCount, parseNumber } from '../wire.js';
import { defineCommand, ok as parsed, syntax } from './types.js';

/** The octets TOP sends for `message` before stuffing, or null when the message went meanwhile. */
async function topSize(
  maildrop: Maildrop,
  message: MaildropMessage,
  headerLength: number | null,
  lines: number,
): Promise<number | null> {
  if (lines === 0 && headerLength !== null) return Math.min(headerLength, message.size);
  const chunks = await maildrop.read(message);
  if (!chunks) return null;
  const cutter = new TopCutter(headerLength, lines);
  let octets = 0;
  for await (const chunk of chunks) {
    octets += cutter.push(chunk).length;
    if (cutter.done) break;
  }
  return octets;
}

export const top = defineCommand<{ n: number; lines: number }>({
  verb: 'TOP',
  states: ['transaction'],
  parse(line) {
    const n = line.args.length === 2 ? parseNumber(line.args[0]) : null;
    const lines = line.args.length === 2 ? parseLineCount(line.args[1]) : null;
    if (n === null || lines === null) return syntax('TOP <message number> <number of lines>');
    return parsed({ n, lines });
  },
  async run(s, { n, lines }) {
    const message = s.target(n);
    if (!message || !s.maildrop) return;
    const headerLength = await s.maildrop.headerLength(message);
    const range = lines === 0 && headerLength !== null ? { start: 0, end: headerLength } : undefined;
    const octets = await topSize(s.maildrop, message, headerLength, lines);
    const chunks = octets === null ? null : await s.maildrop.read(message, range);
    if (octets === null || !chunks) {
      return s.send(err(`Message ${n} is no longer available; another client removed it`));
    }
    s.send(ok(`${octets} octets`));
    await s.sendBody(chunks, new TopCutter(headerLength, lines));
  },
});
