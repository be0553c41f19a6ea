/**
 * One client connection, as the protocol engines see it: a pull-based reader of bounded lines, DATA
 * dot-streams and counted bytes, a coalescing writer, STARTTLS, an idle timeout, and the trace tap.
 *
 * Invariants:
 * - Memory is bounded: a line longer than the limit is discarded up to its end and reported as
 *   `too-long`; unread input beyond `maxBuffered` pauses the socket (backpressure). A line that does
 *   not end within `DISCARD_GIVE_UP` bytes is reported at once and input then ends (EOF).
 * - Backpressure the other way too: no read returns while the session's unsent output (socket buffer
 *   plus the DEFLATE stream) is above `maxUnsent`, so a client that sends commands and never reads the
 *   replies stalls itself, not the server; one that does not read for the idle timeout is dropped.
 * - COMPRESS=DEFLATE input is inflated in small steps (`INFLATE_STEP` compressed bytes at a time) and
 *   only while the session wants input, so a deflate bomb expands no further ahead of the session than
 *   one step (at most ~1 MB) plus `maxBuffered`. Input that expands more than `AMPLIFIED_RATIO` times
 *   is read at a paced rate of lines, since its replies, compressed as well, would escape `maxUnsent`.
 * - Time limits are not only silence: a command line must be complete within the idle timeout of its
 *   first byte, and DATA, BDAT chunks and literals must arrive at `minDataRate` bytes/s on average after
 *   an initial idle timeout's grace, so a client that trickles a byte every few seconds is cut off.
 * - Fairness: a session that finds many commands already buffered yields to the event loop every
 *   `LINES_PER_TURN` lines, or once it has kept the loop `TURN_MS` since it was woken, so one pipelining
 *   client cannot hold up the others; long commands (an IMAP FETCH of a whole mailbox) call `pace()`
 *   between their batches for the same reason.
 * - Replies written in one turn of the event loop leave in one TCP segment where possible (cork),
 *   and output is always flushed before the reader waits for input, so pipelined clients get all
 *   replies to a batch of commands at once.
 * - STARTTLS discards input buffered before the handshake (RFC 3207 §4.2 / RFC 2595 §3.1: plaintext
 *   pipelined behind STARTTLS must not be executed after the upgrade), and its handshake ends within
 *   the idle timeout, at most 30 s, as an implicit-TLS one: a client that stalls it is cut off.
 * - Every line out is reported to the trace; lines in are reported by the engine (it redacts secrets).
 * - Every payload byte is reported to the trace's wire channel when someone listens (the lab's pcap):
 *   input as it arrives (after TLS, after inflating COMPRESS), output as it is written (before
 *   deflating), so the capture shows the conversation in the order and chunks the wire carried it.
 */
import { once } from 'node:events';
import type net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import type { SessionTrace } from '../trace/bus.js';
import { type ChannelBindingType, channelBindingData } from './channel-binding.js';
import { type DotScanState, newDotScanState, scanDotData } from './dotstream.js';
import { KEYLOG_NOTE, type TlsKeyLog } from './keylog.js';
import { type BodySink, defaultSpool, type Spool } from './spool.js';

export type ReadResult =
  | { kind: 'line'; line: Buffer; ending: 'crlf' | 'lf' }
  | { kind: 'too-long' }
  | { kind: 'eof' }
  | { kind: 'timeout' };

export type DataResult =
  | { kind: 'data'; size: number; tooBig: boolean; bareLf: number }
  /** Past `giveUpBytes` without the end: the reader stopped (the session cannot go on). */
  | { kind: 'overflow'; size: number }
  | { kind: 'eof' }
  | { kind: 'timeout' };

/** What `readCommandLine` returns instead of a line once the server is shutting down. */
export type ShutdownResult = { kind: 'shutdown' };

export type BytesResult = { kind: 'bytes'; data: Buffer | null; size: number } | { kind: 'eof' } | { kind: 'timeout' };

