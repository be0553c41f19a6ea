import type { CommandOf, ImapSession, ImapState } from '../session.js';
import type { ImapCommand } from '../wire/commands.js';

/** One IMAP command: the states it is valid in and its handler, which writes the tagged response. */
export interface ImapCommandSpec<N extends ImapCommand['name'] = ImapCommand['name']> {
  readonly name: N;
  readonly states: readonly ImapState[];
  run(session: ImapSession, tag: string, command: CommandOf<N>): Promise<void> | void;
}

export const ANY: readonly ImapState[] = ['not-authenticated', 'authenticated', 'selected'];
export const AUTHED: readonly ImapState[] = ['authenticated', 'selected'];
export const SELECTED: readonly ImapState[] = ['selected'];
export const NOT_AUTHED: readonly ImapState[] = ['not-authenticated'];

/** Helper so each file can declare its spec with the command's own type. */
export function command<N extends ImapCommand['name']>(spec: ImapCommandSpec<N>): ImapCommandSpec<N> {
  return spec;
}
