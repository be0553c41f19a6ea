/**
 * Server-sent event streams of the web lab, written straight to node's response so that a consumer
 * that does not keep up is seen and dropped (src/net/bounded-writer.ts), and the per-user and total
 * caps on open streams.
 *
 * Invariants:
 * - An event is serialized once into a frame (`sseFrame`) and the same bytes go to every stream that
 *   shows it; a stream holds at most `STREAM_QUEUE_BYTES` of frames waiting for its client, plus what
 *   the socket holds up to its high-water mark.
 * - A stream whose client leaves data unread for `stallMs` (web.stream_stall_timeout), or whose queue
 *   would overflow, is ended with an `event: dropped` naming the reason and loses its slot.
 * - Every stream has a slot in `StreamSlots` (web.streams_per_user, web.max_streams) while open; a
 *   request beyond either cap gets 429 JSON.
 * - A stream sends a comment every 15 s so that proxies and browsers keep it open.
 * - SSE responses carry the same security headers as every other response (`SECURITY_HEADERS`).
 */
import { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { BoundedWriter, type FrameSource } from '../net/bounded-writer.js';
import { apiError, type WebEnv, type WebUser } from './context.js';
import { SECURITY_HEADERS } from './security.js';

/** Frames waiting for one client (the rest is in its socket) before it is dropped. */
export const STREAM_QUEUE_BYTES = 256 * 1024;
const HEARTBEAT_MS = 15_000;
const HEARTBEAT = Buffer.from(': heartbeat\n\n');

const EVENT_STREAM_TYPE = 'text/event-stream; charset=utf-8';

/** Whether `res` is an open event stream (made by `openEventStream`). */
export function isEventStream(res: ServerResponse): boolean {
  return !res.writableEnded && res.getHeader('Content-Type') === EVENT_STREAM_TYPE;
}

/**
 * Ends an event stream at server shutdown with an `event: dropped` saying so, like a dropped consumer
 * gets (the stream's writer sees the response close and releases its slot).
 */
export function endEventStream(res: ServerResponse, reason: string): void {
  res.end(sseFrame('dropped', JSON.stringify({ error: `stream ended: ${reason}` })));
}

/** One SSE event as bytes; `data` must be one line (JSON.stringify output is). */
export function sseFrame(event: string, data: string): Buffer {
  return Buffer.from(`event: ${event}\ndata: ${data}\n\n`);
}

/** Counts open streams per web user and in all. */
export class StreamSlots {
  readonly #perUser = new Map<string, number>();
  #total = 0;

  constructor(
    readonly perUser: number,
    readonly total: number,
  ) {}

  get open(): number {
    return this.#total;
  }

  /** A slot for `user`, released by the returned function; 429 when a cap is reached. */
  take(user: WebUser): () => void {
    const key = `${user.role}:${user.name}`;
    const mine = this.#perUser.get(key) ?? 0;
    if (mine >= this.perUser) {
      throw apiError(429, 'stream.perUser', { name: user.name, open: mine, limit: this.perUser });
    }
    if (this.#total >= this.total) {
      throw apiError(429, 'stream.total', { open: this.#total, limit: this.total });
    }
    this.#perUser.set(key, mine + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#perUser.get(key) ?? 1) - 1;
      if (left <= 0) this.#perUser.delete(key);
      else this.#perUser.set(key, left);
    };
  }
}

const slotsByConfig = new WeakMap<object, StreamSlots>();

/**
 * The stream slots of one web app (one per config object): every route module that opens live streams
 * (the lab's, the exercises') counts against the same web.streams_per_user and web.max_streams.
 */
export function streamSlotsFor(config: { web: { streams_per_user: number; max_streams: number } }): StreamSlots {
  let slots = slotsByConfig.get(config);
  if (!slots) {
    slots = new StreamSlots(config.web.streams_per_user, config.web.max_streams);
    slotsByConfig.set(config, slots);
  }
  return slots;
}

/** node's response of this request (hono on @hono/node-server), or null elsewhere (app.request). */
function nodeResponse(c: Context<WebEnv>): ServerResponse | null {
  const env: unknown = c.env;
  if (typeof env === 'object' && env !== null && 'outgoing' in env && env.outgoing instanceof ServerResponse) {
    return env.outgoing;
  }
  return null;
}

export interface SseStream {
  writer: BoundedWriter;
  /** Resolves when the stream has ended, for whatever reason. */
  closed: Promise<string | null>;
}

/**
 * Answers the request with an event stream fed by `source`. Returns the response for hono (the
 * headers are already sent) and the writer: call `writer.pump()` whenever the source has new frames.
 * `onClose` runs once when the stream ends (client gone, dropped, or the source finished).
 */
export function openEventStream(
  c: Context<WebEnv>,
  source: FrameSource,
  stallMs: number,
  onClose: (reason: string | null) => void,
): { response: Response; stream: SseStream } {
  const res = nodeResponse(c);
  if (!res) throw apiError(501, 'stream.needsNode');
  // Set one by one (not as writeHead's argument) so that getHeader() sees them: the listener ends the
  // event streams at shutdown (isEventStream, http.ts).
  for (const [name, value] of Object.entries({
    ...SECURITY_HEADERS,
    'Content-Type': EVENT_STREAM_TYPE,
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
  })) {
    res.setHeader(name, value);
  }
  res.writeHead(200);
  res.flushHeaders();
  let resolveClosed: (reason: string | null) => void = () => {};
  const closed = new Promise<string | null>((resolve) => {
    resolveClosed = resolve;
  });
  let heartbeat: NodeJS.Timeout | null = null;
  const writer = new BoundedWriter(res, source, {
    stallMs,
    farewell: (reason) => sseFrame('dropped', JSON.stringify({ error: `stream ended: ${reason}` })),
    onClose: (reason) => {
      if (heartbeat) clearInterval(heartbeat);
      onClose(reason);
      resolveClosed(reason);
    },
  });
  if (!writer.closed) {
    heartbeat = setInterval(() => writer.poke(HEARTBEAT), HEARTBEAT_MS);
    heartbeat.unref();
  }
  return { response: RESPONSE_ALREADY_SENT, stream: { writer, closed } };
}
