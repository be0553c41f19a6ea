import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeExtendedValue, paramValue, partText } from './decode.js';
import { parseMessage } from './parse.js';
import { baseSubject, fold, parseDate, preview, SearchableMessage, stripHtml } from './search.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/mime');
const load = (name: string): { raw: Buffer; msg: SearchableMessage; meta: ReturnType<typeof parseMessage> } => {
  const raw = readFileSync(join(fixtures, name));
  const meta = parseMessage(raw);
  return { raw, msg: new SearchableMessage(raw, meta), meta };
};
const fromText = (s: string) => {
  const raw = Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');
  const meta = parseMessage(raw);
  return { raw, meta, msg: new SearchableMessage(raw, meta) };
};

describe('SearchableMessage: HEADER, SUBJECT (decoded, case-insensitive substring)', () => {
  const { msg } = load('simple-text.eml');

  it('decodes encoded-words and unfolds', () => {
    assert.deepEqual(msg.headerValues('SUBJECT'), ['Grüße aus   Berlin (folded)']);
  });

  it('matches case-insensitively, across charsets', () => {
    assert.ok(msg.matchHeader('subject', 'GRÜSSE'.toLowerCase().replace('ss', 'ß')));
    assert.ok(msg.matchHeader('Subject', 'grüße AUS'));
    assert.ok(!msg.matchHeader('subject', 'hamburg'));
  });

  it('an empty string matches when the field exists', () => {
    assert.ok(msg.matchHeader('message-id', ''));
    assert.ok(!msg.matchHeader('x-not-there', ''));
  });

  it('Latin-1 header bytes', () => {
    assert.ok(load('latin1-headers.eml').msg.matchHeader('subject', 'grüße'));
  });
});

describe('SearchableMessage: FROM/TO/CC/BCC', () => {
  it('matches names, addresses and decoded names', () => {
    const { msg } = load('addresses.eml');
    assert.ok(msg.matchAddress('from', 'mary@x.test'));
    assert.ok(msg.matchAddress('from', 'giant; "big"'));
    assert.ok(msg.matchAddress('bcc', 'andré'));
    assert.ok(msg.matchAddress('bcc', 'élèn'));
    assert.ok(msg.matchAddress('to', 'a group'));
    assert.ok(msg.matchAddress('to', 'JDOE@ONE'));
    assert.ok(!msg.matchAddress('cc', 'mary'));
  });
});

describe('SearchableMessage: BODY and TEXT over decoded text parts', () => {
  it('quoted-printable in ISO-8859-1 and base64 in UTF-8', () => {
    const { msg } = load('alternative.eml');
    assert.ok(msg.matchBody('café news'));
    assert.ok(msg.matchBody('soft line break here')); // QP soft line break joined
    assert.ok(msg.matchBody('<p>caf')); // the HTML part, decoded from base64
    assert.ok(!msg.matchBody('weekly news')); // the subject is not body
    assert.ok(msg.matchText('weekly news'));
  });

  it('attachments are not text; encapsulated messages are', () => {
    const { msg } = load('nested-rfc822.eml');
    assert.ok(msg.matchBody('ship it'));
    assert.ok(msg.matchBody('second, simple')); // header of an encapsulated message
    assert.ok(!load('mixed-attachment.eml').msg.matchBody('PDF-1.4'));
  });

  it('a message without MIME is one text part', () => {
    const { msg } = load('no-content-type.eml');
    assert.ok(msg.matchBody('not base64 at all'));
  });

  it('unknown charsets and broken encodings do not throw', () => {
    const { msg } = fromText(
      'Content-Type: text/plain; charset=x-unknown-42\nContent-Transfer-Encoding: base64\n\n!!!not base64***\n',
    );
    assert.equal(msg.matchBody('zzz'), false);
  });
});

describe('dates (SENTBEFORE/SENTON/SENTSINCE, SORT DATE)', () => {
  const cases: Array<[string, string | null, string | null]> = [
    ['Mon, 1 Jan 2024 10:00:00 +0100', '2024-01-01', '2024-01-01T09:00:00.000Z'],
    ['Tue, 2 Jan 2024 08:30:00 -0500 (EST)', '2024-01-02', '2024-01-02T13:30:00.000Z'],
    ['5 Jan 24 23:59 EST', '2024-01-05', '2024-01-06T04:59:00.000Z'],
    ['Sun, 31 Dec 1999 23:59:59 GMT', '1999-12-31', '1999-12-31T23:59:59.000Z'],
    ['1 Feb 99 00:00 +0000', '1999-02-01', '1999-02-01T00:00:00.000Z'],
    ['Thu, 4 Jan 2024', '2024-01-04', '2024-01-04T00:00:00.000Z'],
    ['yesterday', null, null],
    ['32 Jan 2024 10:00', null, null],
  ];
  for (const [value, day, time] of cases) {
    it(value, () => {
      const d = parseDate(value);
      assert.equal(d === null ? null : new Date(d.day).toISOString().slice(0, 10), day);
      assert.equal(d === null ? null : new Date(d.time).toISOString(), time);
    });
  }

  it('the calendar date as written, disregarding the zone (RFC 9051 SENTON)', () => {
    const { msg } = fromText('Date: Mon, 1 Jan 2024 23:30:00 -0800\n\nx\n');
    assert.equal(new Date(msg.sentDate()!).toISOString().slice(0, 10), '2024-01-01');
    assert.equal(new Date(msg.sentTime()!).toISOString(), '2024-01-02T07:30:00.000Z');
    assert.equal(fromText('Subject: no date\n\nx\n').msg.sentDate(), null);
  });
});

