import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameAll } from './framing.js';
import { canonicalFlag, ImapSyntaxError, Reader } from './reader.js';
import { STAR } from './seqset.js';

const CRLF = Buffer.from('\r\n');
const r = (s: string | Buffer) => new Reader(typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

function fails(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ImapSyntaxError, `not an ImapSyntaxError: ${err}`);
    assert.match(err.message, message);
    return true;
  });
}

/** Frames one complete wire command (lines and literals) like the session does. */
function assembled(wire: string | Buffer) {
  const bytes = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const { results } = frameAll(Buffer.concat([bytes, CRLF]));
  const [first] = results;
  assert.ok(first?.kind === 'command');
  return first.command;
}

describe('Reader: errors name what was expected and where', () => {
  it('a tag followed by a character no tag may have is refused as a tag, at its offset', () => {
    const rd = r('abcd(NOOP');
    fails(() => rd.tag(), /^expected a tag of letters and digits followed by a space .* at offset 4, found "\("$/);
  });
  it('reports the end of the command', () => {
    const rd = r('a1');
    rd.tag();
    fails(() => rd.sp('after tag'), /^expected SP after tag at offset 2, found end of command$/);
  });
  it('end() rejects trailing bytes', () => {
    const rd = r('NOOP x');
    rd.atom();
    fails(() => rd.end(), /^expected end of command at offset 4, found SP$/);
  });
  it('describes control and 8-bit bytes without echoing them', () => {
    fails(() => r('\x01').atom(), /found byte 0x01/);
    fails(() => r(Buffer.from([0xc3])).atom(), /found byte 0xc3/);
  });
});

describe('Reader: tags, atoms, keywords', () => {
  it('reads tags of any ASTRING-CHAR but "+"', () => {
    assert.equal(r('A001 x').tag(), 'A001');
    assert.equal(r('a]b.c$ x').tag(), 'a]b.c$');
    fails(() => r('+a NOOP').tag(), /expected a tag/);
    fails(() => r('* NOOP').tag(), /expected a tag/);
    fails(() => r(' x').tag(), /expected a tag .* at offset 0, found SP/);
  });
  it('reads atoms and stops at atom-specials', () => {
    for (const [input, atom] of [
      ['abc def', 'abc'],
      ['abc(', 'abc'],
      ['a]', 'a'],
      ['a%', 'a'],
      ['a"', 'a'],
      ['a{', 'a'],
      ['$Forwarded)', '$Forwarded'],
    ]) {
      assert.equal(r(input).atom(), atom, input);
    }
  });
  it('matches whole keywords only, case-insensitively', () => {
    const rd = r('return (ALL)');
    assert.equal(rd.tryKeyword('RETURN'), true);
    assert.equal(rd.pos, 6);
    assert.equal(r('RETURNS').tryKeyword('RETURN'), false);
    assert.equal(r('RET').tryKeyword('RETURN'), false);
    assert.equal(r('all)').atKeyword('ALL'), true);
  });
  it('reads fetch-attribute names up to "["', () => {
    const rd = r('body.peek[HEADER]');
    assert.equal(rd.name('x'), 'BODY.PEEK');
    assert.equal(rd.peek(), 0x5b);
  });
});

describe('Reader: numbers', () => {
  it('reads 32-bit numbers', () => {
    assert.equal(r('0').number(), 0);
    assert.equal(r('4294967295').number(), 4294967295);
    fails(() => r('4294967296').number(), /larger than 4294967295/);
    fails(() => r('x').number(), /expected a number at offset 0/);
    fails(() => r('0').nzNumber('the UIDVALIDITY'), /the UIDVALIDITY must not be 0/);
  });
  it('reads 63-bit numbers as bigint', () => {
    assert.equal(r('9223372036854775807').number64(), 9223372036854775807n);
    fails(() => r('9223372036854775808').number64(), /larger than 2\^63-1/);
    fails(() => r('123456789012345678901234').number64(), /too large/);
    assert.equal(r('000000000000000000000000000007').number(), 7, 'leading zeros do not make a number large');
    fails(() => r('0').nzNumber64(), /must not be 0/);
  });
});

