/**
 * The shape of an SMTP command, the same as POP3's (pop3/commands/types.ts): a verb, the states it is
 * allowed in, a grammar that parses the argument text into a typed value or the exact error reply, and
 * a handler that gets the typed value. The session (session.ts) runs the checks in the order the command
 * lists them, answers the first refusal, and only then runs the handler.
 */
import { failed, ok, type Parsed as ParsedAs } from '../../net/command.js';
import { R, type Reply } from '../reply.js';
import type { SmtpSession, SmtpSettings } from '../session.js';

/**
 * Where a session is (RFC 5321 §4.1.4, §3.3), derived from the session (`SmtpSession.state`):
 * - `connected`: no HELO/EHLO yet, or again after STARTTLS (RFC 3207 §4.2);
 * - `greeted`: after HELO/EHLO, no mail transaction;
 * - `mail`: after MAIL, no recipient accepted yet;
 * - `rcpt`: at least one recipient accepted;
 * - `chunking`: a BDAT chunk was taken (RFC 3030 §2): only BDAT, RSET and the commands allowed
 *   everywhere may follow.
 */
export type SmtpState = 'connected' | 'greeted' | 'mail' | 'rcpt' | 'chunking';

export const ANY_STATE: readonly SmtpState[] = ['connected', 'greeted', 'mail', 'rcpt', 'chunking'];

/**
 * The checks the session runs before a handler, each answering with its own reply:
 * - `state`: the session is in one of the command's `states`, else `outOfState(state)`;
 * - `parse`: the grammar accepts the arguments, else its error reply;
 * - `ehlo`: the client said EHLO, not HELO (503 5.5.1 "Send EHLO first"; RFC 4954 §4 for AUTH);
 * - `not-logged-in`: no successful AUTH yet (503 5.5.1 "Already authenticated"; RFC 4954 §4);
 * - `login-on-submission`: on the submission port, only after AUTH (530 5.7.0; RFC 6409 §4.3, RFC 4954 §6).
 */
export type Check = 'state' | 'parse' | 'ehlo' | 'not-logged-in' | 'login-on-submission';

/** What a grammar may depend on besides the argument text: the listener's mode and limits, EHLO or HELO. */
export interface GrammarContext {
  /** Strict mode (`smtp.strict`); otherwise lab mode tolerates hand-typed sessions. */
  readonly strict: boolean;
  /** The client said EHLO: ESMTP parameters are allowed (RFC 5321 §4.1.1.2, §4.1.1.3). */
  readonly esmtp: boolean;
  /** The SIZE limit announced in EHLO (RFC 1870). */
  readonly maxMessageSize: number;
}

/** What `parse` gives back: typed arguments, or the exact reply for the error (501 or 555, see net/command.ts). */
export type Parsed<A> = ParsedAs<A, Reply>;

export { ok };

/** A refusal with any reply (the SMTP grammar errors differ in code and enhanced code). */
export const refuse = (r: Reply): Parsed<never> => failed(r);

/** A syntax error: 501 5.5.4 with the given text. */
export const syntax = (text: string): Parsed<never> => failed(R.syntax(text));

/** For commands that ignore whatever follows the verb (RSET, NOOP, QUIT, EXPN: as they always have). */
export const ignoreArguments = (): Parsed<null> => ok(null);

/** One SMTP command as a spec: where it is allowed, how its arguments parse, what it does. */
export interface SmtpCommandSpec<A> {
  readonly verb: string;
  /** One-line description for HELP, with the RFC that defines it. */
  readonly help: string;
  /** States where the command is allowed. */
  readonly states: readonly SmtpState[];
  /** The reply in any other state (a 503 5.5.1 whose text says what to send first, or 554 for DATA). */
  outOfState?(state: SmtpState): Reply;
  /**
   * The checks in the order their replies take precedence when a command is wrong in several ways;
   * default `['state', 'parse']`. Must hold `state` and `parse` once each.
   */
  readonly checks?: readonly Check[];
  /** `args` is the text after the verb and its separator. */
  parse(args: string, grammar: GrammarContext): Parsed<A>;
  run(session: SmtpSession, args: A): Promise<void> | void;
}

/** A handler bound to its parsed arguments. */
export type Handler = (session: SmtpSession) => Promise<void> | void;

/** A command with its argument type hidden, as the command table holds it. */
export interface SmtpCommand {
  readonly verb: string;
  readonly help: string;
  readonly states: readonly SmtpState[];
  readonly checks: readonly Check[];
  outOfState(state: SmtpState): Reply;
  /** Parses; on success, the handler bound to the typed arguments. */
  parse(args: string, grammar: GrammarContext): Parsed<Handler>;
}

export function defineCommand<A>(spec: SmtpCommandSpec<A>): SmtpCommand {
  const checks = spec.checks ?? ['state', 'parse'];
  for (const needed of ['state', 'parse'] as const) {
    if (checks.filter((c) => c === needed).length !== 1) throw new Error(`${spec.verb}: checks need one '${needed}'`);
  }
  return {
    verb: spec.verb,
    help: spec.help,
    states: spec.states,
    checks,
    outOfState: (state) =>
      spec.outOfState ? spec.outOfState(state) : R.badSequence(`${spec.verb} is not allowed at this point`),
    parse(args, grammar) {
      const parsed = spec.parse(args, grammar);
      return parsed.ok ? ok((session: SmtpSession) => spec.run(session, parsed.args)) : parsed;
    },
  };
}

/** Where users send mail with a login, as replies name it (`submissionHint`, with its default). */
export function submissionHintOf(settings: SmtpSettings): string | null {
  return settings.submissionHint === undefined ? 'the submission port 587' : settings.submissionHint;
}
