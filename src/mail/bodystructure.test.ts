import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { normalizeImap, parseImap } from '../../test/harness/mail-testing.js';
import { bodyStructureText, serializeBodyStructure } from './bodystructure.js';
import { serializeEnvelope } from './envelope.js';
import { parseMime } from './mime.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/mime');
const fixture = (name: string): Buffer => readFileSync(join(fixtures, name));
const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');
const structure = (raw: Buffer, extended = true, utf8 = false): string =>
  bodyStructureText(parseMime(raw).root, { extended, utf8 });

describe('BODYSTRUCTURE: exact strings (Dovecot 2.3.19 answered the same for these fixtures)', () => {
  const cases: Array<[string, string]> = [
    ['simple-text.eml', '("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 53 5 NIL NIL NIL NIL)'],
    [
      'alternative.eml',
      '(("text" "plain" ("charset" "ISO-8859-1") NIL NIL "quoted-printable" 60 3 NIL NIL NIL NIL)("text" "html" ("charset" "UTF-8") NIL NIL "base64" 130 1 NIL NIL NIL NIL) "alternative" ("boundary" "----=_Part_0_123456.789") NIL NIL NIL)',
    ],
    [
      'mixed-attachment.eml',
      '(("text" "plain" ("charset" "us-ascii" "format" "flowed") NIL "The cover note" "7bit" 34 1 NIL NIL ("en-GB" "de") NIL)("application" "pdf" ("name*" "UTF-8\'\'Quartals%C3%BCbersicht%20Q4.pdf") "<report.pdf@example.org>" NIL "base64" 714 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("attachment" ("size" "524" "filename*" "UTF-8\'\'Quartals%C3%BCbersicht%20Q4.pdf")) NIL "http://example.org/report.pdf")("image" "png" ("name" "=?UTF-8?B?QmlsZC5wbmc=?=") NIL NIL "base64" 96 NIL ("inline" ("filename" "=?UTF-8?B?QmlsZC5wbmc=?=")) NIL NIL) "mixed" ("boundary" "outer-boundary") NIL NIL NIL)',
    ],
    [
      'nested-rfc822.eml',
      '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 34 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL "Forwarded message" "7bit" 400 ("Wed, 3 Jan 2024 17:00:00 +0000" "Meeting notes" (("Original Sender" NIL "orig" "example.test")) (("Original Sender" NIL "orig" "example.test")) (("Original Sender" NIL "orig" "example.test")) ((NIL NIL "fwd" "example.org")) NIL NIL NIL "<orig.1@example.test>") (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 17 1 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "7bit" 24 1 NIL NIL NIL NIL) "alternative" ("boundary" "XX-alt") NIL NIL NIL) 19 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 59 (NIL "second, simple" ((NIL NIL "x" "example.test")) ((NIL NIL "x" "example.test")) ((NIL NIL "x" "example.test")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "mixed" ("boundary" "XX") NIL NIL NIL)',
    ],
    ['no-content-type.eml', '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 70 2 NIL NIL NIL NIL)'],
    [
      'uppercase.eml',
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "FORMAT" "FLOWED") NIL NIL "7BIT" 22 0 NIL ("INLINE" NIL) NIL NIL)("APPLICATION" "OCTET-STREAM" ("NAME" "DATA.BIN") NIL NIL "BASE64" 8 NIL ("ATTACHMENT" ("FILENAME" "DATA.BIN")) NIL NIL) "MIXED" ("BOUNDARY" "UP") NIL NIL NIL)',
    ],
    [
      'quoted-params.eml',
      '("text" "plain" ("charset" "utf-8" "name" "semi;colon \\"quoted\\" \\\\ back" "x-empty" "" "x-token" "abc.def" "title*" "us-ascii\'en\'This%20is%20%2A%2A%2Afun%2A%2A%2A") NIL NIL "7bit" 8 1 NIL ("attachment" ("filename" "a b.txt" "creation-date" "Wed, 12 Feb 1997 16:29:51 -0500")) NIL NIL)',
    ],
    [
      'digest.eml',
      '(("message" "rfc822" NIL NIL NIL "7bit" 57 (NIL "first" ((NIL NIL "one" "example.org")) ((NIL NIL "one" "example.org")) ((NIL NIL "one" "example.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 16 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 33 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 57 (NIL "third" ((NIL NIL "three" "example.org")) ((NIL NIL "three" "example.org")) ((NIL NIL "three" "example.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "digest" ("boundary" "DG") NIL NIL NIL)',
    ],
    [
      'same-prefix.eml',
      '((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)(("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL)("image" "gif" NIL NIL NIL "7bit" 6 NIL NIL NIL NIL) "related" ("boundary" "=_X_alt_rel") NIL NIL NIL) "alternative" ("boundary" "=_X_alt") NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 0 NIL NIL NIL NIL) "mixed" ("boundary" "=_X") NIL NIL NIL)',
    ],
  ];
  for (const [file, want] of cases) {
    it(file, () => assert.equal(structure(fixture(file)), want));
  }
});

