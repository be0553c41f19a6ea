/** Not-authenticated state: STARTTLS (RFC 9051 §6.2.1), AUTHENTICATE (§6.2.2, SASL-IR RFC 4959), LOGIN (§6.2.3). */
import { createMechanism, mechanismHint, type SaslFailure } from '../../auth/sasl.js';
import { runSaslExchange, type SaslEngine } from '../../auth/sasl-exchange.js';
import { type LoginClient, throttledText } from '../../auth/service.js';
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
    const sasl: SaslEngine<Account> = {
      auth: s.backend.auth,
      client: client(s),
      conn: s.conn,
      challenge: (data) => s.conn.writeLine(`+ ${data}`),
    };
    const mech = createMechanism(cmd.mechanism, sasl);
    if (!mech) {
      return s.no(
        tag,
        `Unsupported authentication mechanism ${cmd.mechanism}; ${mechanismHint(sasl.auth, sasl.conn)}`,
        'CANNOT',
      );
    }
    if (!s.backend.auth.plaintextAllowed(s.conn)) {
      return s.no(
        tag,
        `${mech.name} needs an encrypted connection; use STARTTLS first (or port 993)`,
        'PRIVACYREQUIRED',
      );
    }
    const outcome = await runSaslExchange(sasl, mech, cmd.initialResponse);
    switch (outcome.kind) {
      case 'closed':
        s.state = 'logout';
        return;
      case 'too-long':
        return s.bad(tag, 'Authentication line too long');
      case 'cancelled':
        return s.bad(tag, 'Authentication cancelled');
      case 'malformed':
        return s.bad(tag, `Cannot decode the response: ${outcome.message}`);
    }
    const result = outcome.kind === 'success' ? { ok: true as const, account: outcome.account } : outcome.failure;
    s.conn.trace.auth(outcome.username, result.ok, outcome.mechanism);
    await finishLogin(s, tag, result, 'AUTHENTICATE');
  },
});

function client(s: ImapSession): LoginClient {
  return { remoteAddress: s.conn.remoteAddress, protocol: 'imap' };
}

async function finishLogin(
  s: ImapSession,
  tag: string,
  result: { ok: true; account: Account } | SaslFailure,
  verb: string,
): Promise<void> {
  if (!result.ok) {
    s.authFailures++;
    if (result.reason === 'throttled') s.no(tag, throttledText(result.throttle), 'UNAVAILABLE');
    else
      s.no(tag, result.text ?? 'Invalid login or password (the user name is the full address)', 'AUTHENTICATIONFAILED');
    if (s.authFailures >= s.settings.maxAuthFailures) {
      s.untagged('BYE Too many failed logins');
      s.state = 'logout';
    }
    return;
  }
  const account = result.account;
  s.user = { id: account.id, address: account.address };
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
