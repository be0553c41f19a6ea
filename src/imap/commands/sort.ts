/**
 * SORT and UID SORT (RFC 5256 §3) with DISPLAYFROM/DISPLAYTO (RFC 5957) and, when RETURN options are
 * given, ESORT (RFC 5267 §3). The sorting is in ../search/sort.ts.
 */
import { hasModseqKey } from '../search/evaluate.js';
import { evaluateCriteria, scopeOf, writeResult } from '../search/respond.js';
import { sortMessages } from '../search/sort.js';
import { command, SELECTED } from './types.js';

export const sort = command({
  name: 'SORT',
  states: SELECTED,
  async run(s, tag, cmd) {
    const name = cmd.uid ? 'UID SORT' : 'SORT';
    if (cmd.returnOptions?.partial) return s.bad(tag, 'RETURN (PARTIAL) is not supported by this server');
    const save = cmd.returnOptions?.save ?? false;
    // RFC 5256 §3: the charset is mandatory; US-ASCII and UTF-8 MUST be supported.
    const found = await evaluateCriteria(s, tag, { uid: cmd.uid, charset: cmd.charset, criteria: cmd.criteria, save });
    if (found === null) return;
    const sorted = await sortMessages(scopeOf(s), found, cmd.sort);
    const form = {
      command: 'SORT',
      uid: cmd.uid,
      returnOptions: cmd.returnOptions,
      modseq: hasModseqKey(cmd.criteria),
    } as const;
    writeResult(s, tag, form, sorted);
    s.ok(tag, `${name} completed`);
  },
});
