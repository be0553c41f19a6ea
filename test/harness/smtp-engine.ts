/**
 * The SMTP engine alone on a real in-process listener (no server process, no store): the settings
 * such tests share, and a NetServer to listen on, for tests that give the engine their own backend.
 */
import pino from 'pino';
import { NetServer } from '../../src/net/listener.js';
import type { SmtpSettings } from '../../src/smtp/index.js';
import { TraceBus } from '../../src/trace/bus.js';

/** A listener's settings for an engine test; `overrides` set what the test is about. */
export function engineSettings(overrides: Partial<SmtpSettings> = {}): SmtpSettings {
  return {
    hostname: 'mx.example.test',
    product: 'postbode test',
    showVersion: false,
    strict: false,
    role: 'mx',
    maxMessageSize: 20000,
    maxRecipients: 5,
    maxLineLength: 4096,
    idleTimeoutMs: 30_000,
    maxErrors: 100,
    maxAuthFailures: 3,
    authOnMx: true,
    tlsContext: null,
    ...overrides,
  };
}

/** A NetServer without TLS, for listeners on 127.0.0.1 port 0. */
export function engineNetServer(): NetServer {
  return new NetServer({
    bus: new TraceBus(),
    log: pino({ level: 'silent' }),
    limits: { connectionsPerIp: 100, maxConnections: 100 },
    tlsContext: () => {
      throw new Error('no TLS in this test');
    },
  });
}
