/** RCPT TO (RFC 5321 §4.1.1.3): accept local recipients, queue remote ones for authenticated users, never relay for strangers. */
import { quotaRefusal } from '../../delivery/delivery.js';
import { mailboxError } from '../../mail/address-syntax.js';
import { isXtext, parsePathArgument } from '../address.js';
import { R, reply } from '../reply.js';
import type { SmtpSession } from '../session.js';
import { defineCommand, type GrammarContext, ok, type Parsed, refuse, submissionHintOf, syntax } from './types.js';

const NOTIFY_VALUES = new Set(['NEVER', 'SUCCESS', 'FAILURE', 'DELAY']);

export interface RcptArgs {
  /** The forward-path without brackets, as the client gave it (a bare `postmaster` included). */
  address: string;
  /** DSN NOTIFY values (RFC 3461 §4.1), upper-cased; null when absent. */
  notify: string[] | null;
  /** DSN ORCPT (RFC 3461 §4.2); null when absent. */
  orcpt: string | null;
  /** What lab mode tolerated, for the reply text. */
  tolerated: string | null;
}

/** The path, then the parameters in the order given, then whether there is an address at all. */
function parseRcpt(args: string, { strict }: GrammarContext): Parsed<RcptArgs> {
  const parsed = parsePathArgument(args, 'TO', strict);
  if (!parsed.ok) return syntax(parsed.message);
  const { address, params, tolerated } = parsed.value;
  let notify: string[] | null = null;
  let orcpt: string | null = null;
  for (const [key, value] of params) {
    if (key === 'NOTIFY') {
      const values = (value ?? '').toUpperCase().split(',');
      if (!values.every((v) => NOTIFY_VALUES.has(v)) || (values.includes('NEVER') && values.length > 1)) {
        return syntax('Syntax: NOTIFY=NEVER or a list of SUCCESS,FAILURE,DELAY (RFC 3461)');
      }
      notify = values;
    } else if (key === 'ORCPT') {
      // RFC 3461 §4.2: addr-type ";" xtext; a utf-8 address (RFC 6533 §3) has its own escapes.
      const semi = value?.indexOf(';') ?? -1;
      const type = value?.slice(0, semi) ?? '';
      if (
        !value ||
        !/^[A-Za-z0-9-]+;.+/.test(value) ||
        (type.toLowerCase() !== 'utf-8' && !isXtext(value.slice(semi + 1)))
      )
        return syntax(
          'Syntax: ORCPT=rfc822;address, the address as xtext (RFC 3461 section 4): "+", "=" and characters outside ! to ~ written +XX in hex, e.g. + as +2B',
        );
      orcpt = value;
    } else {
      return refuse(reply(555, '5.5.4', `Unsupported RCPT parameter ${key}`));
    }
  }
  if (address === '')
    return refuse(reply(501, '5.1.3', 'A recipient address is required, e.g. RCPT TO:<someone@example.org>'));
  return ok({ address, notify, orcpt, tolerated });
}

export const rcpt = defineCommand<RcptArgs>({
  verb: 'RCPT',
  help: 'RCPT TO:<someone@example.org> - add a recipient (RFC 5321 4.1.1.3)',
  states: ['mail', 'rcpt'],
  outOfState: (state) =>
    state === 'chunking'
      ? R.badSequence('RCPT is not allowed after BDAT has started')
      : R.badSequence('Send MAIL FROM first'),
  parse: parseRcpt,
  async run(s, { address: given, notify, orcpt, tolerated }) {
    const tx = s.transaction();
    // RFC 5321 §4.1.1.3: a bare "postmaster" is the local postmaster.
    const address = given.toLowerCase() === 'postmaster' ? `postmaster@${s.settings.hostname}` : given;
    // Not in the grammar: the transaction's SMTPUTF8 decides whether a UTF-8 address is allowed.
    const problem = mailboxError(address, tx.smtputf8 || s.lab);
    if (problem) return s.send(reply(501, '5.1.3', `Bad recipient address <${address}>: ${problem}`));
    if (tx.recipients.length >= s.settings.maxRecipients) {
      return s.send(
        reply(
          452,
          '4.5.3',
          `Too many recipients (at most ${s.settings.maxRecipients} per message); send the rest in another message`,
        ),
      );
    }
    const resolution = await s.backend.resolve(address);
    if (resolution.kind === 'unknown-user') {
      s.stats.rejected++;
      return s.send(reply(550, '5.1.1', `<${address}>: Recipient address rejected: no such user here`));
    }
    if (resolution.kind === 'remote' && !s.authUser) {
      s.stats.rejected++;
      const hint = s.settings.role === 'mx' ? relayHint(s.settings) : '';
      return s.send(reply(554, '5.7.1', `<${address}>: Relay access denied${hint}`));
    }
    // RFC 1870 §6.5 and RFC 3463 §3.3 (X.2.2): a full mailbox is refused here, before the message is sent; a
    // declared SIZE= that can never fit the quota is permanent, one that does not fit now is temporary.
    const sizeParam = tx.params.get('SIZE');
    const refusal = quotaRefusal(resolution, sizeParam ? Number(sizeParam) : null);
    if (refusal) {
      s.stats.rejected++;
      if (refusal.kind === 'too-big') {
        return s.send(
          reply(552, '5.2.2', `<${address}>: Mailbox full: the message (SIZE=${sizeParam}) exceeds the storage quota`),
        );
      }
      const why = refusal.kind === 'full' ? 'Mailbox full' : `Mailbox full: no room for ${sizeParam} more bytes`;
      return s.send(reply(452, '4.2.2', `<${address}>: ${why}; try again later`));
    }
    tx.recipients.push({ address, resolution, notify, orcpt });
    const note = tolerated ? ` (lab mode: ${tolerated})` : '';
    const where = resolution.kind === 'remote' ? ' (will be queued for remote delivery)' : '';
    s.send(reply(250, '2.1.5', `Recipient <${address}> OK${where}${note}`));
  },
});

/** How a user of this server sends to other domains, from the MX port's point of view. */
function relayHint(settings: SmtpSession['settings']): string {
  const submission = submissionHintOf(settings);
  const ways = [settings.authOnMx ? 'log in with AUTH' : null, submission ? `use ${submission}` : null].filter(
    (w): w is string => w !== null,
  );
  if (ways.length === 0) return ' (this server offers no login to send to other domains)';
  return ` (${ways.join(', or ')}, to send to other domains)`;
}
