/**
 * What a body search index stores for a message, shared by the backends (sqlite/search.ts,
 * postgres/search.ts): the case-folded texts the IMAP engine compares (src/mail `indexText`), and the
 * size beyond which a message is never indexed.
 *
 * Invariants:
 * - The texts are exactly the strings SEARCH BODY/TEXT compares, so an index built on them only
 *   narrows, never changes, a result.
 * - Messages over INDEX_MAX_BYTES stay pending for good: decoding and indexing megabytes would hold
 *   the server's thread and memory; they are read at each search instead.
 */
import { parseMessage } from '../mail/parse.js';
import { type IndexText, indexText, type SearchMeta } from '../mail/search.js';
import type { JsonValue } from './types.js';

/** The largest message an index takes (see the header). */
export const INDEX_MAX_BYTES = 1024 * 1024;

/** The texts to index for a message, computed outside the write (from its stored meta when it has one). */
export function prepareIndexText(raw: Buffer, meta: JsonValue): IndexText {
  const stored = meta as Partial<SearchMeta> | null;
  const m: SearchMeta =
    stored !== null && typeof stored === 'object' && stored.mime !== undefined && stored.envelope !== undefined
      ? (stored as SearchMeta)
      : parseMessage(raw);
  return indexText(raw, m);
}