describe('Reader: strings', () => {
  it('reads quoted strings with the two escapes', () => {
    assert.equal(r('"hello world"').quoted().toString(), 'hello world');
    assert.equal(r('"a\\\\b\\"c"').quoted().toString(), 'a\\b"c');
    assert.equal(r('""').quoted().toString(), '');
    // RFC 9051 allows UTF-8 in quoted strings; the bytes come back as sent.
    assert.deepEqual(r('"é"').quoted(), Buffer.from('é'));
  });
  it('returns a view into the command when nothing was escaped', () => {
    const rd = r('"abc"');
    const s = rd.quoted();
    assert.equal(s.buffer, rd.data.buffer);
  });
  it('rejects bad quoted strings', () => {
    fails(() => r('"abc').quoted(), /unterminated quoted string .* at offset 0/);
    fails(() => r('"a\\b"').quoted(), /only \\ and " may follow a backslash in a quoted string at offset 2/);
    fails(() => r('"a\rb"').quoted(), /CR, LF and NUL are not allowed/);
    fails(() => r('"a\0b"').quoted(), /CR, LF and NUL are not allowed/);
  });
  it('reads literals where the framing saw them', () => {
    const cmd = assembled('A1 LOGIN {5}\r\nsmith {6+}\r\nses"me');
    const rd = new Reader(cmd);
    rd.tag();
    rd.sp();
    rd.atom();
    rd.sp();
    assert.equal(rd.astring().toString(), 'smith');
    rd.sp();
    assert.equal(rd.astring().toString(), 'ses"me');
    rd.end();
  });
  it('reads literal bytes byte-exact, with 8-bit and CRLF inside', () => {
    const body = Buffer.from([0x41, 0x0d, 0x0a, 0xe9, 0xff, 0x7b, 0x31, 0x7d]);
    const wire = Buffer.concat([Buffer.from(`{${body.length}}\r\n`), body]);
    const lit = r(wire).literal();
    assert.deepEqual(lit.data, body);
    assert.equal(lit.binary, false);
  });
  it('refuses NUL in a normal literal but not in a binary one', () => {
    const wire = Buffer.from('{3}\r\na\0b', 'latin1');
    fails(() => r(wire).literal(), /NUL in a literal .* at offset 6/);
    const bin = r(Buffer.from('~{3}\r\na\0b', 'latin1')).literal(true);
    assert.deepEqual(bin, { data: Buffer.from('a\0b', 'latin1'), binary: true });
    fails(() => r(Buffer.from('~{3}\r\nabc')).literal(), /binary literal .* only allowed for message data/);
    fails(() => r(Buffer.from('~{3}\r\nabc')).astring(), /binary literal/);
  });
  it('rejects malformed or truncated literals', () => {
    fails(() => r('{5}\r\nabc').literal(), /literal of 5 bytes is cut short/);
    fails(() => r('{3}abc').literal(), /a literal announcement must end its line/);
    fails(() => r('{3x}\r\nabc').literal(), /expected "}" after the literal octet count/);
    fails(() => r('{}\r\n').literal(), /expected a literal octet count/);
  });
  it('refuses a literal the framing did not see', () => {
    const cmd = assembled('A1 LOGIN {3}\r\nabc x');
    // Pretend the literal is elsewhere.
    const forged = { ...cmd, literals: [{ ...cmd.literals[0], offset: cmd.literals[0].offset + 1 }] };
    const rd = new Reader(forged);
    rd.pos = 9;
    fails(() => rd.astring(), /literal is not where the framing saw one/);
  });
  it('reads astrings: atoms may contain "]"', () => {
    assert.equal(r('a]b c').astring().toString(), 'a]b');
    assert.equal(r('"a b"').astring().toString(), 'a b');
    fails(() => r('(x)').astring('the user name'), /expected the user name \(atom, "quoted" or \{literal\}\)/);
  });
  it('decodes text as UTF-8 and refuses invalid UTF-8', () => {
    assert.equal(r('"jürgen"').astringText(), 'jürgen');
    fails(() => r(Buffer.from([0x22, 0xff, 0x22])).astringText('the password'), /the password is not valid UTF-8/);
  });
  it('reads nstrings', () => {
    assert.equal(r('NIL').nstring(), null);
    assert.equal(r('nil)').nstring(), null);
    assert.equal(r('"NIL"').nstring()?.toString(), 'NIL');
    fails(() => r('NILS').nstring(), /expected a string or NIL/);
  });
});

describe('Reader: lists and flags', () => {
  it('reads parenthesised lists', () => {
    const rd = r('(a b c)');
    assert.deepEqual(
      rd.list(() => rd.atom()),
      ['a', 'b', 'c'],
    );
    const empty = r('()');
    assert.deepEqual(
      empty.list(() => empty.atom(), { allowEmpty: true }),
      [],
    );
    const notEmpty = r('()');
    fails(
      () => notEmpty.list(() => notEmpty.atom(), { what: 'the STATUS items' }),
      /the STATUS items must not be empty/,
    );
    const twoSpaces = r('(a  b)');
    fails(() => twoSpaces.list(() => twoSpaces.atom()), /expected an atom at offset 3/);
    const unclosed = r('(a b');
    fails(() => unclosed.list(() => unclosed.atom()), /expected SP or "\)" in a list at offset 4/);
  });
  it('reads flags with system flags in canonical case', () => {
    assert.deepEqual(r('(\\SEEN \\answered $Forwarded \\Custom Junk)').flagList(), [
      '\\Seen',
      '\\Answered',
      '$Forwarded',
      '\\Custom',
      'Junk',
    ]);
    assert.deepEqual(r('()').flagList(), []);
    fails(() => r('(\\*)').flagList(), /"\\\*" is not a flag/);
    assert.equal(r('\\*').flag({ allowWildcard: true }), '\\*');
    fails(() => r('(a]').flagList(), /expected SP or "\)"/);
    assert.equal(canonicalFlag('\\DRAFT'), '\\Draft');
    assert.equal(canonicalFlag('$label1'), '$label1');
  });
});

describe('Reader: mailbox names', () => {
  const utf7 = { utf8: false };
  const utf8 = { utf8: true };
  it('treats INBOX case-insensitively (RFC 9051 §5.1)', () => {
    for (const s of ['inbox', 'InBoX', '"INBOX"', '{5}\r\niNbOx']) assert.equal(r(s).mailbox(utf7), 'INBOX', s);
    assert.equal(r('INBOX.Sent').mailbox(utf7), 'INBOX.Sent');
    assert.equal(r('inbox.Sent').mailbox(utf7), 'inbox.Sent');
    // Dotless i upper-cases to I in Unicode, but it is not INBOX.
    assert.equal(r('"ınbox"').mailbox(utf8), 'ınbox');
  });
  it('decodes modified UTF-7 for IMAP4rev1 clients', () => {
    assert.equal(r('Entw&APw-rfe').mailbox(utf7), 'Entwürfe');
    assert.equal(r('"~peter/mail/&U,BTFw-/&ZeVnLIqe-"').mailbox(utf7), '~peter/mail/台北/日本語');
    assert.equal(r('"Tom &- Jerry"').mailbox(utf7), 'Tom & Jerry');
    fails(
      () => r('"Entwürfe"').mailbox(utf7),
      /8-bit characters; use modified UTF-7 .* or ENABLE UTF8=ACCEPT at offset 0/,
    );
  });
  it('takes names that are not valid modified UTF-7 as written, and notes it (not a syntax error)', () => {
    // RFC 3501 §5.1.3 only says names SHOULD be modified UTF-7; the session refuses CREATE/RENAME.
    for (const [wire, name] of [
      ['"a&Jjo!"', 'a&Jjo!'],
      ['"a&AGE-"', 'a&AGE-'], // "a" must be encoded directly
    ]) {
      const rd = r(wire);
      assert.equal(rd.mailbox(utf7), name, wire);
      assert.match(rd.invalidMailboxName ?? '', /not valid modified UTF-7/, wire);
    }
    const valid = r('Entw&APw-rfe');
    valid.mailbox(utf7);
    assert.equal(valid.invalidMailboxName, null);
  });
  it('takes UTF-8 names as written after ENABLE (RFC 6855 §3)', () => {
    assert.equal(r('"Entwürfe"').mailbox(utf8), 'Entwürfe');
    assert.equal(r('Entw&APw-rfe').mailbox(utf8), 'Entw&APw-rfe');
    fails(() => r(Buffer.from([0x22, 0x61, 0xc3, 0x22])).mailbox(utf8), /not valid UTF-8/);
  });
  it('refuses control characters', () => {
    fails(() => r('{3}\r\na\tb').mailbox(utf8), /control character/);
    fails(() => r('"a&AAk-b"').mailbox(utf7), /control character/);
    fails(() => r('"a\u0085b"').mailbox(utf8), /control character/);
  });
  it('reads LIST patterns with wildcards', () => {
    assert.equal(r('%').listMailbox(utf7), '%');
    assert.equal(r('foo/*').listMailbox(utf7), 'foo/*');
    assert.equal(r('~/Mail/% x').listMailbox(utf7), '~/Mail/%');
    assert.equal(r('"Entw&APw-*"').listMailbox(utf7), 'Entwü*');
    assert.equal(r('a]%').listMailbox(utf7), 'a]%');
    fails(() => r('(').listMailbox(utf7), /expected a mailbox pattern/);
  });
});

describe('Reader: dates', () => {
  const dates: [string, { year: number; month: number; day: number }][] = [
    ['1-Feb-1994', { year: 1994, month: 2, day: 1 }],
    ['01-feb-1994', { year: 1994, month: 2, day: 1 }],
    ['"5-MAR-2000"', { year: 2000, month: 3, day: 5 }],
    ['29-Feb-2024', { year: 2024, month: 2, day: 29 }],
    ['31-Dec-0099', { year: 99, month: 12, day: 31 }],
  ];
  for (const [text, want] of dates) it(`date ${text}`, () => assert.deepEqual(r(text).date(), want));
  const badDates: [string, RegExp][] = [
    ['31-Apr-2024', /day 31 does not exist in Apr 2024/],
    ['29-Feb-2023', /day 29 does not exist in Feb 2023/],
    ['29-Feb-1900', /does not exist/],
    ['1-Foo-2024', /expected a month name/],
    ['1-Feb-94', /expected a four-digit year/],
    ['"1-Feb-1994', /expected closing DQUOTE/],
    ['Feb-1994', /expected a date like 1-Feb-2024 at offset 0/],
    ['0-Feb-1994', /day 0 does not exist/],
  ];
  for (const [text, why] of badDates) it(`rejects date ${text}`, () => fails(() => r(text).date(), why));

  const dateTimes: [string, string, number][] = [
    // RFC 9051 §6.3.12 example.
    ['"17-Jul-1996 02:44:25 -0700"', '1996-07-17T09:44:25.000Z', -420],
    ['"01-Jan-2024 10:00:00 +0000"', '2024-01-01T10:00:00.000Z', 0],
    ['" 1-Jan-2024 10:00:00 +0130"', '2024-01-01T08:30:00.000Z', 90],
    ['"1-Jan-2024 10:00:00 +0000"', '2024-01-01T10:00:00.000Z', 0], // tolerated
    ['"31-Dec-0050 23:59:59 +0000"', '0050-12-31T23:59:59.000Z', 0],
  ];
  for (const [text, iso, offset] of dateTimes) {
    it(`date-time ${text}`, () => {
      const dt = r(text).dateTime();
      assert.equal(dt.date.toISOString(), iso);
      assert.equal(dt.offsetMinutes, offset);
    });
  }
  const badDateTimes: [string, RegExp][] = [
    ['"17-Jul-1996 24:00:00 +0000"', /time or zone out of range/],
    ['"17-Jul-1996 02:44:25"', /expected SP before the zone/],
    ['"17-Jul-1996 02:44 +0000"', /expected ":" in the time/],
    ['"17-Jul-1996 02:44:25 0700"', /expected a zone like \+0000/],
    ['"17-Jul-1996 02:44:25 +0760"', /out of range/],
    ['17-Jul-1996 02:44:25 +0000', /expected a date-time like/],
  ];
  for (const [text, why] of badDateTimes) it(`rejects date-time ${text}`, () => fails(() => r(text).dateTime(), why));
});

describe('Reader: sequence sets', () => {
  it('reads and positions after the set', () => {
    const rd = r('1:*,5 x');
    assert.deepEqual(rd.sequenceSet(), {
      kind: 'set',
      ranges: [
        { from: 1, to: STAR },
        { from: 5, to: 5 },
      ],
    });
    assert.equal(rd.pos, 5);
    assert.deepEqual(r('$').sequenceSet(), { kind: 'saved' });
  });
  it('reports errors at the right offset', () => {
    fails(() => r('x').sequenceSet(), /expected a sequence set like 1:5,7,9:\* at offset 0, found "x"/);
    const rd = r('12 1,0');
    rd.pos = 3;
    fails(() => rd.sequenceSet(), /message number 0 is not valid .* at offset 5/);
    fails(() => r('$').sequenceSet({ allowSaved: false }), /"\$" .* not allowed here/);
  });
});
