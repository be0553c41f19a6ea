/**
 * The SMTP engine as the network layer sees it: a SessionHandler for one listener role.
 * See session.ts for the session invariants and commands/ for one file per command.
 */
import type { Logger } from '../log.js';
import { busyText, type SessionHandler } from '../net/listener.js';
import { formatReply, reply } from './reply.js';
import { type SmtpBackend, SmtpSession, type SmtpSettings } from './session.js';

export type { InboundVerdict, SmtpBackend, SmtpSettings } from './session.js';

export function smtpHandler(settings: SmtpSettings, backend: SmtpBackend, log: Logger): SessionHandler {
  return {
    protocol: 'smtp',
    idleTimeoutMs: settings.idleTimeoutMs,
    busyReply: (reason) => formatReply(reply(421, '4.7.0', `${settings.hostname} ${busyText(reason)}`))[0],
    run: (conn) => new SmtpSession(conn, settings, backend, log).run(),
  };
}
