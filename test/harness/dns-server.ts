/**
 * A tiny authoritative DNS server on loopback for tests (UDP and TCP on the same ephemeral port), so
 * MX, SPF, DKIM and DMARC lookups never leave the machine. Point postbode at it with
 * `--set 'delivery.dns_servers=["127.0.0.1:PORT"]'`.
 *
 * Answers, by the records map (names are matched case-insensitively, without a trailing dot):
 * - a name with records of the asked type → NOERROR with those records (TTL 60);
 * - a name in a served zone with no records of that type (or an empty non-terminal) → NOERROR, no
 *   answers (NODATA);
 * - any other name in a served zone → NXDOMAIN;
 * - a name outside every served zone → REFUSED (a resolver reports a temporary error).
 * Served zones are `opts.zones`, or by default the last two labels of every name in the map.
 * A UDP answer over 512 bytes (or over the client's EDNS size) is sent truncated (TC), so the client
 * retries over TCP, as RFC 1035 §4.2.1 and RFC 7766 expect.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

/** Records of one name. TXT values longer than 255 bytes are split into several strings. */
export interface DnsRecordSet {
  A?: string[];
  AAAA?: string[];
  MX?: { exchange: string; preference: number }[];
  TXT?: string[];
  SRV?: { priority: number; weight: number; port: number; target: string }[];
  PTR?: string[];
  CNAME?: string;
}

/** Name (e.g. `_dmarc.a.test`) → its records. */
export type DnsRecords = Record<string, DnsRecordSet>;

export interface DnsServer {
  port: number;
  address: string;
  /** `address:port`, as `delivery.dns_servers` takes it. */
  server: string;
  /** Replaces every record (and the served zones, unless they were given when starting). */
  set(records: DnsRecords): void;
  /** While true, queries are read and dropped: the server looks down, clients time out. */
  drop(on: boolean): void;
  /** The questions asked so far, as `TYPE name`. */
  queries: string[];
  stop(): Promise<void>;
}

const RCODE = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5 } as const;

const norm = (name: string) => name.toLowerCase().replace(/\.$/, '');

/**
 * Starts the server on 127.0.0.1 (UDP and TCP, one ephemeral port) serving `records`.
 * @param opts.zones served zones; default: the last two labels of each record name.
 */
export async function startDnsServer(records: DnsRecords, opts: { zones?: string[] } = {}): Promise<DnsServer> {
  let table = new Map<string, DnsRecordSet>();
  let zones: string[] = [];
  let dropping = false;
  const queries: string[] = [];
  const load = (r: DnsRecords) => {
    table = new Map(Object.entries(r).map(([k, v]) => [norm(k), v]));
    zones = (opts.zones ?? [...table.keys()].map((n) => n.split('.').slice(-2).join('.'))).map(norm);
  };
  load(records);

  const answer = (query: Buffer): Buffer | null => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(query);
    } catch {
      return null;
    }
    const question = q.questions?.[0];
    if (!question) return null;
    const name = norm(question.name);
    queries.push(`${question.type} ${name}`);
    const answers: dnsPacket.Answer[] = [];
    let rcode: number = RCODE.NOERROR;
    const set = table.get(name);
    const inZone = zones.some((z) => name === z || name.endsWith(`.${z}`));
    const exists = set !== undefined || [...table.keys()].some((n) => n.endsWith(`.${name}`));
    if (!inZone) rcode = RCODE.REFUSED;
    else if (!exists) rcode = RCODE.NXDOMAIN;
    else if (set) answers.push(...recordsOf(question.name, question.type, set));
    const response: dnsPacket.Packet = {
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
      questions: [question],
      answers,
    };
    return dnsPacket.encode(response);
  };

  const onUdp = (udp: dgram.Socket) => (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    if (dropping) return;
    let out = answer(msg);
    if (!out) return;
    const opt = safeDecode(msg)?.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    const limit = Math.max(512, opt?.udpPayloadSize ?? 512);
    if (out.length > limit) out = truncated(out);
    udp.send(out, rinfo.port, rinfo.address);
  };
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      // RFC 1035 §4.2.2: each message is preceded by its two-byte length.
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        if (dropping) continue;
        const out = answer(msg);
        if (!out) continue;
        const head = Buffer.alloc(2);
        head.writeUInt16BE(out.length);
        socket.write(Buffer.concat([head, out]));
      }
    });
  });

  // Bind UDP on an ephemeral port, then TCP on the same one; retry when that TCP port is taken.
  let port = 0;
  let udp: dgram.Socket;
  for (let attempt = 0; ; attempt++) {
    const socket = dgram.createSocket('udp4');
    udp = socket;
    socket.on('message', onUdp(socket));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    port = socket.address().port;
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) break;
    socket.close();
    if (attempt > 20) throw new Error('dns-server: no port free for both UDP and TCP');
  }

  return {
    port,
    address: '127.0.0.1',
    server: `127.0.0.1:${port}`,
    set: load,
    drop(on) {
      dropping = on;
    },
    queries,
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
}

function safeDecode(buf: Buffer): dnsPacket.Packet | null {
  try {
    return dnsPacket.decode(buf);
  } catch {
    return null;
  }
}

/** The header and question of a response with TC set and no records (RFC 2181 §9). */
function truncated(full: Buffer): Buffer {
  const p = dnsPacket.decode(full);
  return dnsPacket.encode({ ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
}

function recordsOf(name: string, type: string, set: DnsRecordSet): dnsPacket.Answer[] {
  const base = { name, ttl: 60, class: 'IN' as const };
  if (set.CNAME) return [{ ...base, type: 'CNAME', data: set.CNAME }];
  switch (type) {
    case 'A':
      return (set.A ?? []).map((data) => ({ ...base, type: 'A', data }));
    case 'AAAA':
      return (set.AAAA ?? []).map((data) => ({ ...base, type: 'AAAA', data }));
    case 'MX':
      return (set.MX ?? []).map((data) => ({ ...base, type: 'MX', data }));
    case 'TXT':
      return (set.TXT ?? []).map((value) => ({ ...base, type: 'TXT', data: splitTxt(value) }));
    case 'SRV':
      return (set.SRV ?? []).map((data) => ({ ...base, type: 'SRV', data }));
    case 'PTR':
      return (set.PTR ?? []).map((data) => ({ ...base, type: 'PTR', data }));
    default:
      return [];
  }
}

/** A TXT value as character-strings of at most 255 bytes (RFC 1035 §3.3.14, RFC 7208 §3.3). */
function splitTxt(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out.length > 0 ? out : [Buffer.alloc(0)];
}
