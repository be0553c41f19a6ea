import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mailboxError } from './address-syntax.js';

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
