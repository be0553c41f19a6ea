/** A session row of the web lab's history (`LoggedSession`) for tests; `overrides` set what a test is about. */
import type { LoggedSession } from '../../src/store/types.js';

export function loggedSession(id: string, overrides: Partial<LoggedSession> = {}): LoggedSession {
  return {
    id,
    proto: 'smtp',
    listener: 'submission',
    localAddress: '127.0.0.1',
    localPort: 587,
    remoteAddress: '192.0.2.10',
    remotePort: 40000,
    user: null,
    tls: null,
    start: 1_000,
    end: null,
    state: 'connected',
    closeReason: null,
    events: 0,
    keyLogged: false,
    helo: null,
    mailFrom: null,
    ...overrides,
  };
}
