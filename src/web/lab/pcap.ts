/**
 * A traced session as a classic libpcap file (LINKTYPE_ETHERNET) that Wireshark and tshark open and
 * decode as SMTP, POP3, IMAP or ManageSieve: the conversation is synthesized as TCP packets from the trace events.
 *
 * Invariants:
 * - Pure: events in, bytes out. The same events always give the same file.
 * - The TCP stream is consistent: a 3-way handshake, sequence and acknowledgement numbers that
 *   count every payload byte, segments of at most 1460 bytes (the MSS announced in the SYNs), valid
 *   IPv4 header and TCP checksums, FIN/ACK at the 'close' event. Timestamps are the events' times.
 */
import type { LoggedWire } from '../../store/types.js';
import type { TraceEvent } from '../../trace/bus.js';

const LINKTYPE_ETHERNET = 1;
const MSS = 1460;
const SNAPLEN = 65535;
/** Lines in one direction less than this apart (ms) travel in one segment, as corked output does. */
const COALESCE_MS = 10;
const CLIENT_MAC = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
const SERVER_MAC = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
/** Initial sequence numbers: fixed, so exports are reproducible. */
const CLIENT_ISN = 0x10000000;
const SERVER_ISN = 0x20000000;

/** The cleartext port Wireshark decodes by default, for sessions opened on an implicit-TLS listener. */
const CLEARTEXT_PORT = { smtp: 587, pop3: 110, imap: 143, managesieve: 4190 } as const;

/** The standard cleartext port of each listener, which Wireshark's dissectors know without Decode As. */
const STANDARD_PORT: Record<string, number> = {
  smtp: 25,
  submission: 587,
  submissions: 587,
  pop3: 110,
  pop3s: 110,
  imap: 143,
  imaps: 143,
  managesieve: 4190,
};

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

type Open = Extract<TraceEvent, { type: 'open' }>;

/**
 * Writes the events of one session ('open' first) as a pcap file with a synthesized TCP conversation
 * between the client's and the server's real addresses.
 *
 * - The payload is the bytes the connection carried (`wire`, as the recorder kept them): every literal,
 *   message body and line ending, in the order and chunks they crossed the wire, with credentials
 *   masked at the same length unless `passwords` asks for the originals (which exist only for
 *   cleartext sessions recorded with lab.capture_passwords). A capture cut at lab.capture_bytes ends
 *   with what it has, then the close. Chunks in one direction less than 10 ms apart share segments.
 * - Sessions recorded before the bytes were kept (no `wire`) are written from their lines instead:
 *   each 'in' and 'out' line with CRLF, abbreviated as the transcript shows them.
 * - The server port is the standard cleartext port of the listener the session came in on (smtp 25,
 *   submission 587, pop3 110, imap 143, managesieve 4190), whatever port the server really listens on,
 *   so Wireshark picks the SMTP, POP and IMAP dissectors by itself (it has none for ManageSieve: 4190 is
 *   its IANA port, and Follow TCP Stream reads it). Sessions on an implicit-TLS listener (465, 995,
 *   993) are written with the cleartext port of the same protocol (587, 110, 143): Wireshark would
 *   otherwise decode those ports as TLS. A listener name postbode does not know keeps its real port.
 *   A classic pcap file has no place for a comment saying so, hence this note.
 * - After STARTTLS/STLS the lines are written in clear text too: the lab shows what TLS hides.
 */
