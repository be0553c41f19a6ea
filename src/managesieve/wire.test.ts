/** The ManageSieve wire syntax (RFC 5804 §4): arguments of a line, and strings and responses out. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeString, response, tokenize } from './wire.js';

const args = (line: string) => {
  const t = tokenize(Buffer.from(line, 'utf8'), 0);
  return { args: t.args.map((a) => a.arg), literal: t.literal?.size ?? null, error: t.error };
};

describe('managesieve wire: tokenize', () => {
  test('quoted strings, atoms and a literal at the end of the line', () => {
    assert.deepEqual(args('"a b" 42 {10+}'), {
      args: [
        { kind: 'string', value: 'a b', literal: false, size: 3 },
        { kind: 'atom', value: '42' },
      ],
      literal: 10,
      error: null,
    });
    assert.equal(args('"x" {7}').literal, 7, 'a synchronizing literal from a client is taken too');
    assert.deepEqual(args('"q\\"\\\\x"').args, [{ kind: 'string', value: 'q"\\x', literal: false, size: 4 }]);
    assert.deepEqual(args('"été"').args, [{ kind: 'string', value: 'été', literal: false, size: 5 }]);
    assert.deepEqual(args('').args, []);
  });

  test('errors: escapes, unclosed quotes, literals not at the end, long quoted strings, bad atoms, bad UTF-8', () => {
    assert.match(args('"a\\n"').error ?? '', /only \\" and \\\\/);
    assert.match(args('"open').error ?? '', /not closed/);
    assert.match(args('"a\rb"').error ?? '', /may not hold CR or LF/);
    assert.match(args('{5+} "x"').error ?? '', /at the end of a line/);
    assert.match(args('{x}').error ?? '', /at the end of a line/);
    assert.match(args(`"${'a'.repeat(1025)}"`).error ?? '', /1024 octets at most/);
    assert.equal(args(`"${'a'.repeat(1024)}"`).error, null);
    assert.match(args('ab(c').error ?? '', /unexpected character "\("/);
    const bad = tokenize(Buffer.from([0x22, 0xff, 0x22]), 0);
    assert.match(bad.error ?? '', /not valid UTF-8/);
  });
});

describe('managesieve wire: strings and responses', () => {
  test('quoted when it can be, else a literal {N}', () => {
    assert.equal(encodeString('plain'), '"plain"');
    assert.equal(encodeString('say "hi" \\'), '"say \\"hi\\" \\\\"');
    assert.equal(encodeString('two\r\nlines'), '{10}\r\ntwo\r\nlines');
    assert.equal(encodeString('é'.repeat(600)), `{1200}\r\n${'é'.repeat(600)}`);
  });

  test('OK/NO/BYE with a response code and text', () => {
    assert.equal(response('OK'), 'OK');
    assert.equal(
      response('NO', 'NONEXISTENT', 'There is no script "x"'),
      'NO (NONEXISTENT) "There is no script \\"x\\""',
    );
    assert.equal(response('OK', { tag: 'abc' }, 'Done'), 'OK (TAG "abc") "Done"');
    assert.equal(response('OK', { sasl: 'dj1x' }), 'OK (SASL "dj1x")');
    assert.equal(response('BYE', null, 'Bye'), 'BYE "Bye"');
  });
});
