// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve's variables write ${…} inside plain strings
/**
 * Match types and comparators (match.ts): the work of a test is bounded (each value put in the
 * comparator's form once, every byte compared counted against MAX_COMPARED_BYTES), and the results
 * are those of comparing each value with each key on its own, as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSieve, sieveContext, summary } from '../../test/harness/sieve.js';
import type { ComparatorName, MatchSpec, Relation } from './ast.js';
import {
  CompareBudgetExceeded,
  compareValues,
  globMatch,
  MAX_COMPARED_BYTES,
  matchBudget,
  matchValues,
} from './match.js';
import { SieveRuntimeError } from './types.js';

const KEYS = Array.from({ length: 6000 }, (_, i) => `zq${i}`);
/** A 2 MB value none of KEYS is in. */
const BIG = 'Hello World, This Is A Line Of The Body.\r\n'.repeat(50_000);
const COMPARATORS: ComparatorName[] = ['i;octet', 'i;ascii-casemap', 'i;ascii-numeric'];

const spec = (type: MatchSpec['type'], comparator: ComparatorName, relation: Relation | null = null): MatchSpec =>
  ({ type, comparator, relation }) as MatchSpec;

describe('sieve match: bounded work', () => {
  it('6000 :contains keys against a 2 MB body: the run fails at the compare limit (the message is kept)', async () => {
    const script = `require ["body","fileinto"];\nif body :raw :contains [${KEYS.map((k) => `"${k}"`).join(',')}] { fileinto "INBOX"; }`;
    assert.ok(Buffer.byteLength(script) < 64 * 1024);
    const ctx = sieveContext({ body: BIG });
    await assert.rejects(runSieve(script, ctx), (e: unknown) => {
      assert.ok(e instanceof SieveRuntimeError); // the caller keeps the message in INBOX (RFC 5228 §2.10.6)
      assert.match(e.message, /tests compared more than \d+ bytes \(the limit\)/);
      assert.deepEqual(e.position, { line: 2, column: 4 });
      return true;
    });
    // The same test repeated instead of the keys is bounded too (each test reads the body again).
    const repeated = `require ["body"];\n${'if body :raw :contains "zq" { keep; }\n'.repeat(200)}`;
    await assert.rejects(runSieve(repeated, ctx), /tests compared more than \d+ bytes/);
  });

  it('many keys against a large value: each value is prepared once and the bytes examined stay under the budget', () => {
    for (const comparator of COMPARATORS) {
      for (const type of ['contains', 'matches'] as const) {
        const budget = matchBudget(Number.POSITIVE_INFINITY, MAX_COMPARED_BYTES);
        const keys = type === 'matches' ? KEYS.map((k) => `*${k}*`) : KEYS;
        assert.throws(() => matchValues(spec(type, comparator), [BIG], keys, undefined, budget), CompareBudgetExceeded);
        // Stopped within one comparison of the budget, long before 6000 × 2 MB.
        assert.ok(budget.examined <= MAX_COMPARED_BYTES + BIG.length + 16, `${type} ${comparator}: ${budget.examined}`);
        // The value once, then one key per comparison made (about 32 of them), never the value per key.
        const compared = Math.ceil(MAX_COMPARED_BYTES / BIG.length);
        assert.ok(budget.prepared <= 1 + compared, `${type} ${comparator}: prepared ${budget.prepared}`);
      }
      // :is and :value read at most the shorter string: 6000 short keys are cheap and do not fail.
      for (const s of [spec('is', comparator), spec('value', comparator, 'gt')]) {
        const budget = matchBudget(Number.POSITIVE_INFINITY, MAX_COMPARED_BYTES);
        const r = matchValues(s, [BIG], KEYS, undefined, budget);
        assert.equal(r.matched, s.type === 'is' && comparator === 'i;ascii-numeric'); // no digits: +infinity both
        assert.ok(budget.examined < BIG.length + 6000 * 32, `${s.type} ${comparator}: ${budget.examined}`);
      }
    }
  });

  it('a value is folded once per test however many keys and counted exactly', () => {
    const budget = matchBudget();
    const value = 'x'.repeat(1000);
    const keys = Array.from({ length: 50 }, (_, i) => `K${i}`);
    assert.equal(matchValues(spec('contains', 'i;ascii-casemap'), [value], keys, undefined, budget).matched, false);
    assert.equal(budget.prepared, 1 + 50);
    const keyBytes = keys.reduce((n, k) => n + k.length, 0);
    assert.equal(budget.examined, value.length + keyBytes + 50 * (value.length + 16));
  });
});

