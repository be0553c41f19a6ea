/** LISTSCRIPTS (RFC 5804 §2.7): one line per script, its name and ` ACTIVE` for the active one, then OK. */
import { encodeString } from '../wire.js';
import { defineCommand, noArguments } from './types.js';

export const listscripts = defineCommand<null>({
  name: 'LISTSCRIPTS',
  states: ['authenticated'],
  usage: 'LISTSCRIPTS (no arguments)',
  parse: noArguments('LISTSCRIPTS (no arguments)'),
  async run(s) {
    const scripts = await s.backend.store.sieve.list(s.account.id);
    for (const script of scripts) s.send(`${encodeString(script.name)}${script.active ? ' ACTIVE' : ''}`);
    s.ok('Listscripts completed');
  },
});
