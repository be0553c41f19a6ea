/** Argument parsers shared by the commands that take a message number. */

import type { CommandLine } from '../wire.js';
import { parseNumber } from '../wire.js';
import { ok, type Parsed, syntax } from './types.js';

/** `VERB <msg>`. */
export function messageNumber(verb: string) {
  return (line: CommandLine): Parsed<number> => {
    const n = line.args.length === 1 ? parseNumber(line.args[0]) : null;
    return n === null ? syntax(`${verb} <message number>`) : ok(n);
  };
}

/** `VERB [msg]`: null when no number is given. */
export function optionalMessageNumber(verb: string) {
  return (line: CommandLine): Parsed<number | null> => {
    if (line.args.length === 0) return ok(null);
    const n = line.args.length === 1 ? parseNumber(line.args[0]) : null;
    return n === null ? syntax(`${verb} [message number]`) : ok(n);
  };
}
