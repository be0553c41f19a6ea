/** The command table: verb → command (commands/types.ts). Adding a command is a new file plus one line here. */
import { auth } from './auth.js';
import { bdat } from './bdat.js';
import { data } from './data.js';
import { ehlo, helo } from './helo.js';
import { makeHelp } from './help.js';
import { mail } from './mail.js';
import { rcpt } from './rcpt.js';
import { expn, noop, quit, rset, vrfy } from './simple.js';
import { starttls } from './starttls.js';
import type { SmtpCommand } from './types.js';

const list: SmtpCommand[] = [helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, starttls, auth];
list.push(makeHelp(() => list));

export const COMMANDS: ReadonlyMap<string, SmtpCommand> = new Map(list.map((c) => [c.verb, c]));
