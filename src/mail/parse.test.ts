import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { currentMeta, MESSAGE_META_VERSION, type MessageMeta, parseMessage } from './parse.js';

const NONE = { subject: null, from: null, to: null, cc: null, date: null, messageId: null, inReplyTo: null };

/** The fields that came before the MIME tree and envelope. */
type Legacy = Omit<MessageMeta, 'mime' | 'envelope' | 'version'>;

interface Case {
  name: string;
  raw: string;
  want: Partial<Legacy>;
}

const cases: Case[] = [
  {
    name: 'simple CRLF message',
    raw: 'From: a@example.org\r\nTo: b@example.org\r\nSubject: Hi\r\n\r\nHello\r\nWorld\r\n',
    want: { headerLength: 55, bodyLines: 2, from: 'a@example.org', to: 'b@example.org', subject: 'Hi' },
  },
  {
    name: 'bare LF line ends',
    raw: 'Subject: Hi\nFrom: a@x\n\nline 1\nline 2\nline 3\n',
    want: { headerLength: 23, bodyLines: 3, subject: 'Hi', from: 'a@x' },
  },
  {
    name: 'mixed: CRLF header, bare LF empty line',
    raw: 'Subject: Hi\r\n\nbody\n',
    want: { headerLength: 14, bodyLines: 1, subject: 'Hi' },
  },
  {
    name: 'no body: header and empty line only',
    raw: 'Subject: Hi\r\n\r\n',
    want: { headerLength: 15, bodyLines: 0, subject: 'Hi' },
  },
  {
    name: 'header only, no empty line',
    raw: 'Subject: Hi\r\nFrom: a@x\r\n',
    want: { headerLength: 24, bodyLines: 0, subject: 'Hi', from: 'a@x' },
  },
  {
    name: 'header only, no final line end',
    raw: 'Subject: Hi',
    want: { headerLength: 11, bodyLines: 0, subject: 'Hi' },
  },
  { name: 'empty message', raw: '', want: { headerLength: 0, bodyLines: 0 } },
  {
    name: 'starts with the empty line: no header',
    raw: '\r\nbody\r\n',
    want: { headerLength: 2, bodyLines: 1 },
  },
  {
    name: 'body without final line end counts its last line',
    raw: 'Subject: x\r\n\r\none\r\ntwo',
    want: { headerLength: 14, bodyLines: 2, subject: 'x' },
  },
  {
    name: 'empty lines in the body count',
    raw: 'Subject: x\n\n\n\n\n',
    want: { headerLength: 12, bodyLines: 3, subject: 'x' },
  },
  {
    name: 'folded fields are unfolded (CRLF)',
    raw: 'Subject: a long\r\n subject\r\n\tline\r\nTo: x@y,\r\n  z@w\r\n\r\n',
    want: { subject: 'a long subject\tline', to: 'x@y,  z@w', headerLength: 53 },
  },
  {
    name: 'folded fields are unfolded (LF)',
    raw: 'Subject: a\n b\n\n',
    want: { subject: 'a b', headerLength: 15 },
  },
  {
    name: 'field names are case-insensitive',
    raw: 'SUBJECT: up\r\nmessage-ID: <1@x>\r\nIN-REPLY-TO: <0@x>\r\nCc: c@x\r\nDATE: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n',
    want: {
      subject: 'up',
      messageId: '<1@x>',
      inReplyTo: '<0@x>',
      cc: 'c@x',
      date: 'Mon, 1 Jan 2024 00:00:00 +0000',
    },
  },
  {
    name: 'first occurrence wins',
    raw: 'Subject: first\r\nSubject: second\r\n\r\n',
    want: { subject: 'first' },
  },
  {
    name: 'obsolete WSP before the colon',
    raw: 'Subject : spaced\r\n\r\n',
    want: { subject: 'spaced' },
  },
  {
    name: 'empty value',
    raw: 'Subject:\r\nTo:   \r\n\r\n',
    want: { subject: '', to: '' },
  },
  {
    name: 'encoded-words stay raw; UTF-8 is decoded',
    raw: 'Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\r\nFrom: Jürgen <j@x>\r\n\r\n',
    want: { subject: '=?UTF-8?Q?gr=C3=BC=C3=9Fe?=', from: 'Jürgen <j@x>' },
  },
  {
    name: 'continuation of an unindexed field is skipped',
    raw: 'Received: from a\r\n by b; Subject: no\r\nSubject: yes\r\n\r\n',
    want: { subject: 'yes' },
  },
  {
    name: 'lines without a colon and mbox From_ lines are ignored',
    raw: 'From a@x Mon Jan  1 00:00:00 2024\r\ngarbage\r\nFrom: real@x\r\n\r\n',
    want: { from: 'real@x' },
  },
  {
    name: 'a header-looking line in the body is not a header',
    raw: 'To: a@x\r\n\r\nSubject: not me\r\n',
    want: { to: 'a@x', subject: null, headerLength: 11, bodyLines: 1 },
  },
  {
    name: 'a whitespace-only line is a continuation, not the end of the header',
    raw: 'Subject: a\r\n \r\nTo: b@x\r\n\r\n',
    want: { subject: 'a', to: 'b@x', headerLength: 26 },
  },
];

