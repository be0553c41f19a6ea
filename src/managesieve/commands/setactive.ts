/**
 * SETACTIVE name (RFC 5804 §2.8): makes the script the one delivery runs; "" deactivates every script.
 * The script is compiled again first: one stored by an older postbode, or written to the store
 * directly, is refused with its errors rather than left to fail at delivery.
 */
import { checkSource } from '../scripts.js';
import { defineCommand, oneString } from './types.js';

const USAGE = 'SETACTIVE "<name>" (or "" to deactivate)';

export const setactive = defineCommand<string>({
  name: 'SETACTIVE',
  states: ['authenticated'],
  usage: USAGE,
  parse: oneString(USAGE),
  async run(s, name) {
    const sieve = s.backend.store.sieve;
    const account = s.account;
    if (name === '') {
      await sieve.setActive(account.id, null);
      return s.ok('No script is active now');
    }
    const source = await sieve.get(account.id, name);
    if (source === null) return s.no(`There is no script "${name}"`, 'NONEXISTENT');
    if (!checkSource(s, source)) return;
    if (!(await sieve.setActive(account.id, name))) return s.no(`There is no script "${name}"`, 'NONEXISTENT');
    s.ok(`Script "${name}" is active`);
  },
});
