/** HELO and EHLO (RFC 5321 §4.1.1.1): identify the client; EHLO lists the extensions. */
import { advertisedMechanisms } from '../../auth/sasl.js';
import { reply } from '../reply.js';
import type { SmtpSession } from '../session.js';
import type { SmtpCommand } from './types.js';

function greet(s: SmtpSession, verb: 'HELO' | 'EHLO', args: string): void {
  const domain = args.trim().split(/\s+/)[0] ?? '';
  const ip = `[${s.conn.remoteAddress}]`;
  let note = '';
  if (!domain) {
    if (s.settings.strict) {
      s.fail(501, '5.5.4', `Syntax: ${verb} hostname (say who you are, e.g. ${verb} client.example.org)`);
      return;
    }
    note = ` (lab mode: ${verb} without a name accepted; RFC 5321 wants "${verb} your.host.name")`;
  }
  // RFC 5321 §4.1.4: HELO/EHLO also resets any transaction in progress.
  s.resetTransaction();
  s.greeting = { verb, domain: domain || ip };
  const { hostname } = s.settings;
  const hello = `${hostname} Hello ${domain ? `${domain} ` : ''}${ip}${note}`;
  if (verb === 'HELO') {
    s.send(reply(250, null, hello));
    return;
  }
  const ext = [
    'PIPELINING',
    `SIZE ${s.settings.maxMessageSize}`,
    '8BITMIME',
    'SMTPUTF8',
    'ENHANCEDSTATUSCODES',
    'CHUNKING',
    'DSN',
  ];
  if (!s.conn.secure && s.settings.tlsContext) ext.push('STARTTLS');
  if (s.authOffered && !s.authUser) ext.push(`AUTH ${advertisedMechanisms(s.backend, s.conn).join(' ')}`);
  ext.push('HELP');
  s.send(reply(250, null, hello, ...ext));
  s.conn.trace.state('greeted');
}

export const helo: SmtpCommand = {
  verb: 'HELO',
  help: 'HELO <your-host> - say hello (RFC 5321 4.1.1.1)',
  run: (s, args) => greet(s, 'HELO', args),
};

export const ehlo: SmtpCommand = {
  verb: 'EHLO',
  help: 'EHLO <your-host> - say hello and list the extensions (RFC 5321 4.1.1.1)',
  run: (s, args) => greet(s, 'EHLO', args),
};
