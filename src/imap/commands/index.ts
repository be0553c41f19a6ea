/** The command table: name → spec. Adding a command is a new file plus one line here. */
import type { ImapCommand } from '../wire/commands.js';
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
  fetch,
  store,
  copy,
  move,
  expunge,
  check,
  append,
  search,
  sort,
  thread,
  listCommand,
  lsub,
  create,
  del,
  rename,
  subscribe,
  unsubscribe,
  status,
  getquota,
  getquotaroot,
  setquota,
];

export const COMMANDS: ReadonlyMap<ImapCommand['name'], ImapCommandSpec> = new Map(list.map((c) => [c.name, c]));