describe('sieve match: the same results as before', () => {
  it('a script with a few keys matches as before', async () => {
    const ctx = sieveContext({
      headers: [
        'From: Alice <alice@example.org>',
        'To: bob@example.com',
        'Subject: Invoice 42 for MARCH',
        'X-Count: 0017',
      ],
      body: 'Dear Bob,\r\nplease find the INVOICE attached.\r\n',
    });
    const t = async (test: string, req = '') =>
      (
        await summary(
          await runSieve(
            `require ["body","relational","comparator-i;ascii-numeric"${req}];\nif ${test} { discard; }`,
            ctx,
          ),
        )
      )[0] === 'discard';
    assert.equal(await t('body :raw :contains ["nothing","invoice"]'), true);
    assert.equal(await t('body :raw :comparator "i;octet" :contains ["nothing","invoice"]'), false);
    assert.equal(await t('body :raw :comparator "i;octet" :contains ["nothing","INVOICE"]'), true);
    assert.equal(await t('header :is "subject" ["x","invoice 42 for march"]'), true);
    assert.equal(await t('header :comparator "i;octet" :is "subject" "invoice 42 for march"'), false);
    assert.equal(await t('header :matches "subject" ["x*","*42 FOR m?rch"]'), true);
    assert.equal(await t('header :comparator "i;octet" :matches "subject" "*42 FOR m?rch"'), false);
    assert.equal(await t('header :value "gt" :comparator "i;ascii-numeric" "x-count" ["100","16"]'), true);
    assert.equal(await t('header :value "gt" :comparator "i;ascii-numeric" "x-count" ["17","100"]'), false);
    assert.equal(await t('header :count "ge" :comparator "i;ascii-numeric" "x-count" "1"'), true);
    const captured = await runSieve(
      'require ["variables","fileinto"];\nif header :matches "subject" "* ?? for *" { fileinto "${1}-${2}${3}-${4}"; }',
      ctx,
    );
    assert.deepEqual(summary(captured), ['fileinto Invoice-42-MARCH']);
  });

  it('matchValues agrees with comparing each value with each key on its own (random values and keys)', () => {
    // The comparisons as they were made before, one pair at a time.
    const fold = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
    const pair = (s: MatchSpec, v: string, k: string): boolean | string[] | null => {
      switch (s.type) {
        case 'is':
          return compareValues(s.comparator, v, k) === 0;
        case 'contains':
          return s.comparator === 'i;ascii-casemap' ? fold(v).includes(fold(k)) : v.includes(k);
        case 'matches':
          return globMatch(k, v, s.comparator);
        default: {
          const c = compareValues(s.comparator, v, k);
          const rel = s.relation ?? 'eq';
          return { gt: c > 0, ge: c >= 0, lt: c < 0, le: c <= 0, eq: c === 0, ne: c !== 0 }[rel];
        }
      }
    };
    const reference = (s: MatchSpec, values: string[], keys: string[]) => {
      for (const v of values)
        for (const k of keys) {
          const r = pair(s, v, k);
          if (r === true) return { matched: true, captures: null };
          if (Array.isArray(r)) return { matched: true, captures: r };
        }
      return { matched: false, captures: null };
    };
    const alphabet = ['a', 'A', 'b', 'B', 'z', 'Z', '0', '1', '9', ' ', 'é', 'É', 'ß', '😀', '*', '?', '\\', '_'];
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const str = () => Array.from({ length: rnd(6) }, () => alphabet[rnd(alphabet.length)]).join('');
    const relations: Relation[] = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'];
    for (let i = 0; i < 3000; i++) {
      const comparator = COMPARATORS[rnd(3)];
      const type = (['is', 'contains', 'matches', 'value'] as const)[rnd(4)];
      const s = spec(type, comparator, type === 'value' ? relations[rnd(6)] : null);
      const values = Array.from({ length: rnd(4) }, str);
      const keys = Array.from({ length: rnd(4) }, str);
      assert.deepEqual(matchValues(s, values, keys), reference(s, values, keys), JSON.stringify({ s, values, keys }));
    }
  });
});
