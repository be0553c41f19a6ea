/**
 * VANISHED responses (RFC 7162 §3.2.10), split into lines a client can take: RFC 7162 §4 (updating
 * RFC 2683 §3.2.1.5) asks servers to keep lines to about 8 KB; we stop at 4 KB like Mox.
 */
import type { ImapSession } from '../session.js';
import { compactNumbers } from '../wire/seqset.js';

const MAX_LINE = 4000;

/** `* VANISHED [(EARLIER) ]uid-set` lines for ascending `uids`. */
export function sendVanished(s: ImapSession, uids: readonly number[], earlier: boolean): void {
  if (uids.length === 0) return;
  const head = earlier ? 'VANISHED (EARLIER) ' : 'VANISHED ';
  const set = compactNumbers(uids);
  if (set.length <= MAX_LINE) {
    s.untagged(head + set);
    return;
  }
  let line = '';
  for (const piece of set.split(',')) {
    if (line.length + piece.length + 1 > MAX_LINE) {
      s.untagged(head + line);
      line = '';
    }
    line = line ? `${line},${piece}` : piece;
  }
  if (line) s.untagged(head + line);
}
