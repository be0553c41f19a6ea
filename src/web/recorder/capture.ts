/**
 * Capture: what the recorder keeps of a live session in memory, fed from the trace bus.
 *
 * Invariants:
 * - Appending an event does no I/O and no formatting: the event goes into its session's columns (kind,
 *   seq, time and text in four arrays; the rare events without a text are kept whole). The bus's event
 *   object is not kept, so a line costs the garbage collector no object that outlives the line; events
 *   are rebuilt (and text, structured data and annotations derived) only when a batch is written or a
 *   session is read.
 * - A session keeps at most `maxEvents` events (the close event always); beyond that only the summary
 *   changes. All live sessions together keep at most about `maxLiveEvents`: once that many are held, a
 *   session keeps only its first `EVENTS_ALWAYS_KEPT` (greeting, login) and its share of the total.
 * - Recurring short lines are kept once (`TextInterner`).
 * - The bytes of a session (the trace's wire channel, for the pcap) are kept redacted (lab/redact.ts),
 *   up to `captureBytes` per session and about `maxLiveBytes` for all live sessions together. A
 *   session's bytes go into ONE growing buffer, with a chunk's end offset, direction and time in
 *   packed number arrays: a chunk holds no object of its own (an IDLE session gets thousands of tiny
 *   `* N EXISTS` writes; one Buffer each cost ~200 bytes of heap, and a soak of 2,000 IDLE sessions
 *   held 845,000 of them). A chunk costs its length plus `WIRE_CHUNK_COST` (the arrays' entries and
 *   the buffer's spare room), so many tiny writes cannot hold more memory than a few big ones. Once a
 *   session's capture is cut it keeps no more bytes (see `keepWire`). The originals of masked
 *   credentials are kept only when allowed (lab.capture_passwords) and only before TLS, in a map by
 *   chunk: the rare chunks that have any.
 * - A quiet open session whose events and bytes are all in the stored history lets them go
 *   (`releaseLive`): a client in IDLE for hours then holds its summary and counters, not its
 *   transcript. Its first `base` events and `wire.base` chunks are read back from the store
 *   (recorder/index.ts); counts and limits (`maxEvents`, `captureBytes`, `encryptedFrom`) stay those
 *   of the whole session, the memory totals (`maxLiveEvents`, `maxLiveBytes`) count what is held.
 */
import type { LoggedSession } from '../../store/types.js';
import type { TraceEvent } from '../../trace/bus.js';
import { type Redacted, WireRedactor } from '../lab/redact.js';

/** What a wire chunk costs besides its bytes (three array entries, and the buffer's spare room). */
export const WIRE_CHUNK_COST = 32;

const EMPTY = Buffer.alloc(0);

/** The first size of a session's capture buffer; it doubles as needed, up to the session's limit. */
const WIRE_INITIAL_BYTES = 1024;

/** The bytes of a live session as kept for its capture, by column as the events. */
export interface WireCapture {
  redactor: WireRedactor;
  /** 0 in, 1 out. */
  dirs: number[];
  times: number[];
  /** End offset in `data` of each chunk held (a chunk starts where the one before ends). */
  ends: number[];
  /** The held chunks' bytes, back to back; `used` of it are used. */
  data: Buffer;
  used: number;
  /**
   * Originals of masked credentials by chunk index (lab.capture_passwords), for the few chunks that
   * have any; null until one does.
   */
  secrets: Map<number, [number, Buffer][]> | null;
  /** What the kept chunks cost (bytes + WIRE_CHUNK_COST each), against the limits. */
  cost: number;
  /** Of `cost`, what the released chunks cost (no longer in memory). */
  released: number;
  /** Payload bytes kept (released ones included). */
  bytes: number;
  /** Kept no more from this size on. */
  cut: boolean;
  /** Chunks released (`releaseLive`): the held chunk `i` is chunk `base + i` of the session. */
  base: number;
  /** Held chunks already handed to the store. */
  written: number;
}

/** Number of chunks held in memory. */
export function wireChunkCount(w: WireCapture): number {
  return w.ends.length;
}

/** Held chunk `i` of a capture: its direction, time, bytes (a view of the capture's buffer) and secrets. */
export function wireChunk(
  w: WireCapture,
  i: number,
): { dir: 'in' | 'out'; t: number; data: Buffer; secrets: [number, Buffer][] | null } {
  const start = i === 0 ? 0 : w.ends[i - 1];
  return {
    dir: w.dirs[i] === 0 ? 'in' : 'out',
    t: w.times[i],
    // A view: bytes once kept are never overwritten (growing copies into a new buffer), so it stays
    // right; callers (a batch for the store, a pcap) hold it only briefly.
    data: w.data.subarray(start, w.ends[i]),
    secrets: w.secrets?.get(i) ?? null,
  };
}

