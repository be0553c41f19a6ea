/**
 * The IMAP engine as the network layer sees it: a SessionHandler for the imap and imaps listeners.
 * See session.ts for the session invariants, commands/ for one file per command, selected.ts for the
 * selected-mailbox view, wire/ for the lexer, the dispatcher and the encoder.
 */
import type { Logger } from '../log.js';
import { busyText, type SessionHandler } from '../net/listener.js';
import { type ImapBackend, ImapSession, type ImapSettings } from './session.js';

export { AUTHENTICATED_CAPABILITIES } from './capabilities.js';
export type { ImapBackend, ImapSettings } from './session.js';

export function imapHandler(settings: ImapSettings, backend: ImapBackend, log: Logger): SessionHandler {
  return {
    protocol: 'imap',
    idleTimeoutMs: settings.idleTimeoutMs,
    busyReply: (reason) => `* BYE ${busyText(reason)}`,
    run: (conn) => new ImapSession(conn, settings, backend, log).run(),
  };
}
