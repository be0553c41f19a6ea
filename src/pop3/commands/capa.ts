/** CAPA (RFC 2449 §5): the capabilities, which depend on the state and on the connection. */
import { advertisedMechanisms } from '../../auth/sasl.js';
import type { Pop3Session } from '../session.js';
import { defineCommand, noArguments } from './types.js';

export const capa = defineCommand<null>({
  verb: 'CAPA',
  states: ['authorization', 'transaction'],
  parse: noArguments('CAPA'),
  run: (s) => s.sendLines('+OK Capability list follows', capabilities(s)),
});

export function capabilities(s: Pop3Session): string[] {
  const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER'];
  // RFC 2449 §5: capabilities of the AUTHORIZATION state are announced in both states (IANA's POP3
  // registry: USER, SASL and STLS are listed "both"), though their commands are valid only before login.
  if (s.plaintextAllowed) caps.push('USER', `SASL ${advertisedMechanisms(s.backend.auth, s.conn).join(' ')}`);
  if (s.settings.tlsContext && !s.conn.secure) caps.push('STLS'); // RFC 2595 §4
  if (s.settings.showVersion) caps.push(`IMPLEMENTATION postbode-${s.settings.version}`);
  return caps;
}
