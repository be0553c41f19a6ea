/**
 * The Sieve layer (RFC 5228 and the extensions in extensions.ts): compile a script, run it for one
 * message. See types.ts for the contract.
 *
 * Invariants of this folder:
 * - Pure: it imports only src/mail and node built-ins; the world (time, other scripts, mailboxes,
 *   the duplicate memory) comes through `SieveContext`, so the same script and context give the
 *   same result.
 * - `compile` never throws and reports every error with its line and column; `run` throws only
 *   `SieveRuntimeError` (or what a context callback throws), and is bounded by `SieveLimits`.
 * - Layout: lexer.ts → parser.ts (syntax tree, ast.ts) → validate.ts (checked tree) → interpret.ts;
 *   match.ts holds comparators and match types, message.ts what tests read from the message, ext/
 *   the extensions with rules of their own (variables, encoded-character, date, vacation, the HTML
 *   text of body :text).
 *
 * Pigeonhole (Dovecot's Sieve, Debian's 0.5.19) is the reference: the differential corpus
 * (test/sieve-diff/) and hand probes compare our actions with its `sieve-test`. Where its answers are
 * what Dovecot users see we take them even when the RFC reads otherwise (`?` matches one octet;
 * addresses without SMTPUTF8; header and body text as Dovecot decodes it; dates as Dovecot parses
 * them; HTML as Dovecot turns it into text). Where Pigeonhole 0.5.19 has a bug that later versions
 * fixed or that no user can want, we follow the RFC:
 * - the string test's default comparator is i;ascii-casemap (0.5.19 used i;octet; fixed upstream);
 * - a :matches pattern is checked everywhere: 0.5.19 skips the literal text between a `?` and the
 *   next `*` when no `*` came before (so "a?b*" matches "axc" there, not here);
 * - date :index picks the field it names (0.5.19 always reads the first);
 * - `include` of a missing script or a loop fails at run time (0.5.19 compiles includes with the
 *   script, so it fails at compile time; RFC 6609 §3.2 allows both);
 * - `fileinto ""` is a compile error (0.5.19 accepts it and fails when storing);
 * - a NUL from `${unicode:0}` stays in the string (0.5.19 cuts the string there).
 */

export { CompiledScript, compile, defaultSieveLimits, formatDiagnostic } from './compile.js';
export { SUPPORTED_EXTENSIONS } from './extensions.js';
export { run } from './interpret.js';
export * from './types.js';
/** The address rules of redirect and vacation :from (an RFC 5322 mailbox, ASCII): for a :from that variables made. */
export { addressError, bareAddress } from './validate.js';
