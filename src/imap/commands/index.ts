/** The command table: name → spec. Adding a command is a new file plus one line here. */
import type { ImapCommand } from '../wire/commands.js';
import { capability, id, logout, noop } from './any.js';
import { authenticate, login, starttls } from './auth.js';
import { compress } from './compress.js';
import { enable } from './enable.js';
import { idle } from './idle.js';
import { namespace } from './namespace.js';
import { close, examine, select, unselect } from './select.js';
import type { ImapCommandSpec } from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: each spec is typed by its own command; the table erases that.
const list: ImapCommandSpec<any>[] = [
  capability,
  noop,
  logout,
  id,
  starttls,
  login,
  authenticate,
  enable,
  namespace,
  idle,
  select,
  examine,
  unselect,
  close,
  compress,
];

export const COMMANDS: ReadonlyMap<ImapCommand['name'], ImapCommandSpec> = new Map(list.map((c) => [c.name, c]));
