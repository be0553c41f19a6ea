/** HELO and EHLO (RFC 5321 §4.1.1.1): identify the client; EHLO lists the extensions. */
import { advertisedMechanisms } from '../../auth/sasl.js';
import { reply } from '../reply.js';
import type { SmtpSession } from '../session.js';
import { ANY_STATE, defineCommand, type GrammarContext, ok, type Parsed, syntax } from './types.js';

/**
 * The client's name: the first word; only lab mode accepts none (''). Whatever follows the first word is
 * ignored (RFC 5321 §4.1.1.1 has only the domain).
 */
function parseGreeting(verb: 'HELO' | 'EHLO', args: string, { strict }: GrammarContext): Parsed<string> {
  const domain = args.trim().split(/\s+/)[0] ?? '';
  if (!domain && strict) return syntax(`Syntax: ${verb} hostname (say who you are, e.g. ${verb} client.example.org)`);
  return ok(domain);
}

function greet(s: SmtpSession, verb: 'HELO' | 'EHLO', domain: string): void {
  const ip = `[${s.conn.remoteAddress}]`;
  const note = domain ? '' : ` (lab mode: ${verb} without a name accepted; RFC 5321 wants "${verb} your.host.name")`;
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

// Allowed in every state: HELO/EHLO also starts over (RFC 5321 §4.1.4).
export const helo = defineCommand<string>({
  verb: 'HELO',
  help: 'HELO <your-host> - say hello (RFC 5321 4.1.1.1)',
  states: ANY_STATE,
  parse: (args, grammar) => parseGreeting('HELO', args, grammar),
  run: (s, domain) => greet(s, 'HELO', domain),
});

export const ehlo = defineCommand<string>({
  verb: 'EHLO',
  help: 'EHLO <your-host> - say hello and list the extensions (RFC 5321 4.1.1.1)',
  states: ANY_STATE,
  parse: (args, grammar) => parseGreeting('EHLO', args, grammar),
  run: (s, domain) => greet(s, 'EHLO', domain),
});