export interface ConnectionInfo {
  id: string;
  listener: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

/** How long a STARTTLS/STLS handshake may take (as an implicit-TLS one, listener.ts). */
const STARTTLS_HANDSHAKE_MS = 30_000;
const EMPTY = Buffer.alloc(0);

/** Compressed bytes handed to the inflater at a time (deflate expands at most ~1032:1). */
const INFLATE_STEP = 1024;
/** Compressed input held before the socket is paused. */
const MAX_COMPRESSED_PENDING = 64 * 1024;
/** Lines returned from the buffer without waiting before the session yields to other connections. */
const LINES_PER_TURN = 128;
/**
 * How long a session may keep the event loop, since it was last woken or last yielded, before it
 * yields to the other connections (`pace()`). One `FETCH 1:* ENVELOPE` of 20,000 messages ran ~0.5 s
 * without a turn for anyone else, and pipelined ones back to back for tens of seconds.
 */
const TURN_MS = 10;
/**
 * COMPRESS input that has expanded more than this many times (past `AMPLIFIED_AFTER` inflated bytes)
 * makes the session "amplified": it then reads at most `AMPLIFIED_LINES` lines per `AMPLIFIED_PAUSE_MS`
 * (320 commands a second: a few milliseconds of CPU, however little the client sends or reads).
 */
const AMPLIFIED_RATIO = 100;
const AMPLIFIED_AFTER = 64 * 1024;
const AMPLIFIED_LINES = 32;
const AMPLIFIED_PAUSE_MS = 100;
/**
 * An over-long line is discarded up to its end, but not forever: past this many bytes (or 16 times the
 * line limit) the reader reports it and then reads no more (the session answers and ends).
 */
const DISCARD_GIVE_UP = 1 << 20;

/** Thrown by long-running work (e.g. a big SEARCH) that stops because its client went away. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

export class Connection {
  readonly id: string;
  readonly listener: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly trace: SessionTrace;
  /** TLS details once the connection is encrypted. */
  tlsInfo: { protocol: string; cipher: string } | null = null;
  bytesIn = 0;
  bytesOut = 0;

  #socket: net.Socket;
  #buf: Buffer = EMPTY;
  #pos = 0;
  /** Input that arrived after #buf, not yet joined to it. */
  #more: Buffer[] = [];
  #moreBytes = 0;
  #eof = false;
  #timedOut = false;
  #closed = false;
  /** The server is shutting down: `readCommandLine` answers `shutdown` instead of waiting (see there). */
  #shutdown = false;
  /** The socket is fully closed (not just half-closed by the client). */
  #socketClosed = false;
  #wake: (() => void) | null = null;
  #corked = false;
  #discarding = false;
  /** Bytes of the over-long line discarded so far. */
  #discarded = 0;
  /** Input is no longer read (an endless line): what arrives is dropped, reads see EOF. */
  #stopped = false;
  #maxBuffered: number;
  #maxUnsent: number;
  #minDataRate: number;
  #paused = false;
  #idleMs: number;
  /** When the line being received must be complete (0: no partial line seen yet). */
  #lineDeadline = 0;
  /** Lines returned without waiting for input since the session last yielded. */
  #turnLines = 0;
  /** When this session last got the event loop: woken by input, or back from a yield (`pace`). */
  #turnStart = performance.now();
  /** Compressed input not yet given to the inflater, and whether a step is being inflated. */
  #zPending: Buffer[] = [];
  #zBytes = 0;
  #zBusy = false;
  #zSocketPaused = false;
  /** Compressed bytes given to the inflater, and inflated bytes it produced from them, since COMPRESS. */
  #zIn = 0;
  #zInflated = 0;
  /** Lines read by an amplified session since its last pause (not reset by waits for input). */
  #amplifiedLines = 0;
  /** Set once COMPRESS=DEFLATE (RFC 4978) is active: output goes through it, input through #inflate. */
  #deflate: zlib.DeflateRaw | null = null;
  #inflate: zlib.InflateRaw | null = null;
  #keylog: TlsKeyLog | null;
  #spool: Spool;

