/**
 * Structured logs: JSON lines (pino) on stdout, or readable lines when stdout is a terminal.
 * One line per session summary, one per error with its context. Never log secrets.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY;
  if (!pretty) return pino({ level, base: { name: 'postbode' } });
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that drops everything (tests, CLI commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
