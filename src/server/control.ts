/**
 * The control socket: a Unix socket in the data directory (`control.sock`) through which the CLI
 * talks to a running server. Protocol: the client sends one JSON line `{"cmd": ...}`; the server
 * answers with JSON lines. `status` answers once; `trace` streams trace events until the client hangs up.
 * Only local users with access to the data directory can connect (the socket is mode 0600).
 *
 * Trace streams: at most `MAX_TRACE_STREAMS` at once; each event is serialized once for all of them
 * (one bus subscription); a reader that leaves more than `TRACE_QUEUE_BYTES` waiting, or does not read
 * for `TRACE_STALL_MS`, gets a last line saying why and is disconnected (src/net/bounded-writer.ts).
 * A line that is not a trace event (a refusal, a drop) is a `note` event with sid "-" and an `error`.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from '../log.js';
import { BoundedWriter, FrameQueue } from '../net/bounded-writer.js';
import type { TraceBus, TraceEvent } from '../trace/bus.js';

/** Trace streams open at once. */
export const MAX_TRACE_STREAMS = 16;
/** Bytes of events waiting for one trace reader before it is disconnected. */
export const TRACE_QUEUE_BYTES = 1 << 20;
/** Time a trace reader may leave sent lines unread before it is disconnected. */
export const TRACE_STALL_MS = 10_000;
/** Time a trace reader has to take the last lines when the server shuts down. */
const END_MS = 1000;

export interface ControlDeps {
  bus: TraceBus;
  log: Logger;
  status: () => Promise<unknown>;
}

/** The running control socket. */
export interface ControlSocket {
  /** Refuses new connections (the socket file stays until `close`). */
  stopAccepting(): void;
  /**
   * Ends every trace stream with a last line saying the server is shutting down (a reader that
   * does not take it within a second is cut off, bounded-writer.ts) and closes the socket.
   */
  close(): Promise<void>;
}

export async function startControlSocket(path: string, deps: ControlDeps): Promise<ControlSocket> {
  if (existsSync(path)) {
    // A socket left by a crashed server; a live one would answer.
    if (await isAlive(path)) throw new Error(`another postbode server is running with this data directory (${path})`);
    unlinkSync(path);
  }
  const traces = new TraceStreams(deps.bus, deps.log);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 4096) socket.destroy();
        return;
      }
      const line = buf.slice(0, nl);
      buf = '';
      void handle(line, socket, deps, traces);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  let closed: Promise<void> | null = null;
  const stopAccepting = () => {
    closed ??= new Promise<void>((r) => server.close(() => r()));
  };
  return {
    stopAccepting,
    async close() {
      stopAccepting();
      traces.endAll('the server is shutting down');
      // A status request being answered ends by itself; a connection that is still open after the
      // trace readers' last chance (one that never sent its command, a stalled reader) is cut.
      const cut = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, 2 * END_MS);
      await closed;
      clearTimeout(cut);
    },
  };
}

async function handle(line: string, socket: net.Socket, deps: ControlDeps, traces: TraceStreams): Promise<void> {
  let cmd: { cmd?: string };
  try {
    cmd = JSON.parse(line) as { cmd?: string };
  } catch {
    socket.end(`${JSON.stringify({ error: 'bad request: send one JSON line like {"cmd":"status"}' })}\n`);
    return;
  }
  switch (cmd.cmd) {
    case 'status':
      socket.end(`${JSON.stringify(await deps.status())}\n`);
      return;
    case 'trace':
      traces.add(socket);
      return;
    default:
      socket.end(`${JSON.stringify({ error: `unknown command ${String(cmd.cmd)}` })}\n`);
  }
}

/** A line that is not a trace event, shown by `postbode trace` like a session note. */
function noticeLine(error: string): Buffer {
  return Buffer.from(`${JSON.stringify({ type: 'note', sid: '-', t: Date.now(), seq: 0, text: error, error })}\n`);
}

/** The trace streams of the control socket, fed by one bus subscription while any is open. */
class TraceStreams {
  readonly #writers = new Set<{ queue: FrameQueue; writer: BoundedWriter }>();
  #unsubscribe: (() => void) | null = null;

  constructor(
    readonly bus: TraceBus,
    readonly log: Logger,
  ) {}

  add(socket: net.Socket): void {
    if (this.#writers.size >= MAX_TRACE_STREAMS) {
      socket.end(
        noticeLine(
          `too many trace streams: ${MAX_TRACE_STREAMS} are open already; stop one of the running "postbode trace" commands`,
        ),
      );
      return;
    }
    const queue = new FrameQueue(TRACE_QUEUE_BYTES);
    const entry = {
      queue,
      writer: new BoundedWriter(socket, queue, {
        stallMs: TRACE_STALL_MS,
        farewell: (reason) => noticeLine(`trace stream ended: ${reason}`),
        onClose: (reason) => {
          this.#writers.delete(entry);
          if (this.#writers.size === 0) {
            this.#unsubscribe?.();
            this.#unsubscribe = null;
          }
          if (reason) this.log.info({ reason }, 'trace stream dropped');
        },
      }),
    };
    if (entry.writer.closed) return;
    this.#writers.add(entry);
    // The sessions open now, however many (bounded by limits.max_connections), then live events.
    for (const open of this.bus.open.values()) queue.push(Buffer.from(`${JSON.stringify(open)}\n`), true);
    entry.writer.pump();
    this.#unsubscribe ??= this.bus.subscribe(this.#onEvent);
  }

  /**
   * Ends every stream after what is queued, with a last note (not an `error`: the stream did not fail)
   * saying why; a reader that has not taken it within `END_MS` is cut off.
   */
  endAll(reason: string): void {
    const line = Buffer.from(
      `${JSON.stringify({ type: 'note', sid: '-', t: Date.now(), seq: 0, text: `trace stream ended: ${reason}` })}\n`,
    );
    for (const { queue, writer } of [...this.#writers]) {
      queue.finish(line);
      writer.pump();
      if (!writer.closed) setTimeout(() => writer.drop(reason), END_MS).unref();
    }
  }

  #onEvent = (event: TraceEvent): void => {
    const line = Buffer.from(`${JSON.stringify(event)}\n`);
    for (const { queue, writer } of this.#writers) {
      if (queue.push(line)) writer.pump();
      else writer.drop(`more than ${TRACE_QUEUE_BYTES >> 20} MB of events waiting: the reader does not keep up`);
    }
  };
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Client side: sends one command and collects (or streams) the JSON lines of the answer. */
export function controlRequest(path: string, cmd: string, onLine?: (value: unknown) => void): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const lines: unknown[] = [];
    let buf = '';
    socket.once('connect', () => socket.write(`${JSON.stringify({ cmd })}\n`));
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const value = JSON.parse(buf.slice(0, nl)) as unknown;
        buf = buf.slice(nl + 1);
        if (onLine) onLine(value);
        else lines.push(value);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(lines));
  });
}
