/**
 * HAVESPACE name size (RFC 5804 §2.5): whether a script of `size` octets called `name` could be stored
 * now: OK, or NO (QUOTA/MAXSIZE) / NO (QUOTA/MAXSCRIPTS).
 */
import { checkName, checkRoom, checkSize } from '../scripts.js';
import { stringArg } from '../wire.js';
import { defineCommand, ok, syntax } from './types.js';

const USAGE = 'HAVESPACE "<name>" <size in octets>';

export const havespace = defineCommand<{ name: string; size: number }>({
  name: 'HAVESPACE',
  states: ['authenticated'],
  usage: USAGE,
  parse(args) {
    const name = stringArg(args[0]);
    const size = args[1];
    // RFC 5804 §4: number = 1*DIGIT, at most 4294967295.
    if (args.length !== 2 || name === null || size.kind !== 'atom' || !/^[0-9]{1,10}$/.test(size.value)) {
      return syntax(USAGE);
    }
    return ok({ name, size: Number(size.value) });
  },
  async run(s, { name, size }) {
    if (!checkName(s, name) || !checkSize(s, size)) return;
    if (!(await checkRoom(s, s.account.id, name))) return;
    s.ok('Putscript would succeed');
  },
});