describe('BODY and BODYSTRUCTURE: Dovecot vectors (test-imap-bodystructure.c, with CRLF line ends)', () => {
  it('text/plain with charset', () => {
    const raw = crlf(
      'From: user@domain.org\nDate: Sat, 24 Mar 2017 23:00:00 +0200\nMime-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nbody\n',
    );
    assert.equal(structure(raw), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL)');
    assert.equal(structure(raw, false), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1)');
  });

  it('boundary folded inside its quotes', () => {
    const raw = crlf(
      'From: user@domain.org\nMime-Version: 1.0\nContent-Type: multipart/mixed; boundary="foo\n bar"\n\n--foo bar\nContent-Type: text/x-myown; charset=us-ascii\n\nhello\n\n--foo bar--\n\n',
    );
    assert.equal(
      structure(raw),
      '(("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL)',
    );
    assert.equal(structure(raw, false), '(("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1) "mixed")');
  });

  it('every extension field, nested message with a multipart, prologues and epilogues', () => {
    const raw = crlf(
      'From: user@domain.org\nDate: Sat, 24 Mar 2007 23:00:00 +0200\nMime-Version: 1.0\nContent-Type: multipart/mixed; boundary="foo\n bar"\n\nRoot MIME prologue\n\n' +
        '--foo bar\nContent-Type: text/x-myown; charset=us-ascii; foo="quoted\\"string"\nContent-ID: <foo@example.com>\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n' +
        'Content-Disposition: inline; foo=bar\nContent-Description: hellodescription\nContent-Language: en, fi, se\nContent-Location: http://example.com/test.txt\n\nhello\n\n' +
        '--foo bar\nContent-Type: message/rfc822\n\nFrom: sub@domain.org\nTo: sub-to1@domain.org, sub-to2@domain.org\nDate: Sun, 12 Aug 2012 12:34:56 +0300\nSubject: submsg\n' +
        'Content-Type: multipart/alternative; boundary="sub1"\n\nSub MIME prologue\n--sub1\nContent-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n<p>Hello world</p>\n\n' +
        '--sub1\nContent-Type: text/plain\nContent-Transfer-Encoding: ?invalid\n\nHello another world\n\n--sub1--\nSub MIME epilogue\n\n--foo bar--\nRoot MIME epilogue\n',
    );
    assert.equal(
      structure(raw),
      '(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("foo" "bar")) ("en" "fi" "se") "http://example.com/test.txt")' +
        '("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) ' +
        '(("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub1") NIL NIL NIL) 21 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL)',
    );
  });

  it('a multipart without any part gets one empty text/plain part', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary="foo"\n\n');
    assert.equal(
      structure(raw),
      '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "foo") NIL NIL NIL)',
    );
    assert.equal(structure(raw, false), '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")');
  });
});

describe('BODY, BODYSTRUCTURE and ENVELOPE equal Dovecot 2.3 for every fixture (fixtures/dovecot.json)', () => {
  const recorded = JSON.parse(readFileSync(join(fixtures, 'dovecot.json'), 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  for (const [file, items] of Object.entries(recorded)) {
    it(file, () => {
      const { root, envelope } = parseMime(fixture(file));
      // byte for byte
      assert.equal(
        serializeBodyStructure(root, { extended: true, utf8: false }).toString('latin1'),
        items.BODYSTRUCTURE,
      );
      assert.equal(serializeBodyStructure(root, { extended: false, utf8: false }).toString('latin1'), items.BODY);
      // value for value: Dovecot sends some strings as literals that we quote, and Latin-1 header
      // bytes as they are where we send their characters in UTF-8
      assert.deepEqual(
        normalizeImap(parseImap(serializeEnvelope(envelope, { utf8: false }))),
        normalizeImap(parseImap(items.ENVELOPE)),
      );
    });
  }
});

describe('BODYSTRUCTURE rendering choices', () => {
  it('8-bit strings are literals, or quoted with UTF8=ACCEPT', () => {
    const raw = fixture('8bit-headers.eml');
    const plain = structure(raw);
    assert.ok(plain.includes('"name" {14}\r\nÜbersicht.txt'));
    const utf8 = structure(raw, true, true);
    assert.ok(utf8.includes('"name" "Übersicht.txt"'));
    assert.equal(Buffer.byteLength('Übersicht.txt'), 14);
  });

  it('message/global is an encapsulated message only for IMAP4rev2 clients', () => {
    const raw = crlf('Content-Type: message/global\n\nSubject: inner\nFrom: a@b.example\n\nbody\n');
    const { root } = parseMime(raw);
    assert.equal(
      bodyStructureText(root, { extended: false, utf8: false }),
      '("message" "global" NIL NIL NIL "7bit" 43)',
    );
    assert.equal(
      bodyStructureText(root, { extended: false, utf8: true, messageGlobal: true }),
      '("message" "global" NIL NIL NIL "7bit" 43 (NIL "inner" ((NIL NIL "a" "b.example")) ((NIL NIL "a" "b.example")) ((NIL NIL "a" "b.example")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1) 4)',
    );
  });

  it('uppercase MESSAGE/RFC822 is written "message" "rfc822"', () => {
    const raw = crlf('Content-Type: MESSAGE/RFC822\n\nSubject: inner\n\nbody\n');
    assert.match(structure(raw, false), /^\("message" "rfc822" NIL NIL NIL "7bit" 24 \(NIL "inner" /);
  });

  it('Content-Type without a subtype, empty, or broken', () => {
    assert.equal(
      structure(crlf('Content-Type: text\n\nx\n'), false),
      '("text" "" ("charset" "us-ascii") NIL NIL "7bit" 3 1)',
    );
    assert.equal(structure(crlf('Content-Type:\n\nx\n'), false), '("" "" NIL NIL NIL "7bit" 3)');
    assert.equal(
      structure(crlf('Content-Type: image/png garbage; name=x\n\nx\n'), false),
      '("" "" NIL NIL NIL "7bit" 3)',
    );
  });
});
