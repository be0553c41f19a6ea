/** The command table: name → command. Adding a command is a new file plus one line here. */
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { checkscript } from './checkscript.js';
import { deletescript } from './deletescript.js';
import { getscript } from './getscript.js';
import { havespace } from './havespace.js';
import { listscripts } from './listscripts.js';
import { logout } from './logout.js';
import { noop } from './noop.js';
import { putscript } from './putscript.js';
import { renamescript } from './renamescript.js';
import { setactive } from './setactive.js';
import { starttls } from './starttls.js';
import type { ManageSieveCommand } from './types.js';
import { unauthenticate } from './unauthenticate.js';

const all: ManageSieveCommand[] = [
  capability,
  starttls,
  authenticate,
  logout,
  noop,
  unauthenticate,
  havespace,
  putscript,
  listscripts,
  setactive,
  getscript,
  deletescript,
  renamescript,
  checkscript,
];

export const COMMANDS: ReadonlyMap<string, ManageSieveCommand> = new Map(all.map((c) => [c.name, c]));
