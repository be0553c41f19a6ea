import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Address, parseAddressList } from './address.js';
import { buildEnvelope, serializeEnvelope } from './envelope.js';
import { parseMime } from './mime.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');

describe('parseAddressList: Dovecot message-address vectors (FILL_MISSING, as its ENVELOPE uses)', () => {
  // [input, [name, route, mailbox, domain]] from dovecot/core src/lib-mail/test-message-address.c
  const cases: Array<[string, Address]> = [
    ['user@domain', [null, null, 'user', 'domain']],
    ['"user"@domain', [null, null, 'user', 'domain']],
    ['"user name"@domain', [null, null, 'user name', 'domain']],
    ['"user@na\\\\me"@domain', [null, null, 'user@na\\me', 'domain']],
    ['"user\\"name"@domain', [null, null, 'user"name', 'domain']],
    ['""@domain', [null, null, '', 'domain']],
    ['user', [null, null, 'user', 'MISSING_DOMAIN']],
    ['@domain', [null, null, 'MISSING_MAILBOX', 'domain']],
    ['Display Name', ['Display Name', null, 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
    ['"Display Name"', ['Display Name', null, 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
    ['Display "Name"', ['Display Name', null, 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
    ['"Display" "Name"', ['Display Name', null, 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
    ['""', ['', null, 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
    ['<user@domain>', [null, null, 'user', 'domain']],
    ['<"user name"@domain>', [null, null, 'user name', 'domain']],
    ['<user>', [null, null, 'user', 'MISSING_DOMAIN']],
    ['<@route>', [null, 'INVALID_ROUTE', 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
    ['user@domain (DisplayName)', ['DisplayName', null, 'user', 'domain']],
    ['user@domain (Display Name)', ['Display Name', null, 'user', 'domain']],
    ['user@domain (Display"Name)', ['Display"Name', null, 'user', 'domain']],
    ['user (Display Name)', ['Display Name', null, 'user', 'MISSING_DOMAIN']],
    ['@domain (Display Name)', ['Display Name', null, 'MISSING_MAILBOX', 'domain']],
    ['user@domain ()', [null, null, 'user', 'domain']],
    ['DisplayName <user@domain>', ['DisplayName', null, 'user', 'domain']],
    ['Display Name <user@domain>', ['Display Name', null, 'user', 'domain']],
    ['"Display\\"Name" <user@domain>', ['Display"Name', null, 'user', 'domain']],
    ['Display Name <user>', ['Display Name', null, 'user', 'MISSING_DOMAIN']],
    ['"" <user@domain>', [null, null, 'user', 'domain']],
    ['<@route:user@domain>', [null, '@route', 'user', 'domain']],
    ['<@route,@route2:user@domain>', [null, '@route,@route2', 'user', 'domain']],
    ['<@route@route2:user@domain>', [null, '@route,@route2', 'user', 'domain']],
    ['<@route@route2:user>', [null, '@route,@route2', 'user', 'MISSING_DOMAIN']],
    ['<@route@route2:""@domain>', [null, '@route,@route2', '', 'domain']],
    ['Display Name <@route:user@domain>', ['Display Name', '@route', 'user', 'domain']],
    ['"foo: <a@b>;," <user@domain>', ['foo: <a@b>;,', null, 'user', 'domain']],
    ['<>', [null, null, 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
    ['<@>', [null, 'INVALID_ROUTE', 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
    ['aaaa@', [null, null, 'aaaa', 'MISSING_DOMAIN']],
    ['a(aa', [null, null, 'MISSING_MAILBOX', 'MISSING_DOMAIN']],
  ];
  for (const [input, want] of cases) {
    it(input, () => assert.deepEqual(parseAddressList(input), [want]));
  }

  it('a list of the same address, with folding between', () => {
    assert.deepEqual(parseAddressList('Display Name <user@domain> , \n Display Name <user@domain>,x@y'), [
      ['Display Name', null, 'user', 'domain'],
      ['Display Name', null, 'user', 'domain'],
      [null, null, 'x', 'y'],
    ]);
  });

  it('groups: a start marker, the members, an end marker (RFC 9051 §7.5.2)', () => {
    assert.deepEqual(parseAddressList('group: a@b, "C" <c@d>;, e@f'), [
      [null, null, 'group', null],
      [null, null, 'a', 'b'],
      ['C', null, 'c', 'd'],
      [null, null, null, null],
      [null, null, 'e', 'f'],
    ]);
    assert.deepEqual(parseAddressList('undisclosed-recipients:;'), [
      [null, null, 'undisclosed-recipients', null],
      [null, null, null, null],
    ]);
  });

  it('nothing to parse', () => {
    assert.deepEqual(parseAddressList(''), []);
    assert.deepEqual(parseAddressList('  (just a comment) '), []);
  });

  it('broken angle address gets host SYNTAX_ERROR', () => {
    assert.deepEqual(parseAddressList('bad <a@b.test'), [['bad', null, 'a', 'SYNTAX_ERROR']]);
  });
});

describe('buildEnvelope', () => {
  it('keeps encoded-words, collapses whitespace in subject and names, unfolds ids', () => {
    const env = buildEnvelope([
      ['subject', '  =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n\t aus  Berlin  '],
      ['from', '"=?UTF-8?B?SsO8cmdlbg==?=  Mu\n ller" <j@example.de>'],
      ['message-id', '\n <id@example.org>'],
      ['date', 'Mon, 1 Jan 2024 10:00:00\n +0100'],
    ]);
    assert.equal(env.subject, '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Berlin');
    assert.deepEqual(env.from, [['=?UTF-8?B?SsO8cmdlbg==?= Mu ller', null, 'j', 'example.de']]);
    assert.equal(env.messageId, ' <id@example.org>');
    assert.equal(env.date, 'Mon, 1 Jan 2024 10:00:00 +0100');
  });

  it('the last date/subject wins; address fields merge (as Dovecot)', () => {
    const env = buildEnvelope([
      ['subject', 'first'],
      ['from', 'a@x'],
      ['subject', 'second'],
      ['from', 'b@y'],
      ['to', ''],
    ]);
    assert.equal(env.subject, 'second');
    assert.deepEqual(env.from, [
      [null, null, 'a', 'x'],
      [null, null, 'b', 'y'],
    ]);
    assert.equal(env.to, null);
  });

  it('sender and reply-to default to from on the wire, not in the stored JSON', () => {
    const { envelope } = parseMime(crlf('From: a@x.test\nSubject: s\n\nbody\n'));
    assert.equal(envelope.sender, null);
    assert.equal(envelope.replyTo, null);
    assert.equal(
      serializeEnvelope(envelope, { utf8: false }).toString(),
      '(NIL "s" ((NIL NIL "a" "x.test")) ((NIL NIL "a" "x.test")) ((NIL NIL "a" "x.test")) NIL NIL NIL NIL NIL)',
    );
  });

  it('no header at all: every field NIL', () => {
    const { envelope } = parseMime(Buffer.from('\r\nbody\r\n'));
    assert.equal(serializeEnvelope(envelope, { utf8: false }).toString(), '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
  });
});

describe('serializeEnvelope: strings on the wire', () => {
  const env = buildEnvelope([
    ['subject', 'He said "hi" \\o/'],
    ['from', 'Zoë <zoe@example.test>'],
  ]);

  it('quotes and backslashes are escaped in a quoted string', () => {
    assert.ok(serializeEnvelope(env, { utf8: false }).toString().startsWith('(NIL "He said \\"hi\\" \\\\o/" '));
  });

  it('8-bit text is a literal, sized in bytes, unless UTF8=ACCEPT', () => {
    const plain = serializeEnvelope(env, { utf8: false });
    assert.ok(plain.includes(Buffer.from('(({4}\r\nZoë NIL "zoe" "example.test"))')));
    const utf8 = serializeEnvelope(env, { utf8: true });
    assert.ok(utf8.includes(Buffer.from('(("Zoë" NIL "zoe" "example.test"))')));
  });
});