describe('parseMessage', () => {
  for (const c of cases) {
    it(c.name, () => {
      const raw = Buffer.from(c.raw, 'utf8');
      const { mime, envelope, version, ...meta } = parseMessage(raw);
      const want: Legacy = { headerLength: raw.length, bodyLines: 0, ...NONE, ...c.want };
      assert.deepEqual(meta, want);
      assert.equal(mime.start, 0);
      assert.equal(mime.end, raw.length);
      assert.ok(envelope !== undefined);
      assert.equal(version, MESSAGE_META_VERSION);
    });
  }

  it('headerLength splits header and body exactly', () => {
    const raw = Buffer.from('A: 1\r\nB: 2\r\n\r\nbody bytes\r\n');
    const meta = parseMessage(raw);
    assert.equal(raw.subarray(meta.headerLength).toString(), 'body bytes\r\n');
    assert.ok(raw.subarray(0, meta.headerLength).toString().endsWith('\r\n\r\n'));
  });

  it('is plain JSON', () => {
    const meta = parseMessage(Buffer.from('Subject: s\r\nFrom: f\r\n\r\nb\r\n'));
    assert.deepEqual(JSON.parse(JSON.stringify(meta)), meta);
  });

  it('parses a typical 4 KB message, the same way every time (its rate is in bench/mime-parse.ts)', () => {
    const header =
      'Return-Path: <a@example.org>\r\nReceived: from mx.example.org by mail.example.com; Mon, 1 Jan 2024 00:00:00 +0000\r\n' +
      'From: Alice <a@example.org>\r\nTo: Bob <b@example.com>\r\nCc: c@example.com\r\nSubject: Quarterly numbers\r\n' +
      'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <123@example.org>\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n\r\n';
    const body = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n'.repeat(52);
    const raw = Buffer.from(header + body);
    assert.ok(raw.length > 4000);
    const first = parseMessage(raw);
    for (let i = 0; i < 100; i++) assert.deepEqual(parseMessage(raw), first);
    assert.equal(first.bodyLines, 52);
    assert.equal(first.headerLength, Buffer.byteLength(header));
  });

  it('currentMeta keeps a current stored meta and re-parses an old one', () => {
    const raw = Buffer.from('Subject: s\r\n\r\nb\r\n');
    const meta = parseMessage(raw);
    assert.equal(currentMeta(raw, meta), meta);
    const old = { headerLength: 13, bodyLines: 1, subject: 's' };
    assert.deepEqual(currentMeta(raw, old), meta);
    assert.deepEqual(currentMeta(raw, null), meta);
  });
});