export function sessionToPcap(
  events: TraceEvent[],
  wire: readonly LoggedWire[] = [],
  opts: { passwords?: boolean } = {},
): Buffer {
  const open = events.find((e): e is Open => e.type === 'open');
  const out: Buffer[] = [globalHeader()];
  if (!open) return Buffer.concat(out);
  const v6 = open.remote.includes(':') || open.local.includes(':');
  const clientIp = ipBytes(open.remote, v6);
  const serverIp = ipBytes(open.local, v6);
  const serverPort = STANDARD_PORT[open.listener] ?? (open.tls ? CLEARTEXT_PORT[open.proto] : open.localPort);
  const clientPort = open.remotePort || 49152;
  const state = { client: CLIENT_ISN, server: SERVER_ISN, ipId: 1, lastUs: 0 };

  const packet = (fromClient: boolean, flags: number, payload: Buffer, ms: number, options = EMPTY) => {
    let us = Math.round(ms * 1000);
    if (us <= state.lastUs) us = state.lastUs + 1;
    state.lastUs = us;
    const seq = fromClient ? state.client : state.server;
    const ack = flags & ACK ? (fromClient ? state.server : state.client) : 0;
    const tcp = tcpSegment({
      srcPort: fromClient ? clientPort : serverPort,
      dstPort: fromClient ? serverPort : clientPort,
      seq,
      ack,
      flags,
      options,
      payload,
    });
    const src = fromClient ? clientIp : serverIp;
    const dst = fromClient ? serverIp : clientIp;
    tcpChecksum(tcp, src, dst);
    const ip = v6 ? ipv6Header(src, dst, tcp.length) : ipv4Header(src, dst, tcp.length, state.ipId++);
    const frame = Buffer.concat([
      fromClient ? SERVER_MAC : CLIENT_MAC,
      fromClient ? CLIENT_MAC : SERVER_MAC,
      u16(v6 ? 0x86dd : 0x0800),
      ip,
      tcp,
    ]);
    out.push(recordHeader(us, frame.length), frame);
    const advance = payload.length + (flags & (SYN | FIN) ? 1 : 0);
    if (fromClient) state.client = (state.client + advance) >>> 0;
    else state.server = (state.server + advance) >>> 0;
  };

  // The 3-way handshake, with the MSS option (kind 2, length 4) in both SYNs.
  const mssOption = Buffer.from([2, 4, MSS >> 8, MSS & 0xff]);
  packet(true, SYN, EMPTY, open.t, mssOption);
  packet(false, SYN | ACK, EMPTY, open.t, mssOption);
  packet(true, ACK, EMPTY, open.t);

  let pending: { fromClient: boolean; t: number; parts: Buffer[] } | null = null;
  const flush = () => {
    if (!pending) return;
    const data = Buffer.concat(pending.parts);
    for (let off = 0; off < data.length; off += MSS) {
      packet(pending.fromClient, PSH | ACK, data.subarray(off, off + MSS), pending.t);
    }
    pending = null;
  };
  const add = (fromClient: boolean, t: number, data: Buffer) => {
    if (pending && (pending.fromClient !== fromClient || t - pending.t >= COALESCE_MS)) flush();
    if (!pending) pending = { fromClient, t, parts: [] };
    pending.parts.push(data);
  };
  let closedAt: number | null = null;
  for (const e of events) {
    if (e.type === 'close') closedAt = e.t;
    if (wire.length > 0 || (e.type !== 'in' && e.type !== 'out')) continue;
    add(e.type === 'in', e.t, Buffer.from(`${e.text}\r\n`, 'utf8'));
  }
  for (const chunk of wire) add(chunk.dir === 'in', chunk.t, opts.passwords ? unmasked(chunk) : chunk.data);
  flush();
  if (closedAt !== null) {
    // The server closes (after QUIT/LOGOUT, or on its own), the client answers with its FIN.
    packet(false, FIN | ACK, EMPTY, closedAt);
    packet(true, FIN | ACK, EMPTY, closedAt);
    packet(false, ACK, EMPTY, closedAt);
  }
  return Buffer.concat(out);
}

const EMPTY = Buffer.alloc(0);

/** A chunk with the originals of its masked ranges put back (when they were kept). */
function unmasked(chunk: LoggedWire): Buffer {
  if (!chunk.secrets?.length) return chunk.data;
  const b = Buffer.from(chunk.data);
  for (const [offset, original] of chunk.secrets) original.copy(b, offset);
  return b;
}

/** How the recorder's note about a cut capture begins (src/web/recorder/index.ts). */
export const CAPTURE_CUT_NOTE = 'capture cut after ';

/** Whether a capture holds the originals of masked credentials (its unredacted form exists). */
export function hasPasswords(wire: readonly LoggedWire[]): boolean {
  return wire.some((c) => c.secrets !== null && c.secrets.length > 0);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function globalHeader(): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(0xa1b2c3d4, 0); // microsecond timestamps, little-endian file
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8); // thiszone
  b.writeUInt32LE(0, 12); // sigfigs
  b.writeUInt32LE(SNAPLEN, 16);
  b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return b;
}

