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
 *   the extensions with rules of their own (variables, encoded-character, date, vacation).
 */

export { CompiledScript, compile, defaultSieveLimits, formatDiagnostic } from './compile.js';
export { SUPPORTED_EXTENSIONS } from './extensions.js';
export { run } from './interpret.js';
export * from './types.js';
