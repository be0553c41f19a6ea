/**
 * Structured logs: JSON lines (pino) on stdout, or readable lines when stdout is a terminal.
 * One line per session summary, one per error with its context. Never log secrets.
 *
 * Invariants:
 * - Logging never blocks the event loop and never throws: lines go to a `LogSink` that writes to the
 *   file descriptor asynchronously (one write in flight at a time; lines logged meanwhile leave together
 *   in the next write). A line waits `COALESCE_MS` for the lines that follow it, counted from when it
 *   was logged or from the end of the write before, whichever is later. A busy server logs a few
 *   lines per connection: a write per line took ~8 % of the event loop in the one-message-per-connection
 *   benchmark (each write is a hand-off to the thread pool), a write per few milliseconds next to none.
 * - Memory is bounded: at most `maxBuffer` bytes (4 MiB) wait for the descriptor; lines beyond are
 *   dropped and counted.
 * - A failing descriptor (full disk, EPIPE when the reader went away, EIO) never blocks or crashes the
 *   process: lines are dropped and counted while it fails, a write is tried again a second later, and
 *   once one succeeds a `warn` line reports how many were dropped. `logStats()` serves `postbode status`.
 * - At exit, what is still buffered is written synchronously when the descriptor accepts it.
 */
import fs from 'node:fs';
import pino from 'pino';

export type Logger = pino.Logger;

/** What `postbode status` shows of the log. */
export interface LogStats {
  /** Lines dropped since the start (full buffer or failing writes). */
  dropped: number;
  /** The error of the last failed write while writes still fail (e.g. `ENOSPC`), else null. */
  failing: string | null;
  /** Bytes waiting to be written. */
  buffered: number;
}

export interface LogSinkOptions {
  /** Bytes that may wait for the descriptor; lines beyond are dropped (default 4 MiB). */
  maxBuffer?: number;
  /** Milliseconds before writing again after a failed write (default 1000). */
  retryMs?: number;
  /** Called after a successful write that follows dropped lines (to log how many). */
  onRecovered?: (dropped: number, error: string | null) => void;
}

const NEWLINE = 0x0a;
/** How long a line waits for more before a write starts (see the header). */
export const COALESCE_MS = 5;

/** An asynchronous, bounded, never-throwing line writer on a file descriptor (see the header). */
export class LogSink {
  readonly #fd: number;
  readonly #maxBuffer: number;
  readonly #retryMs: number;
  onRecovered: ((dropped: number, error: string | null) => void) | undefined;
  #chunks: string[] = [];
  #bytes = 0;
  #inFlight: Buffer | null = null;
  #failing: string | null = null;
  #lastError: string | null = null;
  /** The error of the last write while no write has succeeded since. */
  #broken: string | null = null;
  #retry: NodeJS.Timeout | null = null;
  /** The wait of a first line for the lines that follow it (see the header). */
  #coalesce: NodeJS.Timeout | null = null;
  #droppedTotal = 0;
  #droppedSinceReport = 0;
  /** The last byte that reached the descriptor did not end a line (a write failed half-way). */
  #midLine = false;
  #flushWaiters: (() => void)[] = [];

  constructor(fd: number, opts: LogSinkOptions = {}) {
    this.#fd = fd;
    this.#maxBuffer = opts.maxBuffer ?? 4 * 1024 * 1024;
    this.#retryMs = opts.retryMs ?? 1000;
    this.onRecovered = opts.onRecovered;
    this.#midLine = endsMidLine(fd);
  }

