/**
 * The command table: name → spec (name, states, grammar, handler), and the parser bound to it. Adding a
 * command is a new file plus one line here.
 */

import { type CommandOutcome, type ParseOptions, parseOrThrowWith, parseWith } from '../wire/commands.js';
import type { AssembledCommand } from '../wire/framing.js';
import { capability, id, logout, noop } from './any.js';
import { append } from './append.js';
import { authenticate, login, starttls } from './auth.js';
import { compress } from './compress.js';
import { copy, move } from './copy.js';
import { create } from './create.js';
import { del } from './delete.js';
import { enable } from './enable.js';
import { check, expunge } from './expunge.js';
import { fetch } from './fetch.js';
import { idle } from './idle.js';
import { list as listCommand, lsub } from './list.js';
import { namespace } from './namespace.js';
import { getquota, getquotaroot, setquota } from './quota.js';
import { rename } from './rename.js';
import { search } from './search.js';
import { close, examine, select, unselect } from './select.js';
import { sort } from './sort.js';
import { status } from './status.js';
import { store } from './store.js';
import { subscribe, unsubscribe } from './subscribe.js';
import { thread } from './thread.js';
import type { ImapCommandSpec } from './types.js';

const SPECS = [
  capability,
  noop,
  logout,
  starttls,
  namespace,
  idle,
  check,
  close,
  unselect,
  id,
  compress,
  authenticate,
  login,
  enable,
  select,
  examine,
  create,
  del,
  rename,
  subscribe,
  unsubscribe,
  listCommand,
  lsub,
  status,
  append,
  getquota,
  getquotaroot,
  setquota,
  expunge,
  search,
  fetch,
  store,
  copy,
  move,
  sort,
  thread,
] as const;

/** Every command as its typed value: the union of what the grammars return, told apart by `name`. */
export type ImapCommand = ReturnType<(typeof SPECS)[number]['parse']>;

export type ImapCommandName = ImapCommand['name'];

// biome-ignore lint/suspicious/noExplicitAny: each spec is typed by its own command; the table erases that.
export const COMMANDS: ReadonlyMap<string, ImapCommandSpec<any>> = new Map(SPECS.map((c) => [c.name, c]));

/** Every command name the parser knows (for CAPABILITY-independent checks and tests). */
export const COMMAND_NAMES: ImapCommandName[] = SPECS.map((c) => c.name);

export type ParseOutcome = CommandOutcome<ImapCommand>;

/** Parses one assembled command. Never throws. */
export function parseCommand(input: AssembledCommand | Buffer, opts: ParseOptions): ParseOutcome {
  return parseWith<ImapCommand>(COMMANDS, input, opts);
}

/** Parses one assembled command; throws ImapSyntaxError (or UnknownCommandError). */
export function parseCommandOrThrow(
  input: AssembledCommand | Buffer,
  opts: ParseOptions,
): { tag: string; command: ImapCommand } {
  return parseOrThrowWith<ImapCommand>(COMMANDS, input, opts);
}
