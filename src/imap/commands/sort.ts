/**
 * SORT and UID SORT (RFC 5256 §3) with DISPLAYFROM/DISPLAYTO (RFC 5957) and, when RETURN options are
 * given, ESORT (RFC 5267 §3). The sorting is in ../search/sort.ts.
 */
import { hasModseqKey } from '../search/evaluate.js';
import { evaluateCriteria, scopeOf, writeResult } from '../search/respond.js';
import { sortMessages } from '../search/sort.js';
import { type ParseContext, printable } from '../wire/commands.js';
import { optionalSearchReturn, type SearchKey, type SearchReturn, searchKeys } from './search-grammar.js';
import { command, SELECTED } from './types.js';

export const sort = command({
  name: 'SORT',
  parse: parseSort,
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

/** RFC 5256 §3 (ESORT RFC 5267 §3): the sort criteria, the charset, the search criteria. */
export interface SortCommand {
  name: 'SORT';
  uid: boolean;
  sort: SortCriterion[];
  charset: string;
  returnOptions: SearchReturn | null;
  criteria: SearchKey;
}

/** RFC 5256 §3 sort keys, + DISPLAYFROM/DISPLAYTO (RFC 5957 §3). */
export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
const SORT_KEYS: readonly SortKey[] = [
  'ARRIVAL',
  'CC',
  'DATE',
  'FROM',
  'SIZE',
  'SUBJECT',
  'TO',
  'DISPLAYFROM',
  'DISPLAYTO',
];

export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

/**
 * RFC 5256 §5: `sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria`;
 * `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`; `sort-criterion = ["REVERSE" SP] sort-key`;
 * `search-criteria = charset 1*(SP search-key)`. RFC 5267 §3 (ESORT): `[SP sort-return-opts]` after SORT.
 */
function parseSort(ctx: ParseContext, uid: boolean): SortCommand {
  const { r } = ctx;
  r.sp('after SORT');
  const returnOptions = optionalSearchReturn(r);
  const sort = r.list(
    (): SortCriterion => {
      const reverse = r.tryKeyword('REVERSE');
      if (reverse) r.sp('after REVERSE');
      const at = r.pos;
      const key = r.keyword('a sort key');
      if (!(SORT_KEYS as readonly string[]).includes(key)) r.fail(`unknown sort key "${printable(key)}"`, at);
      return { key: key as SortKey, reverse };
    },
    { what: 'the sort criteria' },
  );
  r.sp('after the sort criteria');
  const charset = r.astringText('a charset name');
  r.sp('after the charset');
  return { name: 'SORT', uid, sort: firstOfEachKey(sort), charset, returnOptions, criteria: searchKeys(ctx) };
}

/**
 * The criteria with each key's first use only: a key used again (reversed or not) can only compare
 * messages that the first use found equal, so it changes no order (RFC 5256 §3: later keys break ties).
 * So the work of one SORT is bounded by the few keys there are, however often the client repeats them
 * (`SORT (SUBJECT SUBJECT …)` 3,000 times took 15 s and a gigabyte).
 */
export function firstOfEachKey(sort: SortCriterion[]): SortCriterion[] {
  const seen = new Set<SortKey>();
  const out: SortCriterion[] = [];
  for (const c of sort) {
    if (seen.has(c.key)) continue;
    seen.add(c.key);
    out.push(c);
  }
  return out;
}
