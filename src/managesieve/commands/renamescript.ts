/** RENAMESCRIPT old new (RFC 5804 §2.11): renames a script, keeping its active state. */
import { checkName } from '../scripts.js';
import { defineCommand, ok, strings } from './types.js';

const USAGE = 'RENAMESCRIPT "<old name>" "<new name>"';
const parseArgs = strings(2, USAGE);

export const renamescript = defineCommand<{ from: string; to: string }>({
  name: 'RENAMESCRIPT',
  states: ['authenticated'],
  usage: USAGE,
  parse(args) {
    const parsed = parseArgs(args);
    return parsed.ok ? ok({ from: parsed.args[0], to: parsed.args[1] }) : parsed;
  },
  async run(s, { from, to }) {
    if (!checkName(s, to)) return;
    switch (await s.backend.store.sieve.rename(s.account.id, from, to)) {
      case 'missing':
        return s.no(`There is no script "${from}"`, 'NONEXISTENT');
      case 'exists':
        return s.no(`A script "${to}" exists already; delete it or choose another name`, 'ALREADYEXISTS');
      case 'renamed':
        return s.ok(`Script "${from}" renamed to "${to}"`);
    }
  },
});
