/**
 * The tests of the validator (validate.ts): each test's tags and arguments checked and turned into its
 * node of the checked tree, with the comparator, match type, address part, index and zone rules they
 * share (RFC 5228 §2.7, §5; RFC 5231; RFC 5233; RFC 5260 §4–§6; and the other extensions' tests).
 */

import type {
  AddressPart,
  BodyTransform,
  ComparatorName,
  DatePart,
  IndexSpec,
  MatchSpec,
  Relation,
  Str,
  StrList,
  SyntaxArgument,
  SyntaxString,
  SyntaxTest,
  Test,
  ZoneSpec,
} from './ast.js';
import { Abort, type Args, isCommandName, type TagTable, type Validator } from './validate.js';

const COMPARATOR_TAGS: TagTable = { comparator: { ext: null, arg: 'string', group: 'comparator' } };
const MATCH_TAGS: TagTable = {
  is: { ext: null, group: 'match type' },
  contains: { ext: null, group: 'match type' },
  matches: { ext: null, group: 'match type' },
  value: { ext: 'relational', arg: 'string', group: 'match type' },
  count: { ext: 'relational', arg: 'string', group: 'match type' },
};
const ADDRESS_PART_TAGS: TagTable = {
  all: { ext: null, group: 'address part' },
  localpart: { ext: null, group: 'address part' },
  domain: { ext: null, group: 'address part' },
  user: { ext: 'subaddress', group: 'address part' },
  detail: { ext: 'subaddress', group: 'address part' },
};
const INDEX_TAGS: TagTable = {
  index: { ext: 'index', arg: 'number' },
  last: { ext: 'index' },
};

/**
 * The address test only reads headers that hold addresses (RFC 5228 §5.1: it SHOULD take every
 * address-list header): Pigeonhole's list, and Disposition-Notification-To (RFC 8098 §2.1).
 */
const ADDRESS_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'sender',
  'resent-from',
  'resent-to',
  'reply-to',
  'resent-reply-to',
  'resent-sender',
  'resent-cc',
  'resent-bcc',
  'for-approval',
  'for-handling',
  'for-comment',
  'apparently-to',
  'errors-to',
  'delivered-to',
  'return-receipt-to',
  'x-admin',
  'read-receipt-to',
  'x-confirm-reading-to',
  'return-receipt-requested',
  'registered-mail-reply-requested-by',
  'mail-followup-to',
  'mail-reply-to',
  'abuse-reports-to',
  'x-complaints-to',
  'x-report-abuse-to',
  'x-beenthere',
  'x-original-from',
  'x-original-to',
  'disposition-notification-to',
]);

export const DATE_PARTS: readonly DatePart[] = [
  'year',
  'month',
  'day',
  'date',
  'julian',
  'hour',
  'minute',
  'second',
  'time',
  'iso8601',
  'std11',
  'zone',
  'weekday',
];

const RELATIONS: readonly Relation[] = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'];
const COMPARATORS: Record<string, string | null> = {
  'i;octet': null,
  'i;ascii-casemap': null,
  'i;ascii-numeric': 'comparator-i;ascii-numeric',
};

function matchSpec(v: Validator, a: Args): MatchSpec {
  let comparator: ComparatorName = 'i;ascii-casemap';
  const c = a.tags.get('comparator');
  if (c?.arg) {
    const name = (c.arg as SyntaxString).value.toLowerCase();
    if (!Object.hasOwn(COMPARATORS, name))
      v.fail(c.arg.pos, `unknown comparator "${name}" (available: ${Object.keys(COMPARATORS).join(', ')})`);
    const ext = COMPARATORS[name];
    if (ext !== null) v.need(ext, c.arg.pos, `the comparator ${name}`);
    comparator = name as ComparatorName;
  }
  let type: MatchSpec['type'] = 'is';
  let relation: Relation | null = null;
  for (const t of ['is', 'contains', 'matches', 'value', 'count'] as const) {
    const tag = a.tags.get(t);
    if (tag === undefined) continue;
    type = t;
    if (tag.arg) {
      const r = (tag.arg as SyntaxString).value; // "gt", not "GT" (RFC 5231 §5 lists them in lower case)
      if (!RELATIONS.includes(r as Relation))
        v.fail(
          tag.arg.pos,
          `unknown relation "${r}" for :${t}: use one of ${RELATIONS.map((x) => `"${x}"`).join(', ')}`,
        );
      relation = r as Relation;
    }
    if (comparator === 'i;ascii-numeric' && (t === 'contains' || t === 'matches'))
      v.fail(tag.pos, `the comparator i;ascii-numeric supports :is, :value and :count only, not :${t}`);
  }
  return { comparator, type, relation };
}

function addressPart(a: Args): AddressPart {
  for (const p of ['localpart', 'domain', 'user', 'detail'] as const) if (a.has(p)) return p;
  return 'all';
}

