import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DotScanOptions, newDotScanState, scanDotData } from './dotstream.js';

/** Feeds `input` in pieces of `step` bytes, as a socket would, keeping unconsumed bytes. */
function run(input: string, opts: DotScanOptions, step = input.length) {
  const state = newDotScanState();
  const out: Buffer[] = [];
  let pending = Buffer.alloc(0);
  let rest = '';
  for (let i = 0; i < input.length && !state.done; i += step) {
    pending = Buffer.concat([pending, Buffer.from(input.slice(i, i + step), 'latin1')]);
    const pos = scanDotData(pending, 0, state, opts, out);
    pending = pending.subarray(pos);
    if (state.done) rest = pending.toString('latin1') + input.slice(i + step);
  }
  return { done: state.done, data: Buffer.concat(out).toString('latin1'), rest, state };
}

const CRLF: DotScanOptions = { mode: 'crlf', maxBytes: 1 << 20 };
const LF: DotScanOptions = { mode: 'lf', maxBytes: 1 << 20 };

describe('scanDotData', () => {
  const cases: [string, string, DotScanOptions, string | null, string][] = [
    ['simple', 'a\r\nb\r\n.\r\nNEXT', CRLF, 'a\r\nb\r\n', 'NEXT'],
    ['empty message', '.\r\n', CRLF, '', ''],
    ['unstuffs a leading dot', '..x\r\n...\r\n.\r\n', CRLF, '.x\r\n..\r\n', ''],
    ['LF.CRLF is data in a CRLF session', 'a\n.\r\nb\r\n.\r\n', CRLF, 'a\r\n.\r\nb\r\n', ''],
    ['LF.LF is data in a CRLF session', 'a\n.\nb\r\n.\r\n', CRLF, 'a\r\n.\r\nb\r\n', ''],
    ['CRLF.LF is data in a CRLF session', 'a\r\n.\nb\r\n.\r\n', CRLF, 'a\r\n\r\nb\r\n', ''],
    ['CR.CR is data', 'a\r.\rb\r\n.\r\n', CRLF, 'a\r.\rb\r\n', ''],
    ['not ended without the final line', 'a\r\nb\r\n', CRLF, null, ''],
    ['LF session ends on LF.LF', 'a\nb\n.\nNEXT\n', LF, 'a\r\nb\r\n', 'NEXT\n'],
    ['LF session also ends on CRLF.CRLF', 'a\r\n.\r\n', LF, 'a\r\n', ''],
    ['bare LF normalised to CRLF', 'Subject: x\n\nbody\n.\n', LF, 'Subject: x\r\n\r\nbody\r\n', ''],
  ];
  for (const [name, input, opts, expected, rest] of cases) {
    it(name, () => {
      for (const step of [input.length, 1, 2, 3]) {
        const r = run(input, opts, step);
        if (expected === null) {
          assert.equal(r.done, false, `step ${step}`);
        } else {
          assert.equal(r.done, true, `step ${step}`);
          assert.equal(r.data, expected, `step ${step}`);
          assert.equal(r.rest, rest, `step ${step}`);
        }
      }
    });
  }

  it('stops storing beyond the limit but still finds the end', () => {
    const r = run(`${'x'.repeat(100)}\r\n`.repeat(10) + '.\r\nQUIT\r\n', { mode: 'crlf', maxBytes: 500 });
    assert.equal(r.done, true);
    assert.equal(r.state.size, 1020);
    assert.ok(r.data.length <= 500);
    assert.equal(r.rest, 'QUIT\r\n');
  });

  it('passes very long lines on in pieces', () => {
    const long = 'y'.repeat(200_000);
    const r = run(`${long}\r\n.\r\n`, CRLF, 65_000);
    assert.equal(r.data, `${long}\r\n`);
  });
});