export function newWireCapture(redactor: WireRedactor): WireCapture {
  return {
    redactor,
    dirs: [],
    times: [],
    ends: [],
    data: EMPTY,
    used: 0,
    secrets: null,
    cost: 0,
    released: 0,
    bytes: 0,
    cut: false,
    base: 0,
    written: 0,
  };
}

/** Events of a session kept whatever the total held (see maxLiveEvents). */
export const EVENTS_ALWAYS_KEPT = 100;

/** Kinds of events in `Live.kinds`: the text events are stored by column, the others whole. */
export const IN = 0;
export const OUT = 1;
export const NOTE = 2;
export const WHOLE = 3;
export const TEXT_TYPES = ['in', 'out', 'note'] as const;

/** Lines up to this length are kept once however often they recur (see `TextInterner`). */
const INTERN_MAX_LENGTH = 160;
/** Distinct lines remembered for that; the table starts afresh when full. */
const INTERN_MAX_ENTRIES = 8192;

export type OpenEvent = Extract<TraceEvent, { type: 'open' }>;

/** A session the recorder holds in memory: its summary and its events by column. */
export interface Live {
  session: LoggedSession;
  /**
   * The events held, as they came, by column: `kinds[i]` is IN, OUT, NOTE or WHOLE; `items[i]` is the text
   * of a text event and the event itself for any other. Arrays of small integers and numbers hold no
   * objects, so keeping thousands of lines for a batch costs the garbage collector one array of
   * strings instead of one object per line.
   */
  kinds: number[];
  seqs: number[];
  times: number[];
  items: (string | TraceEvent)[];
  /** Events released (`releaseLive`): the held event `i` is event number `base + i` of the session. */
  base: number;
  /** Seq of the last event released (-1: none). */
  releasedSeq: number;
  /**
   * Number of the first event that travelled inside TLS (0 with implicit TLS; Infinity without TLS).
   * A session turns TLS on at most once, so one number replaces a flag per event; the `tls` event
   * itself is never encrypted.
   */
  encryptedFrom: number;
  /** Held events already handed to the store. */
  written: number;
  wire: WireCapture;
  dirty: boolean;
  closed: boolean;
  /** Its columns and capture are at their exact size (see `compactLive`); false again once it grows. */
  compact: boolean;
  /** A write of its history failed: it keeps all it holds, since the store may lack some of it. */
  pinned: boolean;
}

/** A live session for an `open` event (with its summary as it starts). */
export function openLive(event: OpenEvent, keyLogged: boolean): Live {
  const session: LoggedSession = {
    id: event.sid,
    proto: event.proto,
    listener: event.listener,
    localAddress: event.local,
    localPort: event.localPort,
    remoteAddress: event.remote,
    remotePort: event.remotePort,
    user: null,
    // Implicit TLS: the details follow in the 'tls' event the connection reports first.
    tls: event.tls ? 'TLS' : null,
    start: event.t,
    end: null,
    state: 'connected',
    closeReason: null,
    events: 0,
    keyLogged,
    helo: null,
    mailFrom: null,
  };
  return {
    session,
    kinds: [],
    seqs: [],
    times: [],
    items: [],
    base: 0,
    releasedSeq: -1,
    encryptedFrom: event.tls ? 0 : Number.POSITIVE_INFINITY,
    written: 0,
    wire: newWireCapture(new WireRedactor(event.proto)),
    dirty: true,
    closed: false,
    compact: false,
    pinned: false,
  };
}

/** Updates the session's summary for `event`; true when it changed (TLS, login, state, close). */
export function updateSummary(live: Live, event: Exclude<TraceEvent, OpenEvent>): boolean {
  const s = live.session;
  switch (event.type) {
    case 'tls':
      s.tls = `${event.protocol} ${event.cipher}`;
      return true;
    case 'auth':
      if (!event.ok) return false;
      s.user = event.user.toLowerCase();
      return true;
    case 'state':
      s.state = event.state;
      return true;
    case 'in':
      // Not the message itself (state `data`): a body line may well start with "Helo ".
      return s.proto === 'smtp' && s.user === null && s.state !== 'data' && noteSmtpNames(s, event.text);
    case 'close':
      s.end = event.t;
      s.closeReason = event.reason;
      live.closed = true;
      return true;
    default:
      return false;
  }
}