  constructor(opts: {
    socket: net.Socket;
    info: ConnectionInfo;
    trace: SessionTrace;
    idleTimeoutMs: number;
    /** Unread input held before the socket is paused (default 256 KiB). */
    maxBuffered?: number;
    /** Unsent output above which the session stops reading (default 256 KiB). */
    maxUnsent?: number;
    /** Average bytes/s that DATA, chunks and literals must keep after the first idle timeout (default 500). */
    minDataRate?: number;
    /** Opt-in TLS key logging for STARTTLS (web lab). */
    keylog?: TlsKeyLog | undefined;
    /** Where message bodies wait (default: a temporary-directory spool). */
    spool?: Spool | undefined;
  }) {
    this.#socket = opts.socket;
    this.id = opts.info.id;
    this.listener = opts.info.listener;
    this.remoteAddress = opts.info.remoteAddress;
    this.remotePort = opts.info.remotePort;
    this.localAddress = opts.info.localAddress;
    this.localPort = opts.info.localPort;
    this.trace = opts.trace;
    this.#idleMs = opts.idleTimeoutMs;
    this.#maxBuffered = opts.maxBuffered ?? 256 * 1024;
    this.#maxUnsent = opts.maxUnsent ?? 256 * 1024;
    this.#minDataRate = opts.minDataRate ?? 500;
    this.#keylog = opts.keylog ?? null;
    this.#spool = opts.spool ?? defaultSpool();
    if (opts.socket instanceof tls.TLSSocket) this.#noteTls(opts.socket);
    this.#attach(opts.socket);
  }

  get secure(): boolean {
    return this.tlsInfo !== null;
  }

  /** TLS channel binding data of this connection (SCRAM-SHA-256-PLUS), or null without TLS or support. */
  channelBinding(type: ChannelBindingType): Buffer | null {
    return this.#socket instanceof tls.TLSSocket ? channelBindingData(this.#socket, type) : null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The client is gone: nothing more can be read or written. */
  get peerGone(): boolean {
    return this.#closed || this.#socketClosed;
  }

  /**
   * Asks the session to end at its next safe point (server shutdown): a `readCommandLine` waiting now or
   * called later returns `shutdown`, and the engine says goodbye in its protocol's words. Reads inside a
   * command (DATA, literals, SASL lines) are not interrupted, so a command in progress can finish.
   */
  requestShutdown(): void {
    this.#shutdown = true;
    this.#notify();
  }

  get shutdownRequested(): boolean {
    return this.#shutdown;
  }

  /** Changes the idle timeout (e.g. longer while a client is in IMAP IDLE). */
  setIdleTimeout(ms: number): void {
    this.#idleMs = ms;
    this.#socket.setTimeout(ms);
  }

  #attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.setTimeout(this.#idleMs);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
    socket.on('timeout', this.#onTimeout);
    socket.on('drain', this.#onDrain);
  }

  #detach(socket: net.Socket): void {
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onClose);
    socket.off('error', this.#onError);
    socket.off('timeout', this.#onTimeout);
    socket.off('drain', this.#onDrain);
  }

  #onData = (chunk: Buffer): void => {
    if (this.#stopped) return;
    this.bytesIn += chunk.length;
    this.trace.wire('in', chunk);
    if (this.#pos >= this.#buf.length && this.#more.length === 0) {
      this.#buf = chunk;
      this.#pos = 0;
    } else {
      // Joined when the reader comes back (#gather): one copy per read, not one per arriving chunk.
      this.#more.push(chunk);
      this.#moreBytes += chunk.length;
    }
    if (this.#buf.length - this.#pos + this.#moreBytes > this.#maxBuffered && !this.#paused) {
      this.#paused = true;
      // With COMPRESS the inflater is simply not fed (see #pumpInflate); otherwise stop the socket.
      if (!this.#inflate) this.#socket.pause();
    }
    this.#notify();
  };

  #onDrain = (): void => {
    this.#notify();
  };

  #onEnd = (): void => {
    this.#eof = true;
    this.#notify();
  };

  #onClose = (): void => {
    this.#socketClosed = true;
    this.#onEnd();
  };

  #onError = (): void => {
    // Resets and TLS errors end the session; the engine sees EOF.
    this.#eof = true;
    this.#closed = true;
    this.#notify();
  };

