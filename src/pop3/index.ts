/**
 * The POP3 engine as the network layer sees it: a SessionHandler for the pop3 and pop3s listeners.
 * See session.ts for the session invariants, commands/ for one file per command, backend.ts for what
 * the engine needs from the rest of the server, maildrop.ts for the locked INBOX snapshot.
 */
import type { Logger } from '../log.js';
import { busyText, type SessionHandler } from '../net/listener.js';
import type { Pop3Backend } from './backend.js';
import { Pop3Session, type Pop3Settings } from './session.js';
import { err } from './wire.js';

export type {
  Maildrop,
  MaildropMessage,
  MaildropOpening,
  Pop3Auth,
  Pop3Backend,
  Pop3Store,
  Pop3User,
} from './backend.js';
export { openMaildrop } from './maildrop.js';
export type { Pop3Settings } from './session.js';
export { uidl } from './wire.js';

export function pop3Handler(settings: Pop3Settings, backend: Pop3Backend, log: Logger): SessionHandler {
  return {
    protocol: 'pop3',
    idleTimeoutMs: settings.idleTimeoutMs,
    busyReply: (reason) => err(busyText(reason), 'SYS/TEMP'),
    run: (conn) => new Pop3Session(conn, settings, backend, log).run(),
  };
}