/** HELO/EHLO NAME and MAIL FROM:<ADDRESS> as a client types them (the lab accepts a missing `<>`). */
const HELO_LINE = /^\s*(?:HELO|EHLO)\s+(\S{1,255})/i;
const MAIL_LINE = /^\s*MAIL\s+FROM:\s*<?([^\s<>]{1,320})>?/i;

/**
 * Keeps what an SMTP client without a login says about itself: the last HELO/EHLO name and MAIL FROM
 * address it sent (lower-case), read from its command lines; true when one changed. Who may see the
 * session follows from them (access.ts). A refused command counts too: it still names the student.
 */
export function noteSmtpNames(s: LoggedSession, line: string): boolean {
  const c = line.charCodeAt(0) | 0x20;
  if (c !== 0x68 && c !== 0x65 && c !== 0x6d) return false; // h, e, m: most lines are none of these
  const helo = HELO_LINE.exec(line);
  if (helo) {
    const name = helo[1].toLowerCase();
    if (s.helo === name) return false;
    s.helo = name;
    return true;
  }
  const mail = MAIL_LINE.exec(line);
  if (mail) {
    const from = mail[1].toLowerCase();
    if (s.mailFrom === from) return false;
    s.mailFrom = from;
    return true;
  }
  return false;
}

/** Events of a session so far that were kept (held and released). */
export function keptEvents(live: Live): number {
  return live.base + live.kinds.length;
}

/** Whether event number `i` of a session may be kept (see the header); a close always is. */
export function mayKeep(
  i: number,
  event: TraceEvent,
  limits: { maxEvents: number; maxLiveEvents: number; liveEvents: number; liveSessions: number },
): boolean {
  if (event.type === 'close') return true;
  if (i >= limits.maxEvents) return false;
  if (i >= EVENTS_ALWAYS_KEPT && limits.liveEvents >= limits.maxLiveEvents) {
    return i < Math.floor(limits.maxLiveEvents / Math.max(1, limits.liveSessions));
  }
  return true;
}

/**
 * Characters of one transcript line the lab keeps; the rest is replaced by a note of its length. The
 * count of events is bounded, not their size: 5,000 pipelined IMAP lines of 60 KB held 300 MB.
 * The bytes themselves are in the capture (for the pcap), which has its own bound.
 */
export const MAX_EVENT_TEXT = 1000;

/** `text`, cut to MAX_EVENT_TEXT characters, as a string of its own (a slice would hold the whole). */
export function keptText(text: string): string {
  if (text.length <= MAX_EVENT_TEXT) return text;
  const head = Buffer.from(text.slice(0, MAX_EVENT_TEXT)).toString();
  return `${head} … (${text.length - MAX_EVENT_TEXT} more characters, not kept)`;
}

/** The hot path: four pushes, no copies, no text (but for a line over MAX_EVENT_TEXT). */
export function pushEvent(live: Live, event: TraceEvent, texts: TextInterner): void {
  switch (event.type) {
    case 'in':
      live.kinds.push(IN);
      live.items.push(texts.intern(keptText(event.text)));
      break;
    case 'out':
      live.kinds.push(OUT);
      live.items.push(texts.intern(keptText(event.text)));
      break;
    case 'note':
      live.kinds.push(NOTE);
      live.items.push(texts.intern(keptText(event.text)));
      break;
    default:
      live.kinds.push(WHOLE);
      live.items.push(event);
  }
  live.seqs.push(event.type === 'open' ? 0 : event.seq);
  live.times.push(event.t);
  live.session.events = live.base + live.kinds.length;
  live.dirty = true;
}

/**
 * One copy of each recurring short line (greetings, capability lists, `+OK`, `.`, `a1 LOGOUT`).
 * Engines make a new string for each line, even one sent a thousand times a second; keeping that new
 * string until the batch is written would carry it into the old generation of the heap. With one copy
 * per distinct line, the new one dies young and only the column arrays outlive the line.
 */
export class TextInterner {
  readonly #texts = new Map<string, string>();

