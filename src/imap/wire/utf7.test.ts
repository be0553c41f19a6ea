import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeModifiedUtf7, encodeModifiedUtf7, isModifiedUtf7 } from './utf7.js';

describe('modified UTF-7 (RFC 3501 §5.1.3)', () => {
  const pairs: [string, string][] = [
    ['INBOX', 'INBOX'],
    ['', ''],
    ['Entwürfe', 'Entw&APw-rfe'],
    ['&', '&-'],
    ['Tom & Jerry', 'Tom &- Jerry'],
    ['&&', '&-&-'],
    // The RFC's own example.
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
    ['~peter/mail/日本語/台北', '~peter/mail/&ZeVnLIqe-/&U,BTFw-'],
    ['Gesendete Objekte', 'Gesendete Objekte'],
    ['Éléments envoyés', '&AMk-l&AOk-ments envoy&AOk-s'],
    ['Корзина', '&BBoEPgRABDcEOAQ9BDA-'],
    ['😀', '&2D3eAA-'],
    ['a😀b€', 'a&2D3eAA-b&IKw-'],
    ['😀€', '&2D3eACCs-'],
    ['tab\there', 'tab&AAk-here'],
    ['~', '~'],
  ];
  for (const [text, wire] of pairs) {
    it(`${JSON.stringify(text)} ↔ ${wire}`, () => {
      assert.equal(encodeModifiedUtf7(text), wire);
      assert.deepEqual(decodeModifiedUtf7(wire), { ok: true, name: text });
    });
  }

  it('replaces lone surrogates when encoding', () => {
    assert.equal(encodeModifiedUtf7('a\ud800b'), encodeModifiedUtf7('a\ufffdb'));
    assert.equal(encodeModifiedUtf7('\udc00'), encodeModifiedUtf7('\ufffd'));
  });

  it('round-trips every BMP code point in chunks and some astral ones', () => {
    for (let start = 0; start < 0x10000; start += 997) {
      let s = '';
      for (let c = start; c < Math.min(start + 997, 0x10000); c++) {
        if (c >= 0xd800 && c <= 0xdfff) continue;
        s += String.fromCharCode(c);
      }
      const r = decodeModifiedUtf7(encodeModifiedUtf7(s));
      assert.ok(r.ok && r.name === s, `chunk at ${start}`);
    }
    for (const cp of [0x10000, 0x1f600, 0x10ffff]) {
      const s = `x${String.fromCodePoint(cp)}y`;
      assert.deepEqual(decodeModifiedUtf7(encodeModifiedUtf7(s)), { ok: true, name: s });
    }
  });

  const bad: [string, RegExp][] = [
    ['&', /never closed/],
    ['a&Jjo', /never closed/],
    ['&Jjo!', /never closed/],
    ['&Jjo!-', /not a modified BASE64 character/],
    ['&U/BTFw-', /not a modified BASE64 character/], // "/" is "," in modified BASE64
    ['&U,BTFw-&ZeVnLIqe-', /two shifted sequences in a row/], // the RFC's "superfluous shift"
    ['&AGE-', /encodes the printable character "a"/],
    ['&ACY-', /encodes the printable character "&"/],
    ['&A-', /bad length/],
    ['&APw', /never closed/],
    ['&APx-', /padding/],
    ['&2D0-', /bad length|surrogate/],
    ['&2D3YPQ-', /surrogate/],
    ['&3gA-', /surrogate/],
    ['Entwürfe', /8-bit character U\+00FC/],
    ['a\tb', /control character 0x09/],
    ['a\x7fb', /8-bit|control/],
  ];
  for (const [wire, why] of bad) {
    it(`rejects ${JSON.stringify(wire)}`, () => {
      const r = decodeModifiedUtf7(wire);
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.match(r.error, why);
      assert.match(r.error, /at offset \d+$/);
      assert.equal(isModifiedUtf7(wire), false);
    });
  }

  it('decoding never throws on random printable input', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const alphabet = 'AZaz09+,&-/!~ ';
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const n = rand() % 12;
      for (let k = 0; k < n; k++) s += alphabet[rand() % alphabet.length];
      const r = decodeModifiedUtf7(s);
      if (r.ok) assert.equal(encodeModifiedUtf7(r.name), s);
    }
  });
});
