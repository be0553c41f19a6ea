import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalMailbox, domainNameError, mailboxError } from './address-syntax.js';

describe('mailboxError', () => {
  it('accepts valid addresses', () => {
    for (const a of ['a@b.example', 'first.last+tag@sub.example.org', '"john doe"@x.example', 'u@[127.0.0.1]'])
      assert.equal(mailboxError(a, false), null, a);
  });
  it('rejects invalid ones with a reason', () => {
    for (const a of ['nodomain', '@x.example', 'a@', 'a..b@x.example', 'a@-x.example', `${'l'.repeat(65)}@x.example`])
      assert.notEqual(mailboxError(a, false), null, a);
  });
  it('needs SMTPUTF8 for non-ASCII', () => {
    assert.match(mailboxError('jürgen@example.de', false) ?? '', /SMTPUTF8/);
    assert.equal(mailboxError('jürgen@bücher.example', true), null);
  });
});

describe('canonicalMailbox', () => {
  it('unquotes a quoted local part that needs no quotes (RFC 5322 §3.2.4), and keeps the others', () => {
    assert.equal(canonicalMailbox('"user"@example.test'), 'user@example.test');
    assert.equal(canonicalMailbox('"a\\.b"@example.test'), 'a.b@example.test');
    assert.equal(canonicalMailbox('"first.last"@example.test'), 'first.last@example.test');
    for (const a of ['"john doe"@x.example', '"a..b"@x.example', '""@x.example', 'plain@x.example', '"x"y"@z.example'])
      assert.equal(canonicalMailbox(a), a, a);
  });
});

describe('domainNameError', () => {
  it('accepts LDH names and internationalized ones (IDNA)', () => {
    for (const d of [
      'example.org',
      'lab.example',
      'localhost',
      'bücher.example',
      'xn--bcher-kva.example',
      'a-b.c1.example',
    ])
      assert.equal(domainNameError(d), null, d);
  });
  it('refuses what is not a domain name, with a reason', () => {
    for (const d of ['bad_domain!', 'bad_domain', 'a..b', '-x.example', 'x-.example', '', '@example.org', '10.0.0.1']) {
      assert.notEqual(domainNameError(d), null, d);
    }
    assert.match(domainNameError(`${'x'.repeat(64)}.example`) ?? '', /not a valid domain name/);
    assert.match(domainNameError(`${'abcdefghi.'.repeat(26)}example`) ?? '', /longer than 253/);
  });
});