  #onTimeout = (): void => {
    this.#timedOut = true;
    this.#notify();
  };

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    if (wake) this.#turnStart = performance.now();
    wake?.();
  }

  /**
   * Yields to the other connections when this session has kept the event loop `TURN_MS` since it was
   * woken or last yielded (pending output is flushed first). Cheap when it does not yield: long
   * commands call it between their batches.
   */
  async pace(): Promise<void> {
    if (performance.now() - this.#turnStart >= TURN_MS) await this.#yieldTurn();
  }

  /** Sends what is pending and lets the other connections run once; a new turn starts after. */
  async #yieldTurn(): Promise<void> {
    this.flush();
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#turnStart = performance.now();
  }

  /**
   * Waits until more input, EOF or a timeout arrives. Flushes pending output first. Not `async`, as
   * `readLine` and `readCommandLine` are not: each suspended async function is a generator, a promise
   * and their closures that a session waiting for input (IMAP IDLE, for hours) holds all along.
   */
  #waitInput(): Promise<void> {
    this.#beforeWait();
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
  }

  /** What every wait for input does first: send pending output, and take input again if paused. */
  #beforeWait(): void {
    this.flush();
    this.#turnLines = 0;
    if (this.#paused) {
      this.#paused = false;
      if (this.#inflate) this.#pumpInflate();
      else this.#socket.resume();
    }
  }

  /**
   * Resolves once there is something to read, or a read would not wait: buffered input, the end of
   * input, an error, a timeout or a shutdown request. Reads nothing. For a session that waits for
   * hours (IMAP IDLE): while it waits, it holds this one promise and one callback, where an awaited
   * `readCommandLine` holds the chain of suspended async functions of every caller. Flushes pending
   * output first, as every wait for input does.
   */
  whenReadable(): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.hasBufferedInput || this.#eof || this.#closed || this.#timedOut || this.#shutdown) resolve();
        else this.#wake = check;
      };
      this.#beforeWait();
      check();
    });
  }

  /** The client's input has ended and nothing of it is still being inflated. */
  get #inputEnded(): boolean {
    return this.#eof && (this.#closed || (this.#zBytes === 0 && !this.#zBusy));
  }

  /** Bytes written by the session that the client has not taken yet. */
  get unsentBytes(): number {
    let n = this.#socket.writableLength;
    if (this.#deflate) n += this.#deflate.writableLength + this.#deflate.readableLength;
    return n;
  }

  /**
   * Whether the client has left far more of our output unread than a session may queue (four times
   * `maxUnsent`): for output the server sends unasked (IMAP IDLE), where no read can hold it back.
   */
  get outputStalled(): boolean {
    return this.unsentBytes > 4 * this.#maxUnsent;
  }

  /**
   * Called before a read hands out buffered input: while the client has not taken our earlier output,
   * wait (reading nothing) until it does. A client that takes nothing for the idle timeout is dropped.
   */
  async #throttle(): Promise<void> {
    if (this.#amplified && ++this.#amplifiedLines >= AMPLIFIED_LINES) {
      // Compressed input that expands like a bomb: its output may also compress ~1000:1, so the
      // unsent-output check (which sees compressed bytes in userland, not the kernel's buffers) would
      // let one client that never reads keep the session busy for gigabytes of replies. Pace it instead.
      this.#amplifiedLines = 0;
      this.flush();
      await new Promise<void>((resolve) => setTimeout(resolve, AMPLIFIED_PAUSE_MS));
    }
    if (this.unsentBytes <= this.#maxUnsent) {
      if (++this.#turnLines >= LINES_PER_TURN) {
        this.#turnLines = 0;
        await this.#yieldTurn();
      } else if (performance.now() - this.#turnStart >= TURN_MS) {
        // Checked here rather than in `pace()`: no promise per line on the hot path.
        await this.#yieldTurn();
      }
      return;
    }
    this.flush();
    this.#turnLines = 0;
    while (this.unsentBytes > this.#maxUnsent && !this.#closed && !this.#socketClosed) {
      if (this.#timedOut) {
        // Neither reading nor sending for the idle timeout: nothing will ever drain.
        this.destroy();
        return;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Reads no more input: drops what is buffered and what arrives; reads then see EOF. */
  #stopReading(): void {
    this.#stopped = true;
    this.#eof = true;
    this.#buf = EMPTY;
    this.#pos = 0;
    this.#more = [];
    this.#moreBytes = 0;
    this.#zPending = [];
    this.#zBytes = 0;
    this.#socket.pause();
  }

  /** Whether COMPRESS input has expanded past `AMPLIFIED_RATIO` (see #throttle). */
  get #amplified(): boolean {
    return this.#zInflated > AMPLIFIED_AFTER && this.#zInflated > AMPLIFIED_RATIO * this.#zIn;
  }

  /** Whether a body read (DATA, chunk, literal) started at `start` has fallen below the minimum rate. */
  #tooSlow(start: number, received: number): boolean {
    const allowed = this.#idleMs + (received * 1000) / this.#minDataRate;
    return Date.now() - start > allowed;
  }

  #consumed(): void {
    if (this.#pos >= this.#buf.length) {
      this.#buf = EMPTY;
      this.#pos = 0;
    }
  }

  /**
   * Moves the next chunk of input that arrived while the reader was busy into the read buffer, joined
   * to what is left unread: one chunk at a time, so a slow reader never copies a backlog as a whole.
   */
  #gather(): void {
    const next = this.#more.shift();
    if (next === undefined) return;
    this.#moreBytes -= next.length;
    this.#buf = this.#pos >= this.#buf.length ? next : Buffer.concat([this.#buf.subarray(this.#pos), next]);
    this.#pos = 0;
  }

  /** Whether unread input is buffered (e.g. pipelined commands). */
  get hasBufferedInput(): boolean {
    return this.#pos < this.#buf.length || this.#moreBytes > 0;
  }

  /**
   * Reads one line (without its ending). `maxLength` counts the line with its CRLF. A longer line is
   * skipped up to its end and reported as `too-long`.
   */
  readLine(maxLength: number): Promise<ReadResult> {
    return this.#readLine(maxLength, false) as Promise<ReadResult>;
  }

  /**
   * Reads the line that starts the next command (or ends IMAP IDLE): like `readLine`, but once the
   * server is shutting down it returns `shutdown` instead, at once or while waiting, also when
   * pipelined commands are buffered: they are not run (the goodbye tells the client to retry).
   */
  readCommandLine(maxLength: number): Promise<ReadResult | ShutdownResult> {
    return this.#readLine(maxLength, true);
  }

  async #readLine(maxLength: number, interruptible: boolean): Promise<ReadResult | ShutdownResult> {
    await this.#throttle();
    for (;;) {
      if (interruptible && this.#shutdown && !this.#closed) {
        this.#lineDeadline = 0;
        return { kind: 'shutdown' };
      }
      if (this.#timedOut) {
        this.#timedOut = false;
        this.#lineDeadline = 0;
        return { kind: 'timeout' };
      }
      const lf = this.#buf.indexOf(0x0a, this.#pos);
      if (lf >= 0) {
        this.#lineDeadline = 0;
        const start = this.#pos;
        this.#pos = lf + 1;
        if (this.#discarding) {
          this.#discarding = false;
          this.#consumed();
          return { kind: 'too-long' };
        }
        const crlf = lf > start && this.#buf[lf - 1] === 0x0d;
        if (lf + 1 - start > maxLength) {
          this.#consumed();
          return { kind: 'too-long' };
        }
        const line = this.#buf.subarray(start, crlf ? lf - 1 : lf);
        this.#consumed();
        return { kind: 'line', line, ending: crlf ? 'crlf' : 'lf' };
      }
      if (this.#buf.length - this.#pos > maxLength) {
        // Drop what we have of the over-long line and keep dropping until its end.
        this.#discarded = (this.#discarding ? this.#discarded : 0) + this.#buf.length - this.#pos;
        this.#discarding = true;
        this.#buf = EMPTY;
        this.#pos = 0;
        if (this.#discarded > Math.max(DISCARD_GIVE_UP, 16 * maxLength)) {
          // A line without end: report it once (the session answers) and read nothing more.
          this.#discarding = false;
          this.#lineDeadline = 0;
          this.#stopReading();
          return { kind: 'too-long' };
        }
      }
      if (this.#moreBytes > 0) {
        // No complete line in the buffer: join the next chunk that arrived meanwhile.
        this.#gather();
        continue;
      }
      if (this.#inputEnded) return { kind: 'eof' };
      if (this.#pos < this.#buf.length || this.#discarding) {
        // A line has begun: it must end within the idle timeout, however slowly its bytes come.
        const now = Date.now();
        if (this.#lineDeadline === 0) this.#lineDeadline = now + this.#idleMs;
        else if (now > this.#lineDeadline) {
          this.#lineDeadline = 0;
          return { kind: 'timeout' };
        }
      }
      await this.#waitInput();
    }
  }

  /**
   * Reads SMTP DATA content up to the end-of-data line (see dotstream.ts for the rules) into `sink`,
   * which gets at most `maxBytes` (beyond them the reader only looks for the end, up to `giveUpBytes`:
   * then it stops, so that a client cannot keep a connection by sending a message that never ends).
   * Memory stays bounded however large the message: the sink spools to a file past a small size
   * (spool.ts).
   */
  async readDotData(opts: {
    mode: 'crlf' | 'lf';
    maxBytes: number;
    giveUpBytes?: number;
    sink: BodySink;
  }): Promise<DataResult> {
    await this.#throttle();
    const state: DotScanState = newDotScanState();
    const out: Buffer[] = [];
    const started = Date.now();
    for (;;) {
      if (this.#timedOut) {
        this.#timedOut = false;
        return { kind: 'timeout' };
      }
      if (this.#pos >= this.#buf.length) this.#gather();
      if (this.#pos < this.#buf.length) {
        this.#pos = scanDotData(this.#buf, this.#pos, state, opts, out);
        this.#consumed();
        // Pieces are views into the receive buffer, which is replaced, not reused: safe to hand on.
        const wrote = out.length > 0;
        if (out.length === 1) await opts.sink.write(out[0]);
        else if (wrote) await opts.sink.write(Buffer.concat(out), { owned: true }); // one copy per pass
        out.length = 0;
        if (state.done) {
          return { kind: 'data', size: state.size, tooBig: state.size > opts.maxBytes, bareLf: state.bareLf };
        }
        if (opts.giveUpBytes !== undefined && state.size > opts.giveUpBytes)
          return { kind: 'overflow', size: state.size };
        // More input may have arrived while the sink was writing.
        if (wrote) continue;
      }
      if (this.#moreBytes > 0) {
        // The scanner may hold back a tail (a possible end of data): join the next chunk to it.
        this.#gather();
        continue;
      }
      if (this.#inputEnded) return { kind: 'eof' };
      if (this.#tooSlow(started, state.size)) return { kind: 'timeout' };
      await this.#waitInput();
    }
  }

  /** Reads exactly `count` bytes into `sink` (BDAT chunks, large IMAP literals), in bounded memory. */
  async readBytesTo(count: number, sink: BodySink): Promise<BytesResult> {
    return this.#readCounted(count, (piece) => sink.write(piece));
  }

  /** Hands exactly `count` bytes to `take` piece by piece, under the read deadlines. */
  async #readCounted(count: number, take: (piece: Buffer) => void | Promise<void>): Promise<BytesResult> {
    await this.#throttle();
    let need = count;
    const started = Date.now();
    while (need > 0) {
      if (this.#timedOut) {
        this.#timedOut = false;
        return { kind: 'timeout' };
      }
      if (this.#pos >= this.#buf.length) this.#gather();
      const avail = this.#buf.length - this.#pos;
      if (avail > 0) {
        const n = Math.min(avail, need);
        const piece = this.#buf.subarray(this.#pos, this.#pos + n);
        this.#pos += n;
        need -= n;
        this.#consumed();
        await take(piece);
        continue;
      }
      if (this.#moreBytes > 0) continue;
      if (this.#inputEnded) return { kind: 'eof' };
      if (this.#tooSlow(started, count - need)) return { kind: 'timeout' };
      await this.#waitInput();
    }
    return { kind: 'bytes', data: null, size: count };
  }

  /** A new message body on this connection's spool (see spool.ts). */
  newBody(): BodySink {
    return this.#spool.body();
  }

  /** Reads exactly `count` bytes (BDAT chunks, IMAP literals). Over `maxBytes` they are read and dropped. */
  async readBytes(count: number, maxBytes = Number.POSITIVE_INFINITY): Promise<BytesResult> {
    const keep = count <= maxBytes;
    const parts: Buffer[] = [];
    const result = await this.#readCounted(count, (piece) => {
      if (keep) parts.push(piece);
    });
    if (result.kind !== 'bytes') return result;
    return { kind: 'bytes', data: keep ? Buffer.concat(parts, count) : null, size: count };
  }

  /** Queues output; it leaves at the end of this event-loop turn or before the next read waits. */
  write(data: string | Buffer): void {
    if (this.#closed) return;
    if (!this.#corked) {
      this.#corked = true;
      if (!this.#deflate) this.#socket.cork();
      setImmediate(this.flush);
    }
    this.bytesOut += data.length;
    if (this.trace.wireActive) this.trace.wire('out', typeof data === 'string' ? Buffer.from(data) : data);
    if (this.#deflate) this.#deflate.write(data);
    else this.#socket.write(data);
  }

  /** Writes a protocol line (CRLF added) and reports it to the trace. */
  writeLine(line: string): void {
    this.trace.out(line);
    this.write(`${line}\r\n`);
  }

  flush = (): void => {
    if (this.#corked) {
      this.#corked = false;
      // RFC 4978 §4: a sync flush after each batch of responses, so the client can decode them now.
      if (this.#deflate) this.#deflate.flush(zlib.constants.Z_SYNC_FLUSH);
      else this.#socket.uncork();
    }
  };

  get compressed(): boolean {
    return this.#deflate !== null;
  }

  /**
   * Turns on DEFLATE compression in both directions (RFC 4978, raw deflate per RFC 1951). Call after the
   * tagged OK has been written: it is flushed uncompressed first. Bytes already buffered from the
   * client are compressed data and are decompressed.
   */
  compress(): void {
    this.flush();
    const socket = this.#socket;
    const deflate = zlib.createDeflateRaw({ level: 6, memLevel: 8, windowBits: 15 });
    const inflate = zlib.createInflateRaw({ windowBits: 15 });
    // Output: the deflater feeds the socket only as fast as the socket takes it.
    deflate.on('data', (chunk: Buffer) => {
      if (!socket.write(chunk)) deflate.pause();
    });
    socket.on('drain', () => deflate.resume());
    deflate.on('drain', this.#onDrain);
    deflate.on('error', () => this.destroy());
    inflate.on('error', () => this.destroy());
    socket.off('data', this.#onData);
    socket.on('data', this.#onCompressed);
    while (this.#more.length) this.#gather();
    const pending = this.#buf.subarray(this.#pos);
    this.#buf = EMPTY;
    this.#pos = 0;
    inflate.on('data', (chunk: Buffer) => {
      this.#zInflated += chunk.length;
      this.#onData(chunk);
    });
    this.#deflate = deflate;
    this.#inflate = inflate;
    if (pending.length) this.#onCompressed(pending);
  }

  /** Compressed bytes from the client: queued, and inflated step by step by #pumpInflate. */
  #onCompressed = (chunk: Buffer): void => {
    // bytesIn counts inflated bytes (in #onData), as before COMPRESS.
    this.#zPending.push(chunk);
    this.#zBytes += chunk.length;
    if (this.#zBytes > MAX_COMPRESSED_PENDING && !this.#zSocketPaused) {
      this.#zSocketPaused = true;
      this.#socket.pause();
    }
    this.#pumpInflate();
  };

  /** Inflates the next small step of compressed input, unless the session has enough to read. */
  #pumpInflate(): void {
    const inflate = this.#inflate;
    if (!inflate || this.#zBusy || this.#paused || this.#zBytes === 0) return;
    if (this.#closed) {
      this.#zPending = [];
      this.#zBytes = 0;
      return;
    }
    let head = this.#zPending[0];
    if (head.length > INFLATE_STEP) {
      this.#zPending[0] = head.subarray(INFLATE_STEP);
      head = head.subarray(0, INFLATE_STEP);
    } else {
      this.#zPending.shift();
    }
    this.#zBytes -= head.length;
    this.#zIn += head.length;
    if (this.#zSocketPaused && this.#zBytes <= MAX_COMPRESSED_PENDING / 2) {
      this.#zSocketPaused = false;
      this.#socket.resume();
    }
    this.#zBusy = true;
    inflate.write(head, () => {
      this.#zBusy = false;
      // With nothing left, wake a reader that may be waiting for the end of input.
      if (this.#zBytes === 0) this.#notify();
      else this.#pumpInflate();
    });
  }

  /** Waits until written data has been handed to the kernel (for large responses). */
  async drain(): Promise<void> {
    // Only a full socket buffer is waited for; otherwise output stays corked and leaves in one write.
    if (this.#socket.writableNeedDrain && !this.#closed) {
      this.flush();
      // A client that stops reading is dropped after the idle timeout instead of holding the session.
      const socket = this.#socket;
      const ac = new AbortController();
      const timedOut = once(socket, 'timeout', { signal: ac.signal }).then(() => {
        this.destroy();
      });
      try {
        await Promise.race([
          once(socket, 'drain', { signal: ac.signal }),
          once(socket, 'close', { signal: ac.signal }),
          timedOut,
        ]);
      } catch {
        // aborted waits
      } finally {
        ac.abort();
      }
    }
  }

  /** Upgrades to TLS (STARTTLS/STLS). Input buffered before the handshake is discarded. */
  async startTls(secureContext: tls.SecureContext): Promise<void> {
    this.flush();
    const plain = this.#socket;
    this.#detach(plain);
    this.#buf = EMPTY;
    this.#pos = 0;
    this.#more = [];
    this.#moreBytes = 0;
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext });
    if (this.#keylog?.attach(secure, this.id)) this.trace.note(KEYLOG_NOTE);
    this.#socket = secure;
    this.#attach(secure);
    await new Promise<void>((resolve, reject) => {
      // A client that stalls the handshake (a partial record, or nothing) is cut off as an implicit-TLS
      // one is (listener.ts): within the idle timeout, at most 30 s. Nothing else reads meanwhile, so
      // the idle timer would not end the session.
      const timer = setTimeout(
        () => {
          off();
          secure.destroy();
          reject(Object.assign(new Error('TLS handshake timed out'), { clientGone: true }));
        },
        Math.min(this.#idleMs, STARTTLS_HANDSHAKE_MS),
      );
      const off = () => {
        clearTimeout(timer);
        secure.off('secure', onSecure);
        secure.off('error', onError);
        secure.off('end', onEnd);
        secure.off('close', onEnd);
      };
      const onSecure = () => {
        off();
        resolve();
      };
      const onError = (err: Error) => {
        off();
        reject(err);
      };
      // The client left during the handshake (its end of input does not close a half-open socket).
      const onEnd = () => {
        off();
        reject(Object.assign(new Error('connection closed during the TLS handshake'), { clientGone: true }));
      };
      secure.once('secure', onSecure);
      secure.once('error', onError);
      secure.once('end', onEnd);
      secure.once('close', onEnd);
    });
    this.#noteTls(secure);
  }

  #noteTls(socket: tls.TLSSocket): void {
    const cipher = socket.getCipher();
    this.tlsInfo = { protocol: socket.getProtocol() ?? 'TLS', cipher: cipher?.name ?? 'unknown' };
    this.trace.tls(this.tlsInfo.protocol, this.tlsInfo.cipher);
  }

  /** Flushes and closes the connection gracefully. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#deflate) {
      const socket = this.#socket;
      this.#deflate.once('end', () => socket.end());
      this.#deflate.end();
    } else {
      this.#socket.end();
    }
    // Do not wait forever for a client that never reads.
    setTimeout(() => this.#socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.#closed = true;
    this.#socket.destroy();
    this.#deflate?.destroy();
    this.#inflate?.destroy();
  }

  /** The underlying socket, for tests and the COMPRESS layer. */
  get socket(): net.Socket {
    return this.#socket;
  }
}
