import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWords } from './decode.js';

describe('decodeWords (RFC 2047)', () => {
  it('decodes B and Q words, joining adjacent ones', () => {
    assert.equal(decodeWords('=?utf-8?B?aGVsbG8=?='), 'hello');
    assert.equal(decodeWords('a =?utf-8?B?aGVsbG8=?= =?utf-8?B?d29ybGQ=?= b'), 'a helloworld b');
    assert.equal(decodeWords('=?utf-8?Q?caf=C3=A9?='), 'café');
  });

  it('leaves a B word that is no base64 as written (§6.3), and decodes the others', () => {
    assert.equal(decodeWords('=?utf-8?B?invalid!!?='), '=?utf-8?B?invalid!!?=');
    assert.equal(decodeWords('=?utf-8?Q?caf=C3=A9?= =?utf-8?B?bad*?='), 'café =?utf-8?B?bad*?=');
  });
});
