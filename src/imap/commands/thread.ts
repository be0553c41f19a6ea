/** THREAD and UID THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES. The algorithms are in ../search/thread.ts. */
import { evaluateCriteria, scopeOf } from '../search/respond.js';
import { THREAD_ALGORITHMS, type ThreadAlgorithm, threadMessages } from '../search/thread.js';
import type { ParseContext } from '../wire/commands.js';
import { type SearchKey, searchKeys } from './search-grammar.js';
import { command, SELECTED } from './types.js';

export const thread = command({
  name: 'THREAD',
  parse: parseThread,
  states: SELECTED,
  async run(s, tag, cmd) {
    const name = cmd.uid ? 'UID THREAD' : 'THREAD';
    const algorithm = cmd.algorithm.toUpperCase() as ThreadAlgorithm;
    if (!THREAD_ALGORITHMS.includes(algorithm)) {
      return s.bad(tag, `Unknown threading algorithm ${cmd.algorithm.slice(0, 40)}; use REFERENCES or ORDEREDSUBJECT`);
    }
    const found = await evaluateCriteria(s, tag, {
      uid: cmd.uid,
      charset: cmd.charset,
      criteria: cmd.criteria,
      save: false,
    });
    if (found === null) return;
    const threads = await threadMessages(scopeOf(s), found, algorithm, cmd.uid);
    // RFC 5256 §4 (BASE.7.2.THREAD): `* THREAD` followed by the thread lists (nothing when no message matched).
    s.untagged(threads === '' ? 'THREAD' : `THREAD ${threads}`);
    s.ok(tag, `${name} completed`);
  },
});

/** RFC 5256 §3: the threading algorithm (as written), the charset, the search criteria. */
export interface ThreadCommand {
  name: 'THREAD';
  uid: boolean;
  algorithm: string;
  charset: string;
  criteria: SearchKey;
}

/** RFC 5256 §5: `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`. */
function parseThread(ctx: ParseContext, uid: boolean): ThreadCommand {
  const { r } = ctx;
  r.sp('after THREAD');
  const algorithm = r.keyword('a threading algorithm such as REFERENCES');
  r.sp('after the threading algorithm');
  const charset = r.astringText('a charset name');
  r.sp('after the charset');
  return { name: 'THREAD', uid, algorithm, charset, criteria: searchKeys(ctx) };
}
