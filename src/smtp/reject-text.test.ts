import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectText } from './commands/data.js';
import { formatReply, reply } from './reply.js';

describe('SMTP: a Sieve reject reason as a reply line (RFC 5429 §2.2)', () => {
  it('joins lines, drops control characters and keeps the reason otherwise', () => {
    assert.equal(rejectText('No mail from you,\r\nthank you.\n', false), 'No mail from you, thank you.');
    assert.equal(rejectText('a\tb\u0000c\u007fd', false), 'a b c d');
    assert.equal(rejectText('  \r\n ', false), "Rejected by the recipient's mail filter");
  });

  it('writes non-ASCII as "?" unless the transaction is SMTPUTF8', () => {
    assert.equal(rejectText('Je suis en congé', false), 'Je suis en cong?');
    assert.equal(rejectText('Je suis en congé', true), 'Je suis en congé');
  });

  it('keeps the reply line within 512 octets (RFC 5321 §4.5.3.1.5)', () => {
    for (const utf8 of [false, true]) {
      const text = rejectText('é'.repeat(2000), utf8);
      assert.ok(text.endsWith('...'));
      const [line] = formatReply(reply(550, '5.7.1', text));
      assert.ok(Buffer.byteLength(`${line}\r\n`) <= 512, `${Buffer.byteLength(line)}`);
    }
  });
});
