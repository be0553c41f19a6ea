/** DELETESCRIPT name (RFC 5804 §2.10): deletes a script; the active one is refused with NO (ACTIVE). */
import { defineCommand, oneString } from './types.js';

const USAGE = 'DELETESCRIPT "<name>"';

export const deletescript = defineCommand<string>({
  name: 'DELETESCRIPT',
  states: ['authenticated'],
  usage: USAGE,
  parse: oneString(USAGE),
  async run(s, name) {
    switch (await s.backend.store.sieve.delete(s.account.id, name)) {
      case 'missing':
        return s.no(`There is no script "${name}"`, 'NONEXISTENT');
      case 'active':
        return s.no(`Script "${name}" is active; deactivate it first (SETACTIVE "")`, 'ACTIVE');
      case 'deleted':
        return s.ok(`Script "${name}" deleted`);
    }
  },
});
