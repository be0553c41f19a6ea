/**
 * SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4), with ESEARCH (RFC 4731), SEARCHRES
 * (RFC 5182), CONDSTORE's MODSEQ key (RFC 7162 §3.1.5) and WITHIN (RFC 5032). The evaluation is in
 * ../search/.
 */

import { hasModseqKey } from '../search/evaluate.js';
import { evaluateCriteria, RETURN_ALL, writeResult } from '../search/respond.js';
import type { ParseContext } from '../wire/commands.js';
import { optionalSearchReturn, type SearchKey, type SearchReturn, searchKeys } from './search-grammar.js';
import { command, SELECTED } from './types.js';

export const search = command({
  name: 'SEARCH',
  parse: parseSearch,
  states: SELECTED,
  async run(s, tag, cmd) {
    const name = cmd.uid ? 'UID SEARCH' : 'SEARCH';
    if (cmd.returnOptions?.partial) return s.bad(tag, 'RETURN (PARTIAL) is not supported by this server');
    const save = cmd.returnOptions?.save ?? false;
    const found = await evaluateCriteria(s, tag, { uid: cmd.uid, charset: cmd.charset, criteria: cmd.criteria, save });
    if (found === null) return;
    // RFC 9051 §6.4.4: an IMAP4rev2 client always gets ESEARCH (no RETURN options: ALL); an IMAP4rev1
    // client gets ESEARCH only when it asked with RETURN (RFC 4731 §3.1).
    const returnOptions = cmd.returnOptions ?? (s.rev2 ? RETURN_ALL : null);
    writeResult(s, tag, { command: 'SEARCH', uid: cmd.uid, returnOptions, modseq: hasModseqKey(cmd.criteria) }, found);
    s.ok(
      tag,
      `${name} completed${save ? ', result saved' : ''} (${found.length} ${found.length === 1 ? 'match' : 'matches'})`,
    );
  },
});

/** RFC 9051 §6.4.4: the criteria, the charset, and the ESEARCH RETURN options. */
export interface SearchCommand {
  name: 'SEARCH';
  uid: boolean;
  charset: string | null;
  /** null: the client asked for the old `* SEARCH` response. */
  returnOptions: SearchReturn | null;
  criteria: SearchKey;
}

/**
 * RFC 9051 §6.4.4: `search = "SEARCH" [search-return-opts] SP search-program`;
 * `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`.
 */
function parseSearch(ctx: ParseContext, uid: boolean): SearchCommand {
  const { r } = ctx;
  r.sp('after SEARCH');
  const returnOptions = optionalSearchReturn(r);
  let charset: string | null = null;
  if (r.tryKeyword('CHARSET')) {
    r.sp('after CHARSET');
    charset = r.astringText('a charset name');
    r.sp('after the charset');
  }
  return { name: 'SEARCH', uid, charset, returnOptions, criteria: searchKeys(ctx) };
}
