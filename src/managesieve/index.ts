/**
 * The ManageSieve engine (RFC 5804) as the network layer sees it: a SessionHandler for the managesieve
 * listener (port 4190). See session.ts for the session invariants, wire.ts for strings and literals,
 * commands/ for one file per command, backend.ts for what the engine needs from the rest of the server.
 */
import type { Logger } from '../log.js';
import { busyText, type SessionHandler } from '../net/listener.js';
import type { ManageSieveBackend } from './backend.js';
import { ManageSieveSession, type ManageSieveSettings } from './session.js';
import { response } from './wire.js';

export type { ManageSieveAuth, ManageSieveBackend, ManageSieveStore, ManageSieveUser } from './backend.js';
export type { ManageSieveSettings } from './session.js';

export function managesieveHandler(
  settings: ManageSieveSettings,
  backend: ManageSieveBackend,
  log: Logger,
): SessionHandler {
  return {
    protocol: 'managesieve',
    idleTimeoutMs: settings.idleTimeoutMs,
    busyReply: (reason) => response('BYE', 'TRYLATER', busyText(reason)),
    run: (conn) => new ManageSieveSession(conn, settings, backend, log).run(),
  };
}
