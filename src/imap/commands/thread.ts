/** THREAD and UID THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES. The algorithms are in ../search/thread.ts. */
import { evaluateCriteria, scopeOf } from '../search/respond.js';
import { THREAD_ALGORITHMS, type ThreadAlgorithm, threadMessages } from '../search/thread.js';
import { command, SELECTED } from './types.js';

export const thread = command({
  name: 'THREAD',
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
