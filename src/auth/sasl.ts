/**
 * SASL mechanisms shared by SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE
 * (RFC 9051 §6.2.2): PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), SCRAM-SHA-256 and
 * SCRAM-SHA-256-PLUS (RFC 7677, scram.ts). The exchange that drives them (challenges, limits, base64,
 * cancel, authzid) is sasl-exchange.ts; engines only parse their command and map the outcome.
 *
 * Invariants:
 * - A mechanism sees decoded bytes and returns decoded bytes; base64 is the exchange's business.
 * - Identities and passwords are UTF-8 (RFC 4616 §2, RFC 5802 §5.1); invalid UTF-8 is a malformed
 *   response, not a wrong password.
 * - PLAIN and LOGIN hand the password to the exchange, which checks it with `SaslAuth.login`; SCRAM
 *   checks its proof itself, under `ScramAuth.guarded`. Both go through the shared login limiter.
 */

import type { ChannelBindingType } from '../net/channel-binding.js';
import type { Throttle } from './limiter.js';
import {
  CHANNEL_BINDING_TYPES,
  type ChannelBindingSource,
  parseClientFinal,
  parseClientFirst,
  plusAvailable,
  SCRAM_ITERATIONS,
  type ScramAuth,
  type ScramKeys,
  serverNonce,
  serverSignature,
  verifyProof,
} from './scram.js';
import type { LoginClient, LoginResult } from './service.js';

/** The mechanisms that carry a password (offered and accepted where plaintext logins are allowed). */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;

/** What the exchange needs from the credential checks; AuthService implements it. */
export interface SaslAuth<T> {
  /** Under the shared login limits (limiter.ts). */
  login(client: LoginClient, username: string, password: string): Promise<LoginResult<T>>;
  /** SCRAM-SHA-256 (RFC 7677); absent: SCRAM is neither offered nor accepted. */
  scram?: ScramAuth<T>;
}

/** A refused login, with an optional text that replaces the engine's usual one. */
export type SaslFailure =
  | { ok: false; reason: 'invalid'; text?: string }
  | { ok: false; reason: 'throttled'; throttle: Throttle; text?: string };

export type SaslStep<T> =
  | { kind: 'challenge'; data: Buffer }
  /** PLAIN/LOGIN: the exchange checks the authzid and the password. */
  | { kind: 'password'; authzid: string; username: string; password: string }
  /** SCRAM: the mechanism decided. */
  | { kind: 'done'; username: string; result: LoginResult<T> | SaslFailure }
  /** A malformed response (the engine's syntax error). */
  | { kind: 'error'; message: string };

export interface SaslMechanism<T> {
  readonly name: string;
  /** `initial` is the decoded initial response (empty for `=`), or null when none was sent. */
  start(initial: Buffer | null): SaslStep<T> | Promise<SaslStep<T>>;
  next(response: Buffer): SaslStep<T> | Promise<SaslStep<T>>;
}

/** Who is authenticating, where: what a mechanism may need besides the client's responses. */
export interface SaslContext<T> {
  auth: SaslAuth<T>;
  client: LoginClient;
  conn: ChannelBindingSource;
  /** Tests only: a fixed server nonce part for SCRAM. */
  scramNonce?: () => string;
}

/**
 * The mechanisms to advertise on this connection, in a fixed order (the password ones first, as
 * before SCRAM existed). The engines offer them only where plaintext logins are allowed.
 */
export function advertisedMechanisms(auth: SaslAuth<unknown>, conn: ChannelBindingSource): string[] {
  const list: string[] = [...SASL_MECHANISMS];
  if (auth.scram?.advertised()) {
    list.push('SCRAM-SHA-256');
    if (plusAvailable(conn)) list.push('SCRAM-SHA-256-PLUS');
  }
  return list;
}

/**
 * The end of a refusal of an unknown mechanism: what to use instead on this connection, e.g.
 * `use PLAIN, LOGIN or SCRAM-SHA-256`.
 */
export function mechanismHint(auth: SaslAuth<unknown>, conn: ChannelBindingSource): string {
  const list = advertisedMechanisms(auth, conn);
  return `use ${list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : list[0]}`;
}

