import type { ImapSession, ImapState } from '../session.js';
import type { ParseContext } from '../wire/commands.js';

/**
 * One IMAP command: its name, the states it is valid in, its grammar and its handler, which writes the
 * tagged response. `C` is the command's typed value (its arguments, with `name` and, for UID commands,
 * `uid`).
 */
export interface ImapCommandSpec<C extends { readonly name: string } = { readonly name: string }> {
  /** The command word, upper case (SELECT and EXAMINE, COPY and MOVE: one spec each, one type). */
  readonly name: C['name'];
  readonly states: readonly ImapState[];
  /**
   * The arguments after the command name (RFC 9051 §9), read from `ctx.r`; `uid` is true after the
   * `UID` prefix (src/imap/wire/commands.ts UID_COMMANDS). Throws ImapSyntaxError; the dispatcher
   * checks that the whole command was read.
   */
  parse(ctx: ParseContext, uid: boolean): C;
  run(session: ImapSession, tag: string, command: C): Promise<void> | void;
}

/** The untagged goodbye when the server shuts down (session loop and IDLE). */
export const SHUTDOWN_BYE = 'BYE Server shutting down';

export const ANY: readonly ImapState[] = ['not-authenticated', 'authenticated', 'selected'];
export const AUTHED: readonly ImapState[] = ['authenticated', 'selected'];
export const SELECTED: readonly ImapState[] = ['selected'];
export const NOT_AUTHED: readonly ImapState[] = ['not-authenticated'];

/** Helper so each file can declare its spec with the command's own type (taken from its `parse`). */
export function command<C extends { readonly name: string }>(spec: ImapCommandSpec<C>): ImapCommandSpec<C> {
  return spec;
}
