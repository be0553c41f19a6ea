/** MAIL FROM (RFC 5321 §4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461). */
import { mailboxError } from '../../mail/address-syntax.js';
import { isXtext, parsePathArgument } from '../address.js';
import { R, reply } from '../reply.js';
import { senderRefusal } from '../sender-check.js';
import { defineCommand, type GrammarContext, ok, type Parsed, refuse, syntax } from './types.js';

export interface MailArgs {
  /** The reverse-path without brackets; '' for the null path `<>`. */
  address: string;
  /** The parameters, checked, kept for the transaction (SIZE, RET and ENVID are read later). */
  params: Map<string, string | null>;
  smtputf8: boolean;
  /** What lab mode tolerated, for the reply text. */
  tolerated: string | null;
}

/**
 * The path, then the parameters in the order given (the first bad one answers; a SIZE over the limit is
 * 552 at its place in that order), then the address itself.
 */
function parseMail(args: string, { strict, esmtp, maxMessageSize }: GrammarContext): Parsed<MailArgs> {
  const parsed = parsePathArgument(args, 'FROM', strict);
  if (!parsed.ok) return syntax(parsed.message);
  const { address, params, tolerated } = parsed.value;
  if (params.size > 0 && !esmtp) return refuse(reply(555, '5.5.4', 'MAIL parameters need EHLO, not HELO'));
  const smtputf8 = params.has('SMTPUTF8');
  for (const [key, value] of params) {
    switch (key) {
      case 'SIZE': {
        if (!value || !/^\d{1,15}$/.test(value)) return refuse(reply(501, '5.5.4', 'Syntax: SIZE=<number of bytes>'));
        if (Number(value) > maxMessageSize) {
          return refuse(
            reply(552, '5.3.4', `Message size exceeds fixed limit of ${maxMessageSize} bytes (SIZE=${value})`),
          );
        }
        break;
      }
      case 'BODY': {
        const v = value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME')
          return refuse(reply(555, '5.5.4', 'BODY must be 7BIT or 8BITMIME (BINARYMIME is not supported)'));
        break;
      }
      case 'SMTPUTF8':
        if (value !== null) return refuse(reply(555, '5.5.4', 'SMTPUTF8 takes no value'));
        break;
      case 'RET': {
        const v = value?.toUpperCase();
        if (v !== 'FULL' && v !== 'HDRS') return refuse(reply(501, '5.5.4', 'Syntax: RET=FULL or RET=HDRS (RFC 3461)'));
        break;
      }
      case 'ENVID':
        // RFC 3461 §4.4: ENVID is xtext ("+" followed by two hex digits for "+", "=" and other bytes).
        if (!value || value.length > 100 || !isXtext(value))
          return refuse(reply(501, '5.5.4', 'Syntax: ENVID=<xtext of at most 100 characters>'));
        break;
      case 'AUTH':
        // RFC 4954 §5: accepted; we trust our own authentication, not the client's claim.
        break;
      default:
        return refuse(reply(555, '5.5.4', `Unsupported MAIL parameter ${key}`));
    }
  }
  if (address !== '') {
    const problem = mailboxError(address, smtputf8 || !strict);
    if (problem) return refuse(reply(501, '5.1.7', `Bad sender address <${address}>: ${problem}`));
  }
  return ok({ address, params, smtputf8, tolerated });
}

export const mail = defineCommand<MailArgs>({
  verb: 'MAIL',
  help: 'MAIL FROM:<you@example.org> - start a message from this sender (RFC 5321 4.1.1.2)',
  states: ['greeted'],
  outOfState: (state) =>
    state === 'connected'
      ? R.badSequence('Send HELO or EHLO first (e.g. HELO client.example.org)')
      : R.badSequence('Sender already specified; send RSET to start over'),
  checks: ['state', 'login-on-submission', 'parse'],
  parse: parseMail,
  async run(s, { address, params, smtputf8, tolerated }) {
    // A full disk (the store refuses writes until space returns): say so now, as Postfix does, rather
    // than after the client has sent the whole message (RFC 3463 §3.4, X.3.1).
    if (s.backend.storageFull?.()) return s.send(reply(452, '4.3.1', 'Insufficient system storage, try again later'));
    // smtp.sender_login_match: an authenticated session sends only as its own addresses (sender-check.ts).
    const refusal = await senderRefusal(s, address);
    if (refusal) return s.send(refusal);
    s.tx = { from: address, params, recipients: [], smtputf8, chunks: null, chunkBytes: 0, chunkTooBig: false };
    const note = tolerated ? ` (lab mode: ${tolerated})` : '';
    s.send(reply(250, '2.1.0', `Sender <${address}> OK${note}`));
    s.conn.trace.state('mail');
  },
});
