import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePathArgument } from './address.js';

describe('parsePathArgument', () => {
  it('parses the RFC form with parameters', () => {
    const r = parsePathArgument('FROM:<a@b.example> SIZE=100 BODY=8BITMIME SMTPUTF8', 'FROM', true);
    assert.ok(r.ok);
    assert.equal(r.value.address, 'a@b.example');
    assert.deepEqual(
      [...r.value.params],
      [
        ['SIZE', '100'],
        ['BODY', '8BITMIME'],
        ['SMTPUTF8', null],
      ],
    );
    assert.equal(r.value.tolerated, null);
  });
  it('accepts the null path and a space after the colon', () => {
    const r = parsePathArgument('from: <>', 'FROM', true);
    assert.ok(r.ok && r.value.address === '');
  });
  it('tolerates missing brackets only in lab mode', () => {
    const lab = parsePathArgument('FROM: mannix@intecbrussel.intra', 'FROM', false);
    assert.ok(lab.ok && lab.value.address === 'mannix@intecbrussel.intra' && lab.value.tolerated);
    assert.equal(parsePathArgument('FROM: mannix@intecbrussel.intra', 'FROM', true).ok, false);
  });
  it('handles quoted local parts containing ">"', () => {
    const r = parsePathArgument('TO:<"a>b"@c.example>', 'TO', true);
    assert.ok(r.ok && r.value.address === '"a>b"@c.example');
  });
  it('drops source routes', () => {
    const r = parsePathArgument('TO:<@relay.example:user@c.example>', 'TO', true);
    assert.ok(r.ok && r.value.address === 'user@c.example');
  });
  it('rejects garbage', () => {
    for (const bad of ['', 'FROM', 'FROM:<a@b', 'TO:<a@b>', 'FROM:<a@b>x'])
      assert.equal(parsePathArgument(bad, 'FROM', true).ok, false, bad);
  });
});
