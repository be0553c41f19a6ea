/** MAIL FROM (RFC 5321 §4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461). */
import { mailboxError } from '../../mail/address-syntax.js';
import { parsePathArgument } from '../address.js';
import { R, reply } from '../reply.js';
import { senderRefusal } from '../sender-check.js';
import type { SmtpCommand } from './types.js';

export const mail: SmtpCommand = {
  verb: 'MAIL',
  help: 'MAIL FROM:<you@example.org> - start a message from this sender (RFC 5321 4.1.1.2)',
  async run(s, args) {
    if (!s.greeting) return s.send(R.badSequence('Send HELO or EHLO first (e.g. HELO client.example.org)'));
    if (s.tx) return s.send(R.badSequence('Sender already specified; send RSET to start over'));
    if (s.settings.role === 'submission' && !s.authUser) {
      return s.send(reply(530, '5.7.0', 'Authentication required: log in with AUTH before sending on this port'));
    }
    const parsed = parsePathArgument(args, 'FROM', s.settings.strict);
    if (!parsed.ok) return s.send(R.syntax(parsed.message));
    const { address, params, tolerated } = parsed.value;
    const esmtp = s.greeting.verb === 'EHLO';
    if (params.size > 0 && !esmtp) return s.send(reply(555, '5.5.4', 'MAIL parameters need EHLO, not HELO'));
    const smtputf8 = params.has('SMTPUTF8');
    for (const [key, value] of params) {
      switch (key) {
        case 'SIZE': {
          if (!value || !/^\d{1,15}$/.test(value)) return s.send(reply(501, '5.5.4', 'Syntax: SIZE=<number of bytes>'));
          if (Number(value) > s.settings.maxMessageSize) {
            return s.send(
              reply(
                552,
                '5.3.4',
                `Message size exceeds fixed limit of ${s.settings.maxMessageSize} bytes (SIZE=${value})`,
              ),
            );
          }
          break;
        }
        case 'BODY': {
          const v = value?.toUpperCase();
          if (v !== '7BIT' && v !== '8BITMIME')
            return s.send(reply(555, '5.5.4', 'BODY must be 7BIT or 8BITMIME (BINARYMIME is not supported)'));
          break;
        }
        case 'SMTPUTF8':
          if (value !== null) return s.send(reply(555, '5.5.4', 'SMTPUTF8 takes no value'));
          break;
        case 'RET': {
          const v = value?.toUpperCase();
          if (v !== 'FULL' && v !== 'HDRS')
            return s.send(reply(501, '5.5.4', 'Syntax: RET=FULL or RET=HDRS (RFC 3461)'));
          break;
        }
        case 'ENVID':
          if (!value || value.length > 100)
            return s.send(reply(501, '5.5.4', 'Syntax: ENVID=<xtext of at most 100 characters>'));
          break;
        case 'AUTH':
          // RFC 4954 §5: accepted; we trust our own authentication, not the client's claim.
          break;
        default:
          return s.send(reply(555, '5.5.4', `Unsupported MAIL parameter ${key}`));
      }
    }
    if (address !== '') {
      const problem = mailboxError(address, smtputf8 || s.lab);
      if (problem) return s.send(reply(501, '5.1.7', `Bad sender address <${address}>: ${problem}`));
    }
    // smtp.sender_login_match: an authenticated session sends only as its own addresses (sender-check.ts).
    const refusal = await senderRefusal(s, address);
    if (refusal) return s.send(refusal);
    s.tx = { from: address, params, recipients: [], smtputf8, chunks: null, chunkBytes: 0, chunkTooBig: false };
    const note = tolerated ? ` (lab mode: ${tolerated})` : '';
    s.send(reply(250, '2.1.0', `Sender <${address}> OK${note}`));
    s.conn.trace.state('mail');
  },
};