function indexSpec(v: Validator, a: Args): IndexSpec | null {
  const n = v.tagNum(a, 'index');
  if (n === null) {
    if (a.has('last')) v.fail(a.tags.get('last')?.pos ?? a.pos, ':last needs :index (e.g. :index 1 :last)');
    return null;
  }
  if (n < 1) v.fail(a.tags.get('index')?.arg?.pos ?? a.pos, ':index counts from 1');
  return { index: n, last: a.has('last') };
}

function zoneSpec(v: Validator, a: Args, original: boolean): ZoneSpec {
  const z = v.tagStr(a, 'zone');
  if (z !== null) return { kind: 'zone', zone: z };
  if (original && a.has('originalzone')) return { kind: 'original' };
  return { kind: 'local' };
}

/**
 * Header names. One that is not a field name (e.g. with a ':') names no field, so the test is
 * false; Pigeonhole only warns about it, and so the script is not refused here either.
 */
function headerNames(list: StrList): StrList {
  return list;
}

/** A date part; an unknown one makes the test false at run time (Pigeonhole accepts it too). */
function datePart(s: Str): Str {
  return s;
}

export function checkTest(v: Validator, t: SyntaxTest): Test {
  const what = `the test ${t.name}`;
  const pos = t.pos;
  if (t.name !== 'not' && t.name !== 'allof' && t.name !== 'anyof' && t.tests.length > 0)
    v.fail(t.tests[0].pos, `${t.name} takes no test as argument`);
  switch (t.name) {
    case 'true':
    case 'false':
      v.noArgs(t);
      return { kind: t.name, pos };
    case 'not':
      v.noArgs(t);
      if (t.tests.length !== 1 || t.testList)
        v.fail(pos, 'not needs exactly one test without parentheses, e.g. not exists "x"');
      return { kind: 'not', pos, test: checkTest(v, t.tests[0]) };
    case 'allof':
    case 'anyof':
      v.noArgs(t);
      if (t.tests.length === 0 || !t.testList)
        v.fail(pos, `${t.name} needs a list of tests in parentheses, e.g. ${t.name} (true, false)`);
      return { kind: t.name, pos, tests: checkTestList(v, t.tests) };
    case 'exists': {
      const a = v.args(t, what, {});
      const [h] = v.positional(a, [['header names', 'stringlist']]);
      return { kind: 'exists', pos, headers: headerNames(v.list(h)) };
    }
    case 'size': {
      const a = v.args(t, what, {
        over: { ext: null, group: 'comparison' },
        under: { ext: null, group: 'comparison' },
      });
      if (!a.has('over') && !a.has('under')) v.fail(pos, 'size needs :over or :under, e.g. size :over 100K');
      const [n] = v.positional(a, [['limit', 'number']]);
      return {
        kind: 'size',
        pos,
        over: a.has('over'),
        limit: (n as Extract<SyntaxArgument, { kind: 'number' }>).value,
      };
    }
    case 'header': {
      const a = v.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS, ...INDEX_TAGS });
      const [h, k] = v.positional(a, [
        ['header names', 'stringlist'],
        ['key list', 'stringlist'],
      ]);
      return {
        kind: 'header',
        pos,
        match: matchSpec(v, a),
        index: indexSpec(v, a),
        headers: headerNames(v.list(h)),
        keys: v.list(k),
      };
    }
    case 'address': {
      const a = v.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS, ...ADDRESS_PART_TAGS, ...INDEX_TAGS });
      const [h, k] = v.positional(a, [
        ['header names', 'stringlist'],
        ['key list', 'stringlist'],
      ]);
      const headers = headerNames(v.list(h));
      for (const name of headers) {
        if (!name.dynamic && !ADDRESS_HEADERS.has(name.value.toLowerCase()))
          v.fail(
            name.pos,
            `the header "${name.value}" holds no addresses, so the address test cannot read it: use header instead`,
          );
      }
      return {
        kind: 'address',
        pos,
        match: matchSpec(v, a),
        part: addressPart(a),
        index: indexSpec(v, a),
        headers,
        keys: v.list(k),
      };
    }
    case 'envelope': {
      v.need('envelope', pos, what);
      const a = v.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS, ...ADDRESS_PART_TAGS });
      const [p, k] = v.positional(a, [
        ['envelope parts', 'stringlist'],
        ['key list', 'stringlist'],
      ]);
      const parts = v.list(p);
      for (const part of parts) {
        if (!part.dynamic && !['from', 'to', 'auth'].includes(part.value.toLowerCase()))
          v.fail(part.pos, `unknown envelope part "${part.value}" (use "from", "to" or "auth")`);
        const partTag = ['all', 'localpart', 'domain', 'user', 'detail'].find((x) => a.has(x));
        if (!part.dynamic && part.value.toLowerCase() === 'auth' && partTag !== undefined)
          v.fail(
            a.tags.get(partTag)?.pos ?? part.pos,
            `the address part :${partTag} cannot be used with the envelope part "auth", which is not an address: leave the address part out`,
          );
      }
      return { kind: 'envelope', pos, match: matchSpec(v, a), part: addressPart(a), parts, keys: v.list(k) };
    }
    case 'string': {
      v.need('variables', pos, what);
      const a = v.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS });
      const [s, k] = v.positional(a, [
        ['source', 'stringlist'],
        ['key list', 'stringlist'],
      ]);
      return { kind: 'string', pos, match: matchSpec(v, a), sources: v.list(s), keys: v.list(k) };
    }
    case 'body': {
      v.need('body', pos, what);
      const a = v.args(t, what, {
        ...COMPARATOR_TAGS,
        ...MATCH_TAGS,
        raw: { ext: 'body', group: 'body transform' },
        text: { ext: 'body', group: 'body transform' },
        content: { ext: 'body', arg: 'stringlist', group: 'body transform' },
      });
      const [k] = v.positional(a, [['key list', 'stringlist']]);
      const content = a.tags.get('content');
      const transform: BodyTransform = a.has('raw')
        ? { kind: 'raw' }
        : content?.arg
          ? { kind: 'content', types: v.list(content.arg) }
          : { kind: 'text' };
      return { kind: 'body', pos, match: matchSpec(v, a), transform, keys: v.list(k) };
    }
    case 'date': {
      v.need('date', pos, what);
      const a = v.args(t, what, {
        ...COMPARATOR_TAGS,
        ...MATCH_TAGS,
        ...INDEX_TAGS,
        zone: { ext: 'date', arg: 'string', group: 'zone' },
        originalzone: { ext: 'date', group: 'zone' },
      });
      const [h, p, k] = v.positional(a, [
        ['header name', 'string'],
        ['date part', 'string'],
        ['key list', 'stringlist'],
      ]);
      return {
        kind: 'date',
        pos,
        match: matchSpec(v, a),
        zone: zoneSpec(v, a, true),
        index: indexSpec(v, a),
        header: headerNames([v.str(h)])[0],
        part: datePart(v.str(p)),
        keys: v.list(k),
      };
    }
    case 'currentdate': {
      v.need('date', pos, what);
      const a = v.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS, zone: { ext: 'date', arg: 'string' } });
      const [p, k] = v.positional(a, [
        ['date part', 'string'],
        ['key list', 'stringlist'],
      ]);
      return {
        kind: 'currentdate',
        pos,
        match: matchSpec(v, a),
        zone: zoneSpec(v, a, false),
        part: datePart(v.str(p)),
        keys: v.list(k),
      };
    }
    case 'hasflag': {
      v.need('imap4flags', pos, what);
      const a = v.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS });
      let variables: StrList | null = null;
      let keys: SyntaxArgument;
      if (a.positional.length === 2) {
        const [names, k] = v.positional(a, [
          ['variable list', 'stringlist'],
          ['flags', 'stringlist'],
        ]);
        v.need('variables', names.pos, 'the variable list argument of hasflag');
        variables = v.list(names);
        keys = k;
      } else {
        [keys] = v.positional(a, [['flags', 'stringlist']]);
      }
      return { kind: 'hasflag', pos, match: matchSpec(v, a), variables, keys: v.list(keys) };
    }
    case 'mailboxexists': {
      v.need('mailbox', pos, what);
      const a = v.args(t, what, {});
      const [n] = v.positional(a, [['mailbox names', 'stringlist']]);
      return { kind: 'mailboxexists', pos, names: v.list(n) };
    }
    case 'environment': {
      v.need('environment', pos, what);
      const a = v.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS });
      const [n, k] = v.positional(a, [
        ['item name', 'string'],
        ['key list', 'stringlist'],
      ]);
      return { kind: 'environment', pos, match: matchSpec(v, a), name: v.str(n), keys: v.list(k) };
    }
    case 'duplicate': {
      v.need('duplicate', pos, what);
      const a = v.args(t, what, {
        handle: { ext: 'duplicate', arg: 'string' },
        header: { ext: 'duplicate', arg: 'string', group: 'source' },
        uniqueid: { ext: 'duplicate', arg: 'string', group: 'source' },
        seconds: { ext: 'duplicate', arg: 'number' },
        last: { ext: 'duplicate' },
      });
      v.positional(a, []);
      const header = v.tagStr(a, 'header');
      const uniqueid = v.tagStr(a, 'uniqueid');
      if (header !== null) headerNames([header]);
      return {
        kind: 'duplicate',
        pos,
        handle: v.tagStr(a, 'handle'),
        source:
          header !== null
            ? { kind: 'header', name: header }
            : uniqueid !== null
              ? { kind: 'uniqueid', value: uniqueid }
              : { kind: 'message-id' },
        seconds: v.tagNum(a, 'seconds'),
        last: a.has('last'),
      };
    }
    default:
      if (isCommandName(t.name)) v.fail(pos, `${t.name} is a command, not a test`);
      return v.fail(pos, `unknown test "${t.name}"`);
  }
}

/** The tests of allof/anyof: each checked on its own, so one wrong test does not hide the others. */
function checkTestList(v: Validator, tests: readonly SyntaxTest[]): Test[] {
  const out: Test[] = [];
  let failed = false;
  for (const t of tests) {
    try {
      out.push(checkTest(v, t));
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      failed = true;
    }
  }
  if (failed) throw new Abort();
  return out;
}
