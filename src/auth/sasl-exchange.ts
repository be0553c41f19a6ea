/**
 * The SASL exchange (RFC 4422 §3), one for SMTP AUTH, POP3 AUTH and IMAP AUTHENTICATE (and later
 * ManageSieve): the engine parses its command, finds the mechanism (`createMechanism` in sasl.ts),
 * passes a small adapter (`SaslEngine`) and maps the `SaslOutcome` to its replies.
 *
 * The rules, the same for every protocol:
 * - A client response line may be `SASL_LINE_LIMIT` octets with its CRLF; a longer one ends the
 *   exchange (`too-long`).
 * - Responses are strict base64 (padded, RFC 4648 §4) after surrounding spaces are trimmed; an initial
 *   response `=` is an empty one (RFC 4954 §4, RFC 4959 §3, RFC 5034 §4).
 * - A response `*` cancels (RFC 4422 §3.5); each engine answers with its own text.
 * - The authorization identity must be empty or the authentication identity (`authzidRefusal`).
 * - Every client line of the exchange is traced as `<redacted>` (or `*`); the line after the command is
 *   the engines' business (their `afterAuth` flag).
 * - Credentials go through `SaslAuth.login` / `ScramAuth.guarded`: the shared login limiter.
 */
import type { ReadResult } from '../net/connection.js';
import { authzidRefusal, type SaslContext, type SaslFailure, type SaslMechanism, type SaslStep } from './sasl.js';
import type { ChannelBindingSource } from './scram.js';

/** One limit for a client response line, CRLF included (12 KiB: room for Kerberos-sized tokens). */
export const SASL_LINE_LIMIT = 12_288;

/** The connection as the exchange uses it: bounded reads, the trace, TLS channel binding. */
export interface SaslConnection extends ChannelBindingSource {
  readLine(maxLength: number): Promise<ReadResult>;
  readonly trace: { in(text: string): void };
}

/** The engine's side of an exchange (also the context `createMechanism` takes). */
export interface SaslEngine<T> extends SaslContext<T> {
  conn: SaslConnection;
  /** Sends a challenge (base64, possibly empty) in the engine's syntax: `334 <data>` or `+ <data>`. */
  challenge(base64: string): void;
}

export type SaslOutcome<T> =
  | { kind: 'success'; mechanism: string; username: string; account: T }
  | { kind: 'failure'; mechanism: string; username: string; failure: SaslFailure }
  /** The client sent `*`. */
  | { kind: 'cancelled' }
  /** A response was not base64 or not what the mechanism expects (the engine's syntax error). */
  | { kind: 'malformed'; message: string }
  /** A response line was longer than SASL_LINE_LIMIT. */
  | { kind: 'too-long' }
  /** The client left or timed out during the exchange. */
  | { kind: 'closed' };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A response as sent (base64, `=` for an empty initial response), decoded; null when not base64. */
export function decodeSaslResponse(text: string): Buffer | null {
  const t = text.trim();
  if (t === '=') return Buffer.alloc(0);
  return BASE64.test(t) ? Buffer.from(t, 'base64') : null;
}

const NOT_BASE64 = 'the response is not valid base64';

/**
 * Runs `mech` to its end. `initial` is the initial response: as sent (base64 or `=`), already decoded
 * (IMAP's parser decodes it), or null when the command had none.
 */
export async function runSaslExchange<T>(
  engine: SaslEngine<T>,
  mech: SaslMechanism<T>,
  initial: string | Buffer | null,
): Promise<SaslOutcome<T>> {
  let step: SaslStep<T>;
  if (initial === null) step = await mech.start(null);
  else {
    const data = typeof initial === 'string' ? decodeSaslResponse(initial) : initial;
    if (!data) return { kind: 'malformed', message: NOT_BASE64 };
    step = await mech.start(data);
  }
  while (step.kind === 'challenge') {
    engine.challenge(step.data.toString('base64'));
    const input = await engine.conn.readLine(SASL_LINE_LIMIT);
    if (input.kind === 'eof' || input.kind === 'timeout') return { kind: 'closed' };
    if (input.kind === 'too-long') {
      engine.conn.trace.in('<redacted: line too long>');
      return { kind: 'too-long' };
    }
    const text = input.line.toString('latin1').trim();
    engine.conn.trace.in(text === '*' ? '*' : '<redacted>');
    if (text === '*') return { kind: 'cancelled' };
    const data = decodeSaslResponse(text);
    if (!data) return { kind: 'malformed', message: NOT_BASE64 };
    step = await mech.next(data);
  }
  switch (step.kind) {
    case 'error':
      return { kind: 'malformed', message: step.message };
    case 'done':
      return step.result.ok
        ? { kind: 'success', mechanism: mech.name, username: step.username, account: step.result.account }
        : { kind: 'failure', mechanism: mech.name, username: step.username, failure: step.result };
    case 'password': {
      const refusal = authzidRefusal(step.authzid, step.username);
      if (refusal) return { kind: 'failure', mechanism: mech.name, username: step.username, failure: refusal };
      const result = await engine.auth.login(engine.client, step.username, step.password);
      return result.ok
        ? { kind: 'success', mechanism: mech.name, username: step.username, account: result.account }
        : { kind: 'failure', mechanism: mech.name, username: step.username, failure: result };
    }
  }
}