describe('baseSubject (RFC 5256 §2.1)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['Re: hello', 'hello', true],
    ['RE: Re: re: hello', 'hello', true],
    ['Fwd: hello', 'hello', true],
    ['FW: hello', 'hello', true],
    ['Re[2]: hello', 'hello', true],
    ['[list] Re: hello', 'hello', true],
    ['Re: [list] hello', 'hello', true],
    ['[list] hello', 'hello', false],
    ['[list]', '[list]', false],
    ['hello (fwd)', 'hello', true],
    ['hello (FWD) (fwd)  ', 'hello', true],
    ['[Fwd: hello]', 'hello', true],
    ['Re: [Fwd: Re: hello]', 'hello', true],
    ['  spaced\t\tout  ', 'spaced out', false],
    ['=?UTF-8?Q?Re=3A_Gr=C3=BC=C3=9Fe?=', 'Grüße', true],
    ['Reply: hello', 'Reply: hello', false],
    ['', '', false],
  ];
  for (const [subject, base, rf] of cases) {
    it(JSON.stringify(subject), () => assert.deepEqual(baseSubject(subject), { base, replyOrForward: rf }));
  }
});

describe('preview (RFC 8970)', () => {
  it('the text/plain alternative, whitespace collapsed', () => {
    const { raw, meta } = load('alternative.eml');
    assert.equal(preview(raw, meta), 'Café news: the week in review. Soft line break here.');
  });

  it('HTML only: tags stripped, entities decoded', () => {
    const { raw, meta } = fromText(
      'Content-Type: text/html\n\n<html><head><title>T</title><style>p{}</style></head><body><p>Hello&nbsp;&amp; <b>welcome</b>&#33;</p></body></html>\n',
    );
    assert.equal(preview(raw, meta), 'Hello & welcome!');
  });

  it('at most 200 characters, not cutting a character in half', () => {
    const { raw, meta } = fromText(`Content-Type: text/plain; charset=utf-8\n\n${'😀'.repeat(300)}\n`);
    const p = preview(raw, meta);
    assert.equal(Array.from(p).length, 200);
    assert.ok(p.endsWith('😀'));
  });

  it('a message/rfc822 message previews the message inside', () => {
    const m = fromText('Content-Type: message/rfc822\n\nSubject: inner\n\nInner   text.\n');
    assert.equal(preview(m.raw, m.meta), 'Inner text.');
  });

  it('skips attachments and non-text parts; empty when there is no text', () => {
    const { raw, meta } = load('mixed-attachment.eml');
    assert.equal(preview(raw, meta), 'Please find the report attached.');
    const img = fromText('Content-Type: image/png\n\nxxx\n');
    assert.equal(preview(img.raw, img.meta), '');
  });
});

describe('decoding helpers', () => {
  it('RFC 2231 parameters: continuations merged, charset decoded', () => {
    const { meta } = load('mixed-attachment.eml');
    const pdf = meta.mime.parts![1];
    assert.equal(paramValue(pdf.params, 'name'), 'Quartalsübersicht Q4.pdf');
    assert.equal(paramValue(pdf.dispositionParams, 'FILENAME'), 'Quartalsübersicht Q4.pdf');
    assert.equal(paramValue(meta.mime.parts![2].params, 'name'), 'Bild.png'); // RFC 2047 in a parameter
    assert.equal(paramValue(pdf.params, 'missing'), null);
    assert.equal(decodeExtendedValue("us-ascii'en'This%20is%20%2A%2A%2Afun%2A%2A%2A"), 'This is ***fun***');
    assert.equal(decodeExtendedValue("iso-8859-1''caf%E9"), 'café');
  });

  it('partText undoes transfer encoding and charset', () => {
    const { raw, meta } = load('alternative.eml');
    assert.equal(partText(raw, meta.mime.parts![0]), 'Café news: the week in review.\r\nSoft line break here.\r\n');
  });

  it('fold and stripHtml', () => {
    assert.equal(fold('ÄBC'), fold('äbc'));
    assert.equal(stripHtml('<!-- x --><script>a<b</script>1 &lt; <i>2</i><br>3'), '  1 < 2 3');
  });
});
