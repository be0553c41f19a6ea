import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  continuationLine,
  formatDateTime,
  formatRespCode,
  type RespCode,
  ResponseBuilder,
  safeText,
  statusLine,
} from './encoder.js';
import { frameAll } from './framing.js';
import { Reader } from './reader.js';
import { NumberSet, parseSequenceSet } from './seqset.js';

const w = (utf8 = false) => new ResponseBuilder({ utf8 });
const str = (b: ResponseBuilder) => b.toBuffer().toString('utf8');

/** Reads back one string written by the encoder, the way a client (or our reader) would. */
function readBack(encoded: Buffer): Buffer {
  const { results } = frameAll(Buffer.concat([Buffer.from('x '), encoded, Buffer.from('\r\n')]));
  assert.ok(results[0]?.kind === 'command');
  const r = new Reader(results[0].command);
  r.pos = 2;
  const value = r.string();
  r.end();
  return value;
}

describe('ResponseBuilder: strings', () => {
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
  const cases: [string | Buffer, boolean, string | Buffer][] = [
    ['hello', false, '"hello"'],
    ['', false, '""'],
    ['say "hi" \\o/', false, '"say \\"hi\\" \\\\o/"'],
    ['two\r\nlines', false, '{10}\r\ntwo\r\nlines'],
    ['Entwürfe', false, '{9}\r\nEntwürfe'],
    ['Entwürfe', true, '"Entwürfe"'],
    ['nul\0', true, '{4}\r\nnul\0'],
    [latin1, true, Buffer.concat([Buffer.from('{4}\r\n'), latin1])], // not UTF-8: a literal, bytes untouched
    [Buffer.from('café'), true, '"café"'],
    [Buffer.from('café'), false, '{5}\r\ncafé'],
  ];
  for (const [value, utf8, want] of cases) {
    it(`${JSON.stringify(value.toString())} (utf8=${utf8}) → ${JSON.stringify(want.toString())}`, () => {
      assert.deepEqual(w(utf8).string(value).toBuffer(), Buffer.isBuffer(want) ? want : Buffer.from(want));
    });
  }

  it('sends long strings as literals', () => {
    const long = 'x'.repeat(1025);
    assert.ok(str(w().string(long)).startsWith('{1025}\r\n'));
    assert.equal(str(new ResponseBuilder({ maxQuoted: 3 }).string('abcd')), '{4}\r\nabcd');
    // In UTF-8 mode the limit counts bytes.
    assert.equal(str(new ResponseBuilder({ maxQuoted: 3, utf8: true }).string('üü')), '{4}\r\nüü');
  });

  it('round-trips every kind of string through the reader', () => {
    const values = [
      'plain',
      '',
      '"',
      '\\',
      'a "quoted" \\ thing',
      'multi\r\nline',
      'ünïcödé',
      '日本語',
      'x'.repeat(5000),
      Buffer.from([0xff, 0xfe, 0x80]),
      Buffer.from('{5}\r\nfake'),
    ];
    for (const utf8 of [false, true]) {
      for (const v of values) {
        const bytes = typeof v === 'string' ? Buffer.from(v) : v;
        assert.deepEqual(readBack(w(utf8).string(v).toBuffer()), bytes, `${JSON.stringify(v.toString())} utf8=${utf8}`);
      }
    }
  });

  it('writes astrings bare when they are atoms', () => {
    assert.equal(str(w().astring('INBOX')), 'INBOX');
    assert.equal(str(w().astring('a.b-c')), 'a.b-c');
    assert.equal(str(w().astring('two words')), '"two words"');
    assert.equal(str(w().astring('')), '""');
    assert.equal(str(w().astring('NIL')), '"NIL"');
    assert.equal(str(w().astring('a]b')), '"a]b"');
    assert.equal(str(w().astring('a%')), '"a%"');
  });

  it('writes nstrings', () => {
    assert.equal(str(w().nstring(null)), 'NIL');
    assert.equal(str(w().nstring(undefined)), 'NIL');
    assert.equal(str(w().nstring('NIL')), '"NIL"');
  });

  it('writes literals and binary literals without copying the bytes', () => {
    const body = Buffer.from('a\0b');
    const b = w().raw('BINARY[] ').literal(body, { binary: true });
    const chunks = b.chunks();
    assert.equal(chunks[1], body);
    assert.equal(b.toBuffer().toString('latin1'), 'BINARY[] ~{3}\r\na\0b');
  });
});

