/**
 * The result of a command's grammar, shared by the line-based engines (POP3 and SMTP
 * `commands/types.ts`): the typed arguments, or the error the engine answers (POP3: the text of a
 * `-ERR`; SMTP: a whole reply, since its syntax errors differ in code and enhanced code).
 *
 * Invariant: parsing is pure. It reads the argument text (and, in SMTP, the listener's mode and limits),
 * never the session, so a command's grammar can be tested and fuzzed alone.
 */

export type Parsed<A, E> = { ok: true; args: A } | { ok: false; error: E };

export const ok = <A>(args: A): { ok: true; args: A } => ({ ok: true, args });

export const failed = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });
