/** The canonical flag forms every store backend shares (normalize.ts): the keyword bound per message. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyFlags, MAX_KEYWORDS, splitFlags } from './normalize.js';

const words = (from: number, n: number) => Array.from({ length: n }, (_, i) => `k${from + i}`);

describe('flags: at most MAX_KEYWORDS keywords per message', () => {
  it('splitFlags keeps the first MAX_KEYWORDS keywords (and every system flag) of thousands', () => {
    const split = splitFlags(['\\Seen', ...words(0, 5000), 'K1', '\\Flagged']);
    assert.equal(split.keywords.length, MAX_KEYWORDS);
    assert.deepEqual(split.keywords.slice(0, 2), ['k0', 'k1']);
    assert.equal(split.bits, 1 | 4, '\\Seen and \\Flagged, also after the keywords that were dropped');
  });

  it('applyFlags adds no keyword beyond the bound, and removing still works', () => {
    const full = splitFlags(words(0, MAX_KEYWORDS));
    const added = applyFlags(full, 'add', splitFlags(['extra', '\\Seen']));
    assert.equal(added.keywords.length, MAX_KEYWORDS);
    assert.ok(!added.keywords.includes('extra'));
    assert.equal(added.bits, 1);
    const removed = applyFlags(added, 'remove', splitFlags(['k0']));
    assert.equal(removed.keywords.length, MAX_KEYWORDS - 1);
    assert.equal(applyFlags(removed, 'add', splitFlags(['extra'])).keywords.at(-1), 'extra');
  });
});
