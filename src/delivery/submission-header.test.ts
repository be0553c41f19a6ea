import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completeSubmittedHeader } from './submission-header.js';

const o = { hostname: 'mx.example.test', id: 'abc.1', date: new Date(Date.UTC(2026, 11, 7, 9, 5, 3)) };
const DATE = 'Date: Mon, 07 Dec 2026 09:05:03 +0000\r\n';
const ID = `Message-ID: <${o.date.getTime().toString(36)}.abc.1@mx.example.test>\r\n`;
const complete = (text: string) => completeSubmittedHeader(Buffer.from(text), o).toString();

describe('completeSubmittedHeader', () => {
  it('adds what is missing at the end of the header, before its empty line', () => {
    assert.equal(
      complete('From: a@b\r\nSubject: s\r\n\r\nbody\r\n'),
      `From: a@b\r\nSubject: s\r\n${DATE}${ID}\r\nbody\r\n`,
    );
    assert.equal(complete('Subject: s\r\ndate: x\r\n\r\nb\r\n'), `Subject: s\r\ndate: x\r\n${ID}\r\nb\r\n`);
  });

  it('changes nothing when both are there, whatever their case and folding', () => {
    const text = 'DATE:\r\n Mon, 07 Dec 2026 10:00:00 +0100\r\nmessage-id: <x@y>\r\n\r\nb\r\n';
    assert.equal(complete(text), text);
  });

  it('gives text typed without a header a header of its own', () => {
    assert.equal(complete('hello there\r\nbye\r\n'), `${DATE}${ID}\r\nhello there\r\nbye\r\n`);
    assert.equal(complete('\r\nbody only\r\n'), `${DATE}${ID}\r\nbody only\r\n`);
  });

  it('adds before the first line that is no header field, and to a header without a body', () => {
    assert.equal(complete('Subject: s\r\nhello\r\n'), `Subject: s\r\n${DATE}${ID}hello\r\n`);
    assert.equal(complete('Subject: s\r\n'), `Subject: s\r\n${DATE}${ID}`);
    assert.equal(complete('Subject: s'), `Subject: s\r\n${DATE}${ID}`);
  });
});
