import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWords } from '../mail/decode.js';
import { parseMessage } from '../mail/parse.js';
import type { SieveVacation } from '../sieve/types.js';
import { buildRejectNotice, buildVacationReply, deliveredTo, headerValues, redirectCopy } from './sieve-messages.js';

const original = Buffer.from(
  'From: Alice <alice@remote.test>\r\nTo: bob@example.test\r\nSubject: =?utf-8?q?H=C3=A9llo?=\r\n' +
    'Message-ID: <m1@remote.test>\r\nReferences: <a@x> <b@x>\r\n\r\nHi Bob.\r\n',
);

function vacation(over: Partial<SieveVacation> = {}): SieveVacation {
  return {
    type: 'vacation',
    to: 'alice@remote.test',
    from: null,
    subject: null,
    reason: 'I am away until Monday.\nCafé closed.',
    mime: false,
    periodSeconds: 7 * 86400,
    memoryKey: 'k',
    inReplyTo: '<m1@remote.test>',
    ...over,
  };
}

/** Every line ends in CRLF and none is longer than 998 octets. */
function assertWellFormed(msg: Buffer): void {
  const text = msg.toString('latin1');
  assert.ok(text.endsWith('\r\n'));
  assert.doesNotMatch(text, /[^\r]\n/);
  for (const line of text.split('\r\n')) assert.ok(line.length <= 998);
}

describe('Sieve messages at delivery', () => {
  it('a vacation reply: Auto-Submitted, "Auto: " and the original subject, threading, UTF-8 quoted-printable', () => {
    const reply = buildVacationReply({
      vacation: vacation(),
      original,
      account: 'bob@example.test',
      hostname: 'mx.example.test',
      date: new Date(Date.UTC(2026, 11, 7, 8, 0, 0)),
    });
    assertWellFormed(reply);
    assert.deepEqual(headerValues(reply, 'From'), ['<bob@example.test>']);
    assert.deepEqual(headerValues(reply, 'To'), ['<alice@remote.test>']);
    assert.equal(decodeWords(headerValues(reply, 'Subject')[0]), 'Auto: Héllo');
    assert.deepEqual(headerValues(reply, 'Auto-Submitted'), ['auto-replied']);
    assert.deepEqual(headerValues(reply, 'In-Reply-To'), ['<m1@remote.test>']);
    assert.deepEqual(headerValues(reply, 'References'), ['<a@x> <b@x> <m1@remote.test>']);
    assert.match(headerValues(reply, 'Message-ID')[0], /^<[^<>@]+@mx\.example\.test>$/);
    assert.deepEqual(headerValues(reply, 'Date'), ['Mon, 07 Dec 2026 08:00:00 +0000']);
    assert.deepEqual(headerValues(reply, 'Content-Transfer-Encoding'), ['quoted-printable']);
    const meta = parseMessage(reply);
    assert.equal(reply.toString('latin1', meta.headerLength), 'I am away until Monday.\r\nCaf=C3=A9 closed.\r\n');
  });

  it('a vacation reply with :from, :subject and a :mime body as given', () => {
    const reply = buildVacationReply({
      vacation: vacation({
        from: 'Bob Builder <bob@example.test>',
        subject: 'Away\r\nBcc: evil@x',
        mime: true,
        reason: 'Content-Type: text/html; charset=utf-8\n\n<p>Away</p>\n',
        inReplyTo: null,
      }),
      original,
      account: 'bob@example.test',
      hostname: 'mx.example.test',
      date: new Date(),
    });
    assertWellFormed(reply);
    assert.deepEqual(headerValues(reply, 'From'), ['Bob Builder <bob@example.test>']);
    // Line breaks in script text never make new header fields.
    assert.deepEqual(headerValues(reply, 'Subject'), ['Away Bcc: evil@x']);
    assert.deepEqual(headerValues(reply, 'Bcc'), []);
    assert.deepEqual(headerValues(reply, 'In-Reply-To'), []);
    assert.deepEqual(headerValues(reply, 'Content-Type'), ['text/html; charset=utf-8']);
    assert.match(reply.toString('utf8'), /\r\n\r\n<p>Away<\/p>\r\n$/);
  });

  it('a rejection notice is an MDN (disposition deleted) with the reason and only the original header', () => {
    const notice = buildRejectNotice({
      reason: 'No spam here,\nplease.',
      original,
      recipient: 'bob@example.test',
      envelopeFrom: 'alice@remote.test',
      hostname: 'mx.example.test',
      date: new Date(),
    });
    assertWellFormed(notice);
    const text = notice.toString('utf8');
    assert.match(text, /^Content-Type: multipart\/report; report-type=disposition-notification;/m);
    assert.match(text, /^Auto-Submitted: auto-replied \(rejected\)\r$/m);
    assert.match(text, /^To: <alice@remote\.test>\r$/m);
    assert.match(text, /^Disposition: automatic-action\/MDN-sent-automatically; deleted\r$/m);
    assert.match(text, /^Final-Recipient: rfc822; bob@example\.test\r$/m);
    assert.match(text, /^Original-Message-ID: <m1@remote\.test>\r$/m);
    assert.match(text, /No spam here,\r\nplease\./);
    assert.match(text, /Content-Type: text\/rfc822-headers/);
    assert.doesNotMatch(text, /Hi Bob\./);
  });

  it('a redirected copy carries Delivered-To for the account, which deliveredTo finds', () => {
    const copy = redirectCopy('bob@example.test', 'Received: from x by y; date\r\n', original);
    assert.ok(copy.toString().startsWith('Delivered-To: bob@example.test\r\nReceived: from x'));
    assert.deepEqual([...deliveredTo(copy)], ['bob@example.test']);
    assert.deepEqual(
      [...deliveredTo(Buffer.from('Delivered-To: <Carol@Example.test>\r\n\r\n'))],
      ['carol@example.test'],
    );
    assert.deepEqual([...deliveredTo(original)], []);
  });
});