function recordHeader(us: number, length: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(Math.floor(us / 1e6) >>> 0, 0);
  b.writeUInt32LE(us % 1e6, 4);
  b.writeUInt32LE(length, 8);
  b.writeUInt32LE(length, 12);
  return b;
}

function tcpSegment(p: {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  options: Buffer;
  payload: Buffer;
}): Buffer {
  const headerLength = 20 + p.options.length;
  const b = Buffer.alloc(headerLength + p.payload.length);
  b.writeUInt16BE(p.srcPort, 0);
  b.writeUInt16BE(p.dstPort, 2);
  b.writeUInt32BE(p.seq >>> 0, 4);
  b.writeUInt32BE(p.ack >>> 0, 8);
  b[12] = (headerLength / 4) << 4;
  b[13] = p.flags;
  b.writeUInt16BE(65535, 14); // window
  // 16: checksum, filled in by tcpChecksum; 18: urgent pointer 0
  p.options.copy(b, 20);
  p.payload.copy(b, headerLength);
  return b;
}

/** RFC 9293 §3.1: the checksum covers a pseudo-header (RFC 8200 §8.1 for IPv6) and the segment. */
function tcpChecksum(tcp: Buffer, src: Buffer, dst: Buffer): void {
  const pseudo =
    src.length === 4
      ? Buffer.concat([src, dst, Buffer.from([0, 6]), u16(tcp.length)])
      : Buffer.concat([src, dst, u32(tcp.length), Buffer.from([0, 0, 0, 6])]);
  tcp.writeUInt16BE(0, 16);
  tcp.writeUInt16BE(checksum(Buffer.concat([pseudo, tcp])), 16);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function ipv4Header(src: Buffer, dst: Buffer, payloadLength: number, id: number): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x45;
  b.writeUInt16BE(20 + payloadLength, 2);
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(0x4000, 6); // don't fragment
  b[8] = 64; // TTL
  b[9] = 6; // TCP
  src.copy(b, 12);
  dst.copy(b, 16);
  b.writeUInt16BE(checksum(b), 10);
  return b;
}

function ipv6Header(src: Buffer, dst: Buffer, payloadLength: number): Buffer {
  const b = Buffer.alloc(40);
  b.writeUInt32BE(0x60000000, 0);
  b.writeUInt16BE(payloadLength, 4);
  b[6] = 6; // next header: TCP
  b[7] = 64; // hop limit
  src.copy(b, 8);
  dst.copy(b, 24);
  return b;
}

/** The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words. */
export function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += data.readUInt16BE(i);
  if (data.length % 2) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An address as 4 (IPv4) or 16 (IPv6) bytes; IPv4 becomes ::ffff:a.b.c.d in an IPv6 conversation. */
export function ipBytes(address: string, v6: boolean): Buffer {
  const addr = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (v4) {
    const four = Buffer.from(v4.slice(1, 5).map(Number));
    return v6 ? Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), four]) : four;
  }
  if (!addr.includes(':')) return v6 ? Buffer.alloc(16) : Buffer.from([127, 0, 0, 1]);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(addr);
  if (mapped && !v6) return ipBytes(mapped[1], false);
  return ipv6Bytes(addr);
}

function ipv6Bytes(addr: string): Buffer {
  const out = Buffer.alloc(16);
  let text = addr;
  const tailV4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  const words: number[] = [];
  if (tailV4) {
    const [a, b, c, d] = tailV4.slice(1, 5).map(Number);
    text = `${text.slice(0, tailV4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const parse = (s: string) => (s ? s.split(':').map((w) => Number.parseInt(w, 16) || 0) : []);
  const h = parse(head);
  const t = tail === null ? [] : parse(tail);
  words.push(...h, ...new Array(Math.max(0, 8 - h.length - t.length)).fill(0), ...t);
  for (let i = 0; i < 8; i++) out.writeUInt16BE((words[i] ?? 0) & 0xffff, i * 2);
  return out;
}