  intern(text: string): string {
    if (text.length > INTERN_MAX_LENGTH) return text;
    const known = this.#texts.get(text);
    if (known !== undefined) return known;
    if (this.#texts.size >= INTERN_MAX_ENTRIES) this.#texts.clear();
    this.#texts.set(text, text);
    return text;
  }
}

/** Whether held event `i` travelled inside TLS. */
export function encryptedAt(live: Live, i: number): boolean {
  return (
    live.base + i >= live.encryptedFrom && (live.kinds[i] !== WHOLE || (live.items[i] as TraceEvent).type !== 'tls')
  );
}

/** The bus event at held index `i` of a live session, rebuilt from its columns. */
export function eventAt(live: Live, i: number): TraceEvent {
  const kind = live.kinds[i];
  // The kind says which of the two an item is.
  if (kind === WHOLE) return live.items[i] as TraceEvent;
  return {
    type: TEXT_TYPES[kind],
    sid: live.session.id,
    t: live.times[i],
    text: live.items[i] as string,
    seq: live.seqs[i],
  };
}

export function eventsOf(live: Live): TraceEvent[] {
  const events: TraceEvent[] = new Array(live.kinds.length);
  for (let i = 0; i < events.length; i++) events[i] = eventAt(live, i);
  return events;
}

/**
 * Keeps what fits of one redacted chunk within `room` (of cost); returns the cost taken, and marks
 * the capture cut when not all of it fitted. `withSecrets`: keep the originals of masked ranges.
 */
export function keepWire(
  w: WireCapture,
  dir: 'in' | 'out',
  t: number,
  r: Redacted,
  room: number,
  withSecrets: boolean,
): number {
  const fits = Math.max(0, Math.min(r.bytes.length, room - WIRE_CHUNK_COST));
  if (fits < r.bytes.length) w.cut = true;
  if (fits === 0) return 0;
  // Copied into the session's buffer: the connection's buffer may be a slice of a larger one, and is
  // not ours to keep. The buffer doubles when full (amortised: each byte is copied about twice).
  const end = w.used + fits;
  if (end > w.data.length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(WIRE_INITIAL_BYTES, end, w.data.length * 2));
    w.data.copy(grown, 0, 0, w.used);
    w.data = grown;
  }
  r.bytes.copy(w.data, w.used, 0, fits);
  if (withSecrets && r.secrets.length) {
    const secrets: [number, Buffer][] = [];
    for (const [offset, original] of r.secrets) {
      if (offset < fits) secrets.push([offset, Buffer.from(original.subarray(0, fits - offset))]);
    }
    if (secrets.length) {
      w.secrets ??= new Map();
      w.secrets.set(w.ends.length, secrets);
    }
  }
  w.dirs.push(dir === 'in' ? 0 : 1);
  w.times.push(t);
  w.ends.push(end);
  const cost = fits + WIRE_CHUNK_COST;
  w.cost += cost;
  w.bytes += fits;
  w.used = end;
  return cost;
}

/**
 * Shrinks a quiet session's columns and capture buffer to what they hold. Arrays grow by half their
 * size plus 16 slots at a time and the capture buffer doubles, so a session that stops (a client in
 * IDLE for hours) would otherwise keep that spare room all along: about 2 KiB of a 6 KiB session.
 * Copies as growing does, so a view handed out before (`wireChunk`) stays right.
 */
export function compactLive(live: Live): void {
  live.kinds = live.kinds.slice();
  live.seqs = live.seqs.slice();
  live.times = live.times.slice();
  live.items = live.items.slice();
  const w = live.wire;
  w.dirs = w.dirs.slice();
  w.times = w.times.slice();
  w.ends = w.ends.slice();
  if (w.data.length > w.used) {
    const exact = Buffer.allocUnsafeSlow(w.used);
    w.data.copy(exact, 0, 0, w.used);
    w.data = exact;
  }
  live.compact = true;
}

/**
 * Whether a quiet open session may let go of what it holds: everything held is in the store (written
 * by a batch that succeeded: `pinned` otherwise), and there is something to let go.
 */
export function releasable(live: Live): boolean {
  const w = live.wire;
  return (
    !live.closed &&
    !live.pinned &&
    live.written === live.kinds.length &&
    w.written === w.ends.length &&
    (live.kinds.length > 0 || w.ends.length > 0)
  );
}

/**
 * Lets go of the events and bytes a session holds (see the header; call only when `releasable`).
 * Returns how many events and what capture cost left memory. Views handed out before (`wireChunk`)
 * stay right: the buffer is dropped, not reused.
 */
export function releaseLive(live: Live): { events: number; cost: number } {
  const events = live.kinds.length;
  if (events > 0) live.releasedSeq = live.seqs[events - 1];
  live.base += events;
  live.kinds = [];
  live.seqs = [];
  live.times = [];
  live.items = [];
  live.written = 0;
  const w = live.wire;
  const cost = w.cost - w.released;
  w.released = w.cost;
  w.base += w.ends.length;
  w.dirs = [];
  w.times = [];
  w.ends = [];
  w.data = EMPTY;
  w.used = 0;
  w.secrets = null;
  w.written = 0;
  live.compact = true;
  return { events, cost };
}
