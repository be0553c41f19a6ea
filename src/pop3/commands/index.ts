/** The command table: keyword → command. Adding a command is a new file plus one line here. */
import { apop } from './apop.js';
import { auth } from './auth.js';
import { capa } from './capa.js';
import { dele } from './dele.js';
import { list } from './list.js';
import { noop } from './noop.js';
import { pass } from './pass.js';
import { quit } from './quit.js';
import { retr } from './retr.js';
import { rset } from './rset.js';
import { stat } from './stat.js';
import { stls } from './stls.js';
import { top } from './top.js';
import type { Pop3Command } from './types.js';
import { uidl } from './uidl.js';
import { user } from './user.js';

const all: Pop3Command[] = [user, pass, apop, auth, stls, capa, stat, list, retr, top, dele, rset, noop, uidl, quit];

export const COMMANDS: ReadonlyMap<string, Pop3Command> = new Map(all.map((c) => [c.verb, c]));