/** The mechanism called `name` (any case), or null when it is not supported. */
export function createMechanism<T>(name: string, ctx: SaslContext<T>): SaslMechanism<T> | null {
  switch (name.toUpperCase()) {
    case 'PLAIN':
      return new Plain<T>();
    case 'LOGIN':
      return new Login<T>();
    case 'SCRAM-SHA-256':
      return ctx.auth.scram ? new Scram(false, ctx, ctx.auth.scram) : null;
    case 'SCRAM-SHA-256-PLUS':
      return ctx.auth.scram ? new Scram(true, ctx, ctx.auth.scram) : null;
    default:
      return null;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 (RFC 4616 §2), or null. */
export function utf8(data: Buffer): string | null {
  try {
    return UTF8.decode(data);
  } catch {
    return null;
  }
}

const NOT_UTF8 = { kind: 'error', message: 'the response is not valid UTF-8' } as const;

/**
 * RFC 4422 §3.4.2 without proxy authorization: the authorization identity must be empty or name the
 * authentication identity itself (compared without regard to case, as addresses are). Null when it is
 * allowed, else the failure to answer with.
 */
export function authzidRefusal(authzid: string, username: string): SaslFailure | null {
  if (authzid === '' || authzid.toLowerCase() === username.toLowerCase()) return null;
  return {
    ok: false,
    reason: 'invalid',
    text: 'Logging in as another user (authorization identity) is not supported',
  };
}

class Plain<T> implements SaslMechanism<T> {
  readonly name = 'PLAIN';
  start(initial: Buffer | null): SaslStep<T> {
    return initial === null ? { kind: 'challenge', data: Buffer.alloc(0) } : this.next(initial);
  }
  next(response: Buffer): SaslStep<T> {
    const text = utf8(response);
    if (text === null) return NOT_UTF8;
    // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
    const parts = text.split('\0');
    if (parts.length !== 3 || !parts[1])
      return { kind: 'error', message: 'PLAIN expects base64 of authzid NUL username NUL password' };
    return { kind: 'password', authzid: parts[0], username: parts[1], password: parts[2] };
  }
}

class Login<T> implements SaslMechanism<T> {
  readonly name = 'LOGIN';
  #username: string | null = null;
  start(initial: Buffer | null): SaslStep<T> {
    if (initial === null) return { kind: 'challenge', data: Buffer.from('Username:') };
    return this.next(initial);
  }
  next(response: Buffer): SaslStep<T> {
    const text = utf8(response);
    if (text === null) return NOT_UTF8;
    if (this.#username === null) {
      this.#username = text;
      return { kind: 'challenge', data: Buffer.from('Password:') };
    }
    return { kind: 'password', authzid: '', username: this.#username, password: text };
  }
}

type ScramState<T> =
  | { stage: 'first' }
  | {
      stage: 'final';
      username: string;
      address: string;
      gs2Header: string;
      bindingData: Buffer;
      nonce: string;
      authPrefix: string;
      keys: ScramKeys | null;
      account: T | null;
    }
  | { stage: 'ack'; username: string; result: LoginResult<T> }
  | { stage: 'over' };

/** RFC 5802 §5 as a server, for SHA-256 (RFC 7677); `plus` is SCRAM-SHA-256-PLUS (channel binding). */
class Scram<T> implements SaslMechanism<T> {
  readonly name: string;
  #state: ScramState<T> = { stage: 'first' };

  constructor(
    private readonly plus: boolean,
    private readonly ctx: SaslContext<T>,
    private readonly scram: ScramAuth<T>,
  ) {
    this.name = plus ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256';
  }

  start(initial: Buffer | null): Promise<SaslStep<T>> | SaslStep<T> {
    // RFC 5802 §5: the client speaks first; an empty challenge asks for its first message.
    return initial === null ? { kind: 'challenge', data: Buffer.alloc(0) } : this.next(initial);
  }

  async next(response: Buffer): Promise<SaslStep<T>> {
    const state = this.#state;
    switch (state.stage) {
      case 'first':
        return this.#first(response);
      case 'final':
        return this.#final(response, state);
      case 'ack':
        // RFC 4954 §4, RFC 5034 §4, RFC 9051 §6.2.2: the server-final message went as a challenge; the
        // client answers it with an empty response.
        this.#state = { stage: 'over' };
        if (response.length !== 0) return { kind: 'error', message: 'expected an empty response after v=' };
        return { kind: 'done', username: state.username, result: state.result };
      case 'over':
        return { kind: 'error', message: 'the SCRAM exchange is over' };
    }
  }

  async #first(response: Buffer): Promise<SaslStep<T>> {
    const text = utf8(response);
    if (text === null) return NOT_UTF8;
    const first = parseClientFirst(text);
    if (typeof first === 'string') return { kind: 'error', message: first };
    const refuse = (why: string): SaslStep<T> => ({
      kind: 'done',
      username: first.username,
      result: { ok: false, reason: 'invalid', text: why },
    });
    // RFC 5802 §6: the channel binding flag must agree with the mechanism and with what we offer.
    let bindingData: Buffer = Buffer.alloc(0);
    if (this.plus) {
      if (first.cbind.flag !== 'p') return refuse('SCRAM-SHA-256-PLUS needs channel binding (p=tls-exporter)');
      const type = first.cbind.type;
      const data = isBindingType(type) && this.ctx.conn.secure ? this.ctx.conn.channelBinding(type) : null;
      if (!data) return refuse(`Channel binding ${type.slice(0, 30)} is not available on this connection`);
      bindingData = data;
    } else if (first.cbind.flag === 'p') {
      return { kind: 'error', message: 'channel binding (p=) needs SCRAM-SHA-256-PLUS' };
    } else if (first.cbind.flag === 'y' && plusAvailable(this.ctx.conn)) {
      return refuse('Channel binding is available on this connection; use SCRAM-SHA-256-PLUS');
    }
    const authz = authzidRefusal(first.authzid, first.username);
    if (authz) return { kind: 'done', username: first.username, result: authz };
    const creds = await this.scram.credentials(first.username);
    const salt = creds.keys?.salt ?? this.scram.decoySalt(creds.address);
    const iterations = creds.keys?.iterations ?? SCRAM_ITERATIONS;
    const nonce = first.nonce + (this.ctx.scramNonce ?? serverNonce)();
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
    this.#state = {
      stage: 'final',
      username: first.username,
      address: creds.address,
      gs2Header: first.gs2Header,
      bindingData,
      nonce,
      authPrefix: `${first.bare},${serverFirst},`,
      keys: creds.keys,
      account: creds.keys ? creds.account : null,
    };
    return { kind: 'challenge', data: Buffer.from(serverFirst) };
  }

  async #final(response: Buffer, state: Extract<ScramState<T>, { stage: 'final' }>): Promise<SaslStep<T>> {
    this.#state = { stage: 'over' };
    const text = utf8(response);
    if (text === null) return NOT_UTF8;
    const final = parseClientFinal(text);
    if (typeof final === 'string') return { kind: 'error', message: final };
    if (final.nonce !== state.nonce) return { kind: 'error', message: 'the SCRAM nonce does not match' };
    const expected = Buffer.concat([Buffer.from(state.gs2Header), state.bindingData]);
    if (!final.channelBinding.equals(expected)) {
      return {
        kind: 'done',
        username: state.username,
        result: { ok: false, reason: 'invalid', text: 'The channel binding does not match this connection' },
      };
    }
    const authMessage = state.authPrefix + final.withoutProof;
    const { keys, account } = state;
    const result = await this.scram.guarded(this.ctx.client, state.address, async () =>
      keys && account !== null && verifyProof(keys, authMessage, final.proof) ? account : null,
    );
    if (!result.ok || !keys) return { kind: 'done', username: state.username, result };
    this.#state = { stage: 'ack', username: state.username, result };
    return { kind: 'challenge', data: Buffer.from(`v=${serverSignature(keys, authMessage).toString('base64')}`) };
  }
}

function isBindingType(type: string): type is ChannelBindingType {
  return (CHANNEL_BINDING_TYPES as readonly string[]).includes(type);
}
