import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collapseWhitespace, fieldValue, filterHeaderFields, headerText, scanHeader, unfold } from './header.js';
import { Rfc822Reader } from './rfc822.js';

const header = Buffer.from(
  'From: a@b\r\nX-Folded: one\r\n two\r\nnocolon line\r\nSubject: x\r\nsubject : second\r\nContent-Type: \r\n\r\n',
);

describe('filterHeaderFields (BODY[HEADER.FIELDS …], same bytes as Dovecot)', () => {
  it('picks fields case-insensitively, all occurrences, folding kept, blank line added', () => {
    assert.equal(
      filterHeaderFields(header, ['SUBJECT', 'x-folded'], false).toString(),
      'X-Folded: one\r\n two\r\nSubject: x\r\nsubject : second\r\n\r\n',
    );
  });

  it('.NOT keeps lines without a name', () => {
    assert.equal(
      filterHeaderFields(header, ['from', 'subject', 'x-folded'], true).toString(),
      'nocolon line\r\nContent-Type: \r\n\r\n',
    );
  });

  it('nothing matches: just the blank line', () => {
    assert.equal(filterHeaderFields(header, ['x-none'], false).toString(), '\r\n');
  });

  it('bare LF becomes CRLF; a header without blank line gets none', () => {
    assert.equal(filterHeaderFields(Buffer.from('A: 1\nB: 2\n b\n\n'), ['b'], false).toString(), 'B: 2\r\n b\r\n\r\n');
    assert.equal(filterHeaderFields(Buffer.from('A: 1\r\nB: 2'), ['b', 'a'], false).toString(), 'A: 1\r\nB: 2');
  });
});

describe('header values', () => {
  it('scanHeader finds names, nameless lines and the end', () => {
    const scan = scanHeader(header);
    assert.deepEqual(
      scan.fields.map((f) => f.name),
      ['From', 'X-Folded', '', 'Subject', 'subject', 'Content-Type'],
    );
    assert.equal(scan.headerEnd, header.length);
    assert.equal(scan.hasEmptyLine, true);
  });

  it("fieldValue is Dovecot's full value: leading WSP skipped, folds as LF", () => {
    const f = scanHeader(header).fields[1];
    assert.equal(fieldValue(header, f.valueStart, f.valueEnd), 'one\n two');
    const ws = Buffer.from('S:   \r\n  x\r\n\r\n');
    const g = scanHeader(ws).fields[0];
    assert.equal(fieldValue(ws, g.valueStart, g.valueEnd), '  \n  x');
  });

  it('unfold, collapseWhitespace, headerText', () => {
    assert.equal(unfold('a\n b\r\n\tc'), 'a b\tc');
    assert.equal(collapseWhitespace('  a \t\n b  '), 'a b');
    assert.equal(headerText(Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65]), 0, 5), 'Grüße');
    assert.equal(headerText(Buffer.from('Grüße'), 0, 7), 'Grüße');
    assert.equal(headerText(Buffer.from('a\0b'), 0, 3), 'a\uFFFDb');
  });
});

describe('Rfc822Reader.parseParams (RFC 2045 §5.1, RFC 2231 continuations as Dovecot merges them)', () => {
  const params = (s: string) => {
    const r = new Rfc822Reader(s);
    r.skipLwsp();
    r.parseContentType();
    return r.parseParams();
  };
  const cases: Array<[string, Array<[string, string]>]> = [
    ['text/plain; charset=us-ascii', [['charset', 'us-ascii']]],
    [
      'text/plain; charset="us-ascii" (comment); format = flowed',
      [
        ['charset', 'us-ascii'],
        ['format', 'flowed'],
      ],
    ],
    ['a/b; name*0=foo; name*1=bar', [['name', 'foobar']]],
    ['a/b; name*1=bar; name*0=foo', [['name', 'foobar']]],
    ["a/b; name*0*=utf-8''%C3%BC; name*1=50%", [['name*', "utf-8''%C3%BC50%25"]]],
    ["a/b; name*=utf-8'de'%C3%BC", [['name*', "utf-8'de'%C3%BC"]]],
    [
      'a/b; name*0=foo; name*2=bar',
      [
        ['name*0', 'foo'],
        ['name*2', 'bar'],
      ],
    ],
    [
      'a/b; x=1; name*0=a; y=2',
      [
        ['x', '1'],
        ['y', '2'],
        ['name', 'a'],
      ],
    ],
    ['a/b; broken; x=1', []], // Dovecot loses the rest after a parameter without '='
    ['a/b; name==?utf-8?b?QQ==?=', [['name', '=?utf-8?b?QQ==?=']]],
    ['a/b; empty=', [['empty', '']]],
  ];
  for (const [input, want] of cases) {
    it(input, () => assert.deepEqual(params(input), want));
  }
});
