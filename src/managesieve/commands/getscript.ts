/** GETSCRIPT name (RFC 5804 §2.9): the script's source as a literal, then OK. */
import { defineCommand, oneString } from './types.js';

const USAGE = 'GETSCRIPT "<name>"';

export const getscript = defineCommand<string>({
  name: 'GETSCRIPT',
  states: ['authenticated'],
  usage: USAGE,
  parse: oneString(USAGE),
  async run(s, name) {
    const source = await s.backend.store.sieve.get(s.account.id, name);
    if (source === null) return s.no(`There is no script "${name}"`, 'NONEXISTENT');
    // RFC 5804 §4 response-getscript: sieve-script CRLF response-ok; sent as a literal-s2c always.
    s.send(`{${Buffer.byteLength(source)}}\r\n${source}`);
    s.ok('Getscript completed');
  },
});