describe('ResponseBuilder: structures', () => {
  it('writes lists, flags and numbers', () => {
    assert.equal(
      str(w().untagged().raw('FLAGS ').flags(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft']).crlf()),
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n',
    );
    assert.equal(str(w().flags([])), '()');
    assert.equal(str(w().list([1, 2n, 3], (b, n) => b.number(n))), '(1 2 3)');
  });

  it('writes sequence sets in every form', () => {
    const parsed = parseSequenceSet('1:*,5');
    assert.ok(parsed.ok);
    assert.equal(str(w().sequenceSet(parsed.set)), '1:*,5');
    assert.equal(str(w().sequenceSet(NumberSet.fromNumbers([1, 2, 3, 5, 7, 8, 9]))), '1:3,5,7:9');
    assert.equal(str(w().sequenceSet('4:6')), '4:6');
  });

  it('encodes mailbox names for the session', () => {
    assert.equal(str(w().mailbox('Entwürfe')), '"Entw&APw-rfe"');
    assert.equal(str(w().mailbox('Tom & Jerry')), '"Tom &- Jerry"');
    assert.equal(str(w(true).mailbox('Entwürfe')), '"Entwürfe"');
    assert.equal(str(w(true).mailbox('Tom & Jerry')), '"Tom & Jerry"');
  });

  it('writes date-times the reader reads back (RFC 9051 §9 date-time)', () => {
    const d = new Date('1996-07-17T09:44:25Z');
    assert.equal(formatDateTime(d, -420), '17-Jul-1996 02:44:25 -0700');
    assert.equal(formatDateTime(new Date('2024-01-01T08:30:00Z'), 90), '01-Jan-2024 10:00:00 +0130');
    assert.equal(formatDateTime(new Date('2024-03-05T00:00:00Z')), '05-Mar-2024 00:00:00 +0000');
    for (const offset of [-720, -420, 0, 90, 840]) {
      const enc = w().dateTime(d, offset).toBuffer();
      const back = new Reader(enc).dateTime();
      assert.equal(back.date.getTime(), d.getTime());
      assert.equal(back.offsetMinutes, offset);
    }
  });

  it('writes a FETCH response with a literal (RFC 9051 §7.5.2)', () => {
    const b = w()
      .untagged()
      .raw('12 FETCH (FLAGS ')
      .flags(['\\Seen'])
      .raw(' UID 4827313 BODY[TEXT] ')
      .string('hello\r\nworld')
      .raw(' INTERNALDATE ')
      .dateTime(new Date('1996-07-17T09:44:25Z'), -420)
      .raw(' ENVELOPE (')
      .nstring(null)
      .sp()
      .nstring('IMAP4rev2 WG mtg summary and minutes')
      .raw('))')
      .crlf();
    assert.equal(
      str(b),
      '* 12 FETCH (FLAGS (\\Seen) UID 4827313 BODY[TEXT] {12}\r\nhello\r\nworld INTERNALDATE "17-Jul-1996 02:44:25 -0700" ENVELOPE (NIL "IMAP4rev2 WG mtg summary and minutes"))\r\n',
    );
    assert.deepEqual(b.traceLines(), [
      '* 12 FETCH (FLAGS (\\Seen) UID 4827313 BODY[TEXT] {12}',
      '<12 bytes> INTERNALDATE "17-Jul-1996 02:44:25 -0700" ENVELOPE (NIL "IMAP4rev2 WG mtg summary and minutes"))',
    ]);
  });
});

describe('status lines and response codes (RFC 9051 §7.1)', () => {
  const lines: [string | null, 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH', string, RespCode | null, string][] = [
    [null, 'OK', 'Predicted next UID', { code: 'UIDNEXT', value: 4392 }, '* OK [UIDNEXT 4392] Predicted next UID'],
    [null, 'OK', 'UIDs valid', { code: 'UIDVALIDITY', value: 3857529045 }, '* OK [UIDVALIDITY 3857529045] UIDs valid'],
    [
      null,
      'OK',
      'Limited',
      { code: 'PERMANENTFLAGS', flags: ['\\Deleted', '\\Seen', '\\*'] },
      '* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited',
    ],
    ['A142', 'OK', 'SELECT completed', 'READ-WRITE', 'A142 OK [READ-WRITE] SELECT completed'],
    [
      'A003',
      'OK',
      'Done',
      { code: 'COPYUID', uidValidity: 38505, source: '304,319:320', destination: '3956:3958' },
      'A003 OK [COPYUID 38505 304,319:320 3956:3958] Done',
    ],
    [
      'A003',
      'OK',
      'APPEND completed',
      { code: 'APPENDUID', uidValidity: 38505, uids: '3955' },
      'A003 OK [APPENDUID 38505 3955] APPEND completed',
    ],
    [
      null,
      'OK',
      'Highest',
      { code: 'HIGHESTMODSEQ', value: 715194045007n },
      '* OK [HIGHESTMODSEQ 715194045007] Highest',
    ],
    [
      'd105',
      'OK',
      'Conditional STORE failed',
      { code: 'MODIFIED', set: '7,9' },
      'd105 OK [MODIFIED 7,9] Conditional STORE failed',
    ],
    [
      'A283',
      'NO',
      'unsupported charset',
      { code: 'BADCHARSET', charsets: ['UTF-8', 'X Y'] },
      'A283 NO [BADCHARSET (UTF-8 "X Y")] unsupported charset',
    ],
    ['A283', 'NO', 'no', { code: 'BADCHARSET', charsets: [] }, 'A283 NO [BADCHARSET] no'],
    [
      null,
      'OK',
      'Ok',
      { code: 'MAILBOXID', id: 'F2212ea87-6097-4256-9d51-71338625' },
      '* OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Ok',
    ],
    [
      null,
      'OK',
      'ready',
      { code: 'CAPABILITY', capabilities: ['IMAP4rev2', 'IMAP4rev1', 'LITERAL+'] },
      '* OK [CAPABILITY IMAP4rev2 IMAP4rev1 LITERAL+] ready',
    ],
    ['A1', 'NO', 'Message too large', 'TOOBIG', 'A1 NO [TOOBIG] Message too large'],
    [null, 'BYE', 'Autologout; idle for too long', null, '* BYE Autologout; idle for too long'],
    ['A1', 'BAD', '', null, 'A1 BAD completed'],
    [null, 'PREAUTH', 'welcome', null, '* PREAUTH welcome'],
  ];
  for (const [tag, status, text, code, want] of lines) {
    it(want, () => {
      assert.equal(statusLine(tag, status, text, { code }).toString(), `${want}\r\n`);
      assert.equal(str(w().status(tag, status, text, code)), `${want}\r\n`);
    });
  }

  it('keeps response text on one line and 7-bit unless UTF-8 is on', () => {
    assert.equal(statusLine('a', 'NO', 'bad\r\nthing\0').toString(), 'a NO bad  thing \r\n');
    assert.equal(statusLine('a', 'NO', 'Entwürfe fehlt').toString(), 'a NO Entw?rfe fehlt\r\n');
    assert.equal(statusLine('a', 'NO', 'Entwürfe fehlt', { utf8: true }).toString(), 'a NO Entwürfe fehlt\r\n');
    assert.equal(safeText('x\ny', false), 'x y');
  });

  it('formats codes alone and continuation requests', () => {
    assert.equal(formatRespCode('TRYCREATE'), 'TRYCREATE');
    assert.equal(continuationLine().toString(), '+ Ready for literal data\r\n');
    assert.equal(continuationLine('').toString(), '+ \r\n');
  });
});