  get stats(): LogStats {
    return { dropped: this.#droppedTotal, failing: this.#broken, buffered: this.#bytes };
  }

  /** pino's stream interface: one or more complete lines. Never throws, never blocks. */
  write(line: string): boolean {
    if (this.#failing !== null || this.#bytes + line.length > this.#maxBuffer) {
      this.#drop(Math.max(1, countLines(line)));
      return true;
    }
    this.#chunks.push(line);
    this.#bytes += line.length;
    if (this.#inFlight === null && this.#retry === null) this.#arm();
    return true;
  }

  /** Starts the wait for more lines (see the header) unless it runs. */
  #arm(): void {
    if (this.#coalesce !== null) return;
    this.#coalesce = setTimeout(this.#coalesced, COALESCE_MS);
    this.#coalesce.unref(); // at exit, flushSync writes what waits
  }

  #coalesced = (): void => {
    this.#coalesce = null;
    if (this.#inFlight === null && this.#retry === null) this.#writeNext();
  };

  /** Calls `cb` once everything buffered so far has been written (or dropped). */
  flush(cb: () => void = () => {}): void {
    if (this.#inFlight === null && this.#chunks.length === 0) {
      cb();
      return;
    }
    this.#flushWaiters.push(cb);
    if (this.#coalesce !== null) {
      clearTimeout(this.#coalesce);
      this.#coalesced();
    }
  }

  /** Writes what is buffered synchronously (at exit); gives up quietly when the descriptor refuses. */
  flushSync(): void {
    if (this.#coalesce !== null) {
      clearTimeout(this.#coalesce);
      this.#coalesce = null;
    }
    if (this.#failing !== null || this.#inFlight !== null || this.#chunks.length === 0) return;
    let buf = this.#take();
    for (let tries = 0; buf.length > 0 && tries < 100; tries++) {
      try {
        const written = fs.writeSync(this.#fd, buf);
        if (written > 0) this.#midLine = buf[written - 1] !== NEWLINE;
        buf = buf.subarray(written);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      }
    }
  }

  #take(): Buffer {
    const text = (this.#midLine ? '\n' : '') + this.#chunks.join('');
    this.#chunks = [];
    this.#bytes = 0;
    this.#midLine = false;
    return Buffer.from(text, 'utf8');
  }

  #drop(lines: number): void {
    this.#droppedTotal += lines;
    this.#droppedSinceReport += lines;
  }

  #writeNext(): void {
    if (this.#chunks.length === 0) {
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      for (const cb of waiters) cb();
      return;
    }
    this.#send(this.#take());
  }

  #send(buf: Buffer): void {
    this.#inFlight = buf;
    fs.write(this.#fd, buf, 0, buf.length, null, (err, written) => this.#done(buf, err, written));
  }

  #done(buf: Buffer, err: NodeJS.ErrnoException | null, written: number): void {
    if (err) {
      if (err.code === 'EAGAIN') {
        // A non-blocking pipe is full: try the same bytes again shortly; new lines wait (bounded).
        this.#later(() => this.#send(buf), 20);
        return;
      }
      this.#fail(buf, err.code ?? err.message);
      return;
    }
    if (written > 0) this.#midLine = buf[written - 1] !== NEWLINE;
    if (written < buf.length) {
      this.#send(buf.subarray(written));
      return;
    }
    this.#inFlight = null;
    this.#failing = null;
    this.#broken = null;
    if (this.#droppedSinceReport > 0 && this.onRecovered) {
      const dropped = this.#droppedSinceReport;
      this.#droppedSinceReport = 0;
      try {
        this.onRecovered(dropped, this.#lastError);
      } catch {
        // reporting must not break logging
      }
    }
    // Lines logged during the write wait for more too, unless someone waits for them.
    if (this.#chunks.length > 0 && this.#flushWaiters.length === 0) this.#arm();
    else this.#writeNext();
  }

  /** The write failed: drop it and everything buffered, drop new lines until a retry. */
  #fail(buf: Buffer, code: string): void {
    this.#inFlight = null;
    this.#failing = code;
    this.#lastError = code;
    this.#broken = code;
    // A failed write(2) wrote nothing; a short write before it set #midLine, so the next write that
    // succeeds starts on a new line.
    this.#drop(countLines(buf) + this.#chunks.reduce((n, c) => n + countLines(c), 0));
    this.#chunks = [];
    this.#bytes = 0;
    this.#later(() => {
      // Accept lines again; the next one tries the descriptor (and fails again quietly if it must).
      this.#failing = null;
      this.#writeNext();
    }, this.#retryMs);
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const cb of waiters) cb();
  }

  #later(fn: () => void, ms: number): void {
    this.#retry = setTimeout(() => {
      this.#retry = null;
      fn();
    }, ms);
    this.#retry.unref();
  }
}

/**
 * Whether the regular file behind `fd` ends inside a line: an earlier process was stopped while the
 * disk was full, half-way through a line. The first line written then starts on a line of its own
 * instead of being glued to the broken one. Pipes, terminals and unreadable files: false.
 */
function endsMidLine(fd: number): boolean {
  let reader: number | null = null;
  try {
    const size = fs.fstatSync(fd);
    if (!size.isFile() || size.size === 0) return false;
    // The descriptor may be write-only (a shell's `>`); Linux opens the same file again for reading.
    reader = fs.openSync(`/proc/self/fd/${fd}`, 'r');
    const last = Buffer.alloc(1);
    return fs.readSync(reader, last, 0, 1, size.size - 1) === 1 && last[0] !== NEWLINE;
  } catch {
    return false;
  } finally {
    if (reader !== null) fs.closeSync(reader);
  }
}

/** Complete lines in `data` (pino hands over whole lines, each ending in a newline). */
function countLines(data: string | Buffer): number {
  let n = 0;
  if (typeof data === 'string') {
    for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) n++;
  } else {
    for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, i + 1)) n++;
  }
  return n;
}

let current: LogSink | null = null;

/** The stats of the server's log (null when no logger writes to a descriptor, e.g. in CLI commands). */
export function logStats(): LogStats | null {
  return current?.stats ?? null;
}

export function createLogger(level: string, opts: { pretty?: boolean; fd?: number } = {}): Logger {
  const fd = opts.fd ?? 1;
  const pretty = opts.pretty ?? (fd === 1 && process.stdout.isTTY);
  const sink = new LogSink(fd);
  const log = pretty
    ? pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, sink)
    : pino({ level, base: { name: 'postbode' } }, sink);
  sink.onRecovered = (dropped, error) =>
    log.warn({ dropped, error }, `${dropped} log lines were dropped while the log could not be written`);
  current = sink;
  process.once('exit', () => sink.flushSync());
  return log;
}

/** A logger that drops everything (tests, CLI commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
