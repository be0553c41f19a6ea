/** Not-authenticated state: STARTTLS (RFC 9051 §6.2.1), AUTHENTICATE (§6.2.2, SASL-IR RFC 4959), LOGIN (§6.2.3). */
import { createMechanism } from '../../auth/sasl.js';
import { type LoginClient, type LoginResult, throttledText } from '../../auth/service.js';
import type { Account } from '../../store/types.js';
import type { ImapSession } from '../session.js';
import { decodeBase64, type ParseContext } from '../wire/commands.js';
import { noArgs, SP } from './grammar.js';
import { command, NOT_AUTHED } from './types.js';

export const starttls = command({
  name: 'STARTTLS',
  parse: noArgs('STARTTLS'),
  states: NOT_AUTHED,
  async run(s, tag) {
    const ctx = s.settings.tlsContext;
    if (!ctx) return s.no(tag, 'TLS is not available on this server');
    if (s.conn.secure) return s.bad(tag, 'TLS is already active');
    s.ok(tag, 'Begin TLS negotiation now');
    try {
      await s.conn.startTls(ctx());
    } catch {
      s.state = 'logout';
      return;
    }
    s.conn.trace.state('tls');
  },
});

export const login = command({
  name: 'LOGIN',
  parse: parseLogin,
  states: NOT_AUTHED,
  async run(s, tag, cmd) {
    if (!s.backend.auth.plaintextAllowed(s.conn)) {
      return s.no(
        tag,
        'Plaintext login is disabled on this connection; use STARTTLS first (or port 993)',
        'PRIVACYREQUIRED',
      );
    }
    const result = await s.backend.auth.login(client(s), cmd.username, cmd.password);
    s.conn.trace.auth(cmd.username, result.ok, 'LOGIN');
    await finishLogin(s, tag, result, 'LOGIN');
  },
});

export const authenticate = command({
  name: 'AUTHENTICATE',
  parse: parseAuthenticate,
  states: NOT_AUTHED,
  async run(s, tag, cmd) {
    const mech = createMechanism(cmd.mechanism);
    if (!mech) return s.no(tag, `Unsupported authentication mechanism ${cmd.mechanism}; use PLAIN or LOGIN`, 'CANNOT');
    if (!s.backend.auth.plaintextAllowed(s.conn)) {
      return s.no(
        tag,
        `${mech.name} needs an encrypted connection; use STARTTLS first (or port 993)`,
        'PRIVACYREQUIRED',
      );
    }
    const initial =
      cmd.initialResponse === null ? null : cmd.initialResponse.length ? cmd.initialResponse.toString('base64') : '=';
    let step = mech.start(initial);
    while (step.kind === 'challenge') {
      s.conn.writeLine(`+ ${step.data}`);
      const input = await s.conn.readLine(8192);
      if (input.kind === 'eof' || input.kind === 'timeout') {
        s.state = 'logout';
        return;
      }
      if (input.kind === 'too-long') return s.bad(tag, 'Authentication line too long');
      const text = input.line.toString('latin1');
      s.conn.trace.in(text === '*' ? '*' : '<redacted>');
      if (text === '*') return s.bad(tag, 'Authentication cancelled');
      step = mech.next(text);
    }
    if (step.kind === 'error') return s.bad(tag, `Cannot decode the response: ${step.message}`);
    const result = await s.backend.auth.login(client(s), step.username, step.password);
    s.conn.trace.auth(step.username, result.ok, mech.name);
    await finishLogin(s, tag, result, 'AUTHENTICATE');
  },
});

function client(s: ImapSession): LoginClient {
  return { remoteAddress: s.conn.remoteAddress, protocol: 'imap' };
}

async function finishLogin(s: ImapSession, tag: string, result: LoginResult<Account>, verb: string): Promise<void> {
  if (!result.ok) {
    s.authFailures++;
    if (result.reason === 'throttled') s.no(tag, throttledText(result.throttle), 'UNAVAILABLE');
    else s.no(tag, 'Invalid login or password (the user name is the full address)', 'AUTHENTICATIONFAILED');
    if (s.authFailures >= s.settings.maxAuthFailures) {
      s.untagged('BYE Too many failed logins');
      s.state = 'logout';
    }
    return;
  }
  const account = result.account;
  s.user = account;
  s.state = 'authenticated';
  s.conn.trace.state('authenticated');
  s.ok(tag, `${verb} completed; welcome ${account.address}`, { code: 'CAPABILITY', capabilities: s.capabilityList() });
}

/** RFC 9051 §6.2.3: the user name and password, as text. */
export interface LoginCommand {
  name: 'LOGIN';
  username: string;
  password: string;
}

/** RFC 9051 §6.2.2: the SASL mechanism, and the initial response (RFC 4959 SASL-IR) decoded, if sent. */
export interface AuthenticateCommand {
  name: 'AUTHENTICATE';
  mechanism: string;
  initialResponse: Buffer | null;
}

/** RFC 9051 §6.2.3: `login = "LOGIN" SP userid SP password`, both astrings. */
function parseLogin({ r }: ParseContext): LoginCommand {
  r.sp('after LOGIN');
  const username = r.astringText('the user name');
  r.sp('after the user name');
  const password = r.astringText('the password');
  return { name: 'LOGIN', username, password };
}

/**
 * RFC 9051 §6.2.2 and RFC 4959 §3 (SASL-IR): `authenticate = "AUTHENTICATE" SP auth-type
 * [SP initial-resp]`; `initial-resp = (base64 / "=")`, where "=" is an empty initial response.
 */
function parseAuthenticate({ r }: ParseContext): AuthenticateCommand {
  r.sp('after AUTHENTICATE');
  const mechanism = r.keyword('a SASL mechanism name');
  let initialResponse: Buffer | null = null;
  if (r.trySp()) {
    const at = r.pos;
    const start = r.pos;
    while (!r.atEnd && r.peek() !== SP) r.pos++;
    const text = r.data.toString('latin1', start, r.pos);
    if (text === '=') initialResponse = Buffer.alloc(0);
    else {
      const decoded = text === '' ? null : decodeBase64(text);
      if (!decoded) r.fail('the initial response is not valid base64 (use "=" for an empty one)', at);
      initialResponse = decoded;
    }
  }
  return { name: 'AUTHENTICATE', mechanism, initialResponse };
}
