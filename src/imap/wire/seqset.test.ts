import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compactNumbers,
  formatSequenceSet,
  hasStar,
  NumberSet,
  parseSequenceSet,
  resolveSequenceSet,
  type SequenceSet,
  STAR,
} from './seqset.js';

function parsed(text: string): SequenceSet {
  const r = parseSequenceSet(text);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.set;
}

function resolved(text: string, max: number): string {
  const set = parsed(text);
  assert.equal(set.kind, 'set');
  return resolveSequenceSet(set as SequenceSet & { kind: 'set' }, max).toString();
}

describe('parseSequenceSet (RFC 9051 §9 sequence-set)', () => {
  const good: [string, SequenceSet][] = [
    ['1', { kind: 'set', ranges: [{ from: 1, to: 1 }] }],
    ['*', { kind: 'set', ranges: [{ from: STAR, to: STAR }] }],
    ['1:*', { kind: 'set', ranges: [{ from: 1, to: STAR }] }],
    ['4:2', { kind: 'set', ranges: [{ from: 4, to: 2 }] }],
    [
      '2,4:7,9,12:*',
      {
        kind: 'set',
        ranges: [
          { from: 2, to: 2 },
          { from: 4, to: 7 },
          { from: 9, to: 9 },
          { from: 12, to: STAR },
        ],
      },
    ],
    [
      '*:4,5:7',
      {
        kind: 'set',
        ranges: [
          { from: STAR, to: 4 },
          { from: 5, to: 7 },
        ],
      },
    ],
    ['4294967295', { kind: 'set', ranges: [{ from: 4294967295, to: 4294967295 }] }],
    ['$', { kind: 'saved' }],
  ];
  for (const [text, set] of good) {
    it(`parses ${text} and formats it back`, () => {
      assert.deepEqual(parsed(text), set);
      assert.equal(formatSequenceSet(set), text);
    });
  }

  const bad: [string, RegExp][] = [
    ['', /expected a message number/],
    ['0', /0 is not valid/],
    ['01', /leading zeros/],
    ['1:0', /0 is not valid/],
    ['4294967296', /larger than 4294967295/],
    ['1,', /expected a message number/],
    ['1:', /expected a message number/],
    [':5', /expected a message number/],
    ['1,,2', /expected a message number/],
    ['$,1', /stands alone/],
    ['$:4', /stands alone/],
    ['1:$', /expected a message number/],
    ['-1', /expected a message number/],
    ['1 2', /unexpected character at offset 1/],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const r = parseSequenceSet(text);
      assert.ok(!r.ok);
      assert.match(r.error, why);
    });
  }

  it('honours allowStar / allowSaved', () => {
    assert.ok(!parseSequenceSet('1:*', { allowStar: false }).ok);
    assert.ok(!parseSequenceSet('$', { allowSaved: false }).ok);
  });

  it('knows when * is used', () => {
    assert.equal(hasStar(parsed('1:*')), true);
    assert.equal(hasStar(parsed('1:5')), false);
    assert.equal(hasStar(parsed('$')), false);
  });
});

describe('resolveSequenceSet', () => {
  const cases: [string, number, string][] = [
    ['1:*', 5, '1:5'],
    ['*', 5, '5'],
    ['4:2', 10, '2:4'],
    ['*:4', 10, '4:10'],
    // RFC 9051 §6.4.8: "559:*" includes the last UID even when 559 is larger.
    ['559:*', 500, '500:559'],
    ['3,1,2,7:9,8', 100, '1:3,7:9'],
    ['1:*', 0, '1'],
    ['*', 0, ''],
    ['5:7,6:10,12', 4, '5:10,12'],
  ];
  for (const [text, max, want] of cases) {
    it(`${text} with * = ${max} → ${want || '(empty)'}`, () => assert.equal(resolved(text, max), want));
  }

  it('keeps 1:* on 100,000 messages as one range', () => {
    const set = resolveSequenceSet(parsed('1:*') as SequenceSet & { kind: 'set' }, 100_000);
    assert.deepEqual(set.ranges, [[1, 100_000]]);
    assert.equal(set.size, 100_000);
    assert.ok(set.contains(1) && set.contains(100_000) && !set.contains(100_001) && !set.contains(0));
  });

  it('keeps 1:4294967295 cheap too', () => {
    const set = resolveSequenceSet(parsed('1:4294967295') as SequenceSet & { kind: 'set' }, 3);
    assert.equal(set.size, 4294967295);
    assert.equal(set.toString(), '1:4294967295');
    let n = 0;
    for (const x of set) {
      if (++n > 3) break;
      assert.equal(x, n);
    }
  });
});

describe('NumberSet', () => {
  it('merges, sorts and iterates ascending', () => {
    const s = NumberSet.fromRanges([
      [10, 12],
      [1, 3],
      [4, 4],
      [8, 6],
      [11, 20],
    ]);
    assert.equal(s.toString(), '1:4,6:8,10:20');
    assert.deepEqual([...NumberSet.fromRanges([[3, 1]])], [1, 2, 3]);
    assert.equal(s.size, 4 + 3 + 11);
    assert.equal(s.min, 1);
    assert.equal(s.max, 20);
  });

  it('builds from unsorted numbers with duplicates', () => {
    assert.equal(NumberSet.fromNumbers([9, 1, 3, 2, 2, 7, 8, 5]).toString(), '1:3,5,7:9');
    assert.equal(NumberSet.fromNumbers([]).toString(), '');
    assert.equal(NumberSet.EMPTY.isEmpty, true);
    assert.equal(NumberSet.EMPTY.min, null);
  });

  it('contains() is a binary search over ranges', () => {
    const s = NumberSet.fromNumbers([2, 4, 6, 8, 10, 11, 12]);
    for (let n = 0; n <= 13; n++) assert.equal(s.contains(n), [2, 4, 6, 8, 10, 11, 12].includes(n), String(n));
  });

  it('intersects, unions and clamps', () => {
    const a = NumberSet.fromRanges([
      [1, 10],
      [20, 30],
    ]);
    const b = NumberSet.fromRanges([
      [5, 25],
      [29, 40],
    ]);
    assert.equal(a.intersect(b).toString(), '5:10,20:25,29:30');
    assert.equal(a.union(b).toString(), '1:40');
    assert.equal(a.clamp(8, 22).toString(), '8:10,20:22');
    assert.equal(a.clamp(1, 100), a);
  });
});

describe('compactNumbers', () => {
  const cases: [number[], string][] = [
    [[1, 2, 3, 5, 7, 8, 9], '1:3,5,7:9'],
    [[], ''],
    [[42], '42'],
    [[1, 3, 5], '1,3,5'],
    // Order is kept (COPYUID pairs source and destination UIDs by position, RFC 4315 §3).
    [[5, 6, 1, 2], '5:6,1:2'],
    [[3, 3], '3,3'],
  ];
  for (const [nums, want] of cases) {
    it(`${JSON.stringify(nums)} → ${want || '(empty)'}`, () => assert.equal(compactNumbers(nums), want));
  }
});
