/**
 * Listeners: one TCP server per configured listener name, plain or implicit TLS, with per-IP and
 * total connection limits. The per-IP count is kept per protocol (SMTP, POP3, IMAP), so connections
 * of one protocol, such as trickling SMTP clients, cannot lock an address out of the others. Each accepted connection becomes a Connection handed to the protocol
 * engine's `run`; when it returns, the session summary is logged and the slot is freed. Nothing per
 * session waits on `run` but one reaction (no suspended function, no promise chain of its own).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log.js';
import type { Protocol } from '../trace/bus.js';
import { SessionTrace, type TraceBus } from '../trace/bus.js';
import { Connection } from './connection.js';
import { KEYLOG_NOTE, type TlsKeyLog } from './keylog.js';
import type { Spool } from './spool.js';

/** How long `NetServer.close` waits for destroyed sessions to return (a store write finishing). */
const AFTER_DESTROY_MS = 5000;

export interface SessionHandler {
  readonly protocol: Protocol;
  readonly idleTimeoutMs: number;
  /** The line sent before closing a connection refused for a limit (no CRLF). */
  busyReply(reason: 'per-ip' | 'total' | 'shutdown'): string;
  /** Serves one session until it ends; returns fields for the session summary log line. */
  run(conn: Connection): Promise<Record<string, unknown> | undefined>;
}

/** The human part of a refusal for a connection limit, the same in every protocol. */
export function busyText(reason: 'per-ip' | 'total' | 'shutdown'): string {
  switch (reason) {
    case 'per-ip':
      return 'Too many connections from your address; try again later';
    case 'shutdown':
      return 'Server shutting down; try again later';
    default:
      return 'Too many connections; try again later';
  }
}

export interface ListenerSpec {
  name: string;
  host: string;
  port: number;
  implicitTls: boolean;
  handler: SessionHandler;
}

/** An accepted connection, from its slot to its summary line (`NetServer.#ended`). */
interface Accepted {
  spec: ListenerSpec;
  socket: net.Socket;
  slot: string;
  sid: string;
  ip: string;
  trace: SessionTrace;
  started: number;
  conn: Connection | null;
}

export class ListenError extends Error {
  override name = 'ListenError';
}

export class NetServer {
  readonly servers: { spec: ListenerSpec; server: net.Server; address: net.AddressInfo }[] = [];
  #perIp = new Map<string, number>();
  #total = 0;
  #sessions = new Set<Connection>();
  #handshaking = new Set<tls.TLSSocket>();
  #seq = 0;
  #prefix = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
  #stopping = false;
  #closed: Promise<unknown> = Promise.resolve();
  /**
   * Accepted connections whose session has not ended and freed its slot yet, and who waits for that
   * count to reach 0 (`#sessionsEnded`). A count, not a promise per connection: a session in IMAP IDLE
   * for hours would hold that promise and its reactions all along.
   */
  #running = 0;
  #whenNoneRunning: (() => void)[] = [];
  #refusals = 0;
  #lastRefusalLog = 0;

  constructor(
    private readonly deps: {
      bus: TraceBus;
      log: Logger;
      limits: {
        /** Per address and protocol: one number for all, or one per protocol (absent: 50). */
        connectionsPerIp: number | Partial<Record<Protocol, number>>;
        maxConnections: number;
        /** See Connection: unsent output bound and minimum body rate. */
        maxUnsentOutput?: number;
        minDataRate?: number;
      };
      tlsContext: () => tls.SecureContext;
      /** Opt-in TLS key logging (web lab); absent or off: nothing is logged. */
      keylog?: TlsKeyLog;
      /** Where message bodies wait (default: a temporary-directory spool). */
      spool?: Spool;
      /**
       * Put before every session id (e.g. `NODE-`): the node's name when several nodes share one store,
       * so that the lab's session ids, kept in that store, are unique across nodes.
       */
      sessionIdPrefix?: string;
    },
  ) {}

  get sessionCount(): number {
    return this.#total;
  }

  async listen(spec: ListenerSpec): Promise<net.AddressInfo> {
    // allowHalfOpen: a client that shuts down its sending side (`nc`, a script) still gets the replies
    // to what it sent (e.g. a failed login's, which comes after the failure delay); the session closes
    // the socket when it has answered everything and reads the end of input.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      this.#running++;
      // #accept catches what it can meet; the catch here is the last resort (its promise is short-lived:
      // the session itself is followed by `run(...).then`, see there).
      this.#accept(spec, socket).catch((err: unknown) => {
        this.deps.log.error({ err, listener: spec.name }, 'accepting a connection failed');
        this.#done();
      });
    });
    server.maxConnections = this.deps.limits.maxConnections + 100;
    const bind = (host: string) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: spec.port, backlog: 1024 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    try {
      await bind(spec.host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // `::` (the default) takes IPv6 and IPv4 at once; on a host without IPv6, IPv4 alone.
      if (spec.host === '::' && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) {
        this.deps.log.warn({ listener: spec.name, err: e.code }, 'IPv6 is not available: listening on IPv4 only');
        await bind('0.0.0.0').catch((again: NodeJS.ErrnoException) => {
          throw new ListenError(describeListenError(spec, again));
        });
      } else throw new ListenError(describeListenError(spec, e));
    }
    server.on('error', (err) => this.deps.log.error({ err, listener: spec.name }, 'listener error'));
    const address = server.address() as net.AddressInfo;
    this.servers.push({ spec, server, address });
    return address;
  }

  #perIpLimit(protocol: Protocol): number {
    const limit = this.deps.limits.connectionsPerIp;
    return typeof limit === 'number' ? limit : (limit[protocol] ?? 50);
  }

  async #accept(spec: ListenerSpec, socket: net.Socket): Promise<void> {
    const ip = normalizeIp(socket.remoteAddress ?? '');
    socket.on('error', () => {});
    const protocol = spec.handler.protocol;
    const slot = `${protocol} ${ip}`;
    const count = this.#perIp.get(slot) ?? 0;
    let refuse: 'per-ip' | 'total' | 'shutdown' | null = null;
    if (this.#stopping) refuse = 'shutdown';
    else if (this.#total >= this.deps.limits.maxConnections) refuse = 'total';
    else if (count >= this.#perIpLimit(protocol)) refuse = 'per-ip';
    if (refuse) {
      this.#refusals++;
      // One line per second at most: a flood of refused connections must not flood the log.
      const now = Date.now();
      if (now - this.#lastRefusalLog >= 1000) {
        this.deps.log.warn(
          { listener: spec.name, remote: ip, reason: refuse, refused: this.#refusals },
          'connection refused: limit reached',
        );
        this.#lastRefusalLog = now;
        this.#refusals = 0;
      }
      if (!spec.implicitTls) socket.end(`${spec.handler.busyReply(refuse)}\r\n`);
      else socket.destroy();
      this.#done();
      return;
    }
    this.#perIp.set(slot, count + 1);
    this.#total++;
    const sid = `${this.deps.sessionIdPrefix ?? ''}${this.#prefix}${(++this.#seq).toString(36).padStart(5, '0')}`;
    const session: Accepted = {
      spec,
      socket,
      slot,
      sid,
      ip,
      trace: new SessionTrace(this.deps.bus, sid),
      started: Date.now(),
      conn: null,
    };
    let run: Promise<Record<string, unknown> | undefined>;
    try {
      let stream: net.Socket = socket;
      if (spec.implicitTls) stream = await this.#handshake(socket, spec.handler.idleTimeoutMs, sid);
      const conn = new Connection({
        socket: stream,
        trace: session.trace,
        idleTimeoutMs: spec.handler.idleTimeoutMs,
        maxUnsent: this.deps.limits.maxUnsentOutput,
        minDataRate: this.deps.limits.minDataRate,
        keylog: this.deps.keylog,
        spool: this.deps.spool,
        info: {
          id: sid,
          listener: spec.name,
          remoteAddress: ip,
          remotePort: socket.remotePort ?? 0,
          localAddress: normalizeIp(socket.localAddress ?? ''),
          localPort: socket.localPort ?? 0,
        },
      });
      session.conn = conn;
      this.deps.bus.emit({
        type: 'open',
        sid,
        t: session.started,
        proto: spec.handler.protocol,
        listener: spec.name,
        remote: ip,
        remotePort: conn.remotePort,
        local: conn.localAddress,
        localPort: conn.localPort,
        tls: spec.implicitTls,
      });
      if (spec.implicitTls && this.deps.keylog?.has(sid)) session.trace.note(KEYLOG_NOTE);
      this.#sessions.add(conn);
      run = spec.handler.run(conn);
    } catch (err) {
      this.#ended(session, undefined, err);
      return;
    }
    // Not awaited: this function ends here, so a session that lasts hours (IMAP IDLE) holds one
    // reaction on its engine's promise, not also this function's suspended frame.
    run.then(
      (summary) => this.#ended(session, summary, null),
      (err: unknown) => this.#ended(session, undefined, err),
    );
  }

  /** A session has ended (or could not start): closes it, frees its slot and logs its summary line. */
  #ended(session: Accepted, summary: Record<string, unknown> | undefined, failure: unknown): void {
    try {
      const { conn, spec, trace } = session;
      if (conn) {
        this.#sessions.delete(conn);
        conn.close();
        trace.close(failure ? 'error' : 'closed');
      } else {
        session.socket.destroy();
      }
      this.#total--;
      const left = (this.#perIp.get(session.slot) ?? 1) - 1;
      if (left <= 0) this.#perIp.delete(session.slot);
      else this.#perIp.set(session.slot, left);
      const fields = {
        sid: session.sid,
        listener: spec.name,
        proto: spec.handler.protocol,
        remote: session.ip,
        tls: conn?.tlsInfo?.protocol ?? null,
        ms: Date.now() - session.started,
        in: conn?.bytesIn ?? 0,
        out: conn?.bytesOut ?? 0,
        ...summary,
      };
      if (failure && !isClientGone(failure)) this.deps.log.error({ ...fields, err: failure }, 'session failed');
      else this.deps.log.info(fields, 'session');
    } catch (err) {
      this.deps.log.error({ err, sid: session.sid }, 'ending a session failed');
    } finally {
      this.#done();
    }
  }

  /** One accepted connection less (see `#running`). */
  #done(): void {
    if (--this.#running > 0) return;
    for (const wake of this.#whenNoneRunning.splice(0)) wake();
  }

  #handshake(socket: net.Socket, timeoutMs: number, sid: string): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.deps.tlsContext() });
      this.deps.keylog?.attach(secure, sid);
      this.#handshaking.add(secure);
      const done = (err: Error | null) => {
        clearTimeout(timer);
        this.#handshaking.delete(secure);
        secure.off('secure', onSecure);
        secure.off('error', onError);
        secure.off('close', onClose);
        socket.off('close', onClose);
        socket.off('end', onClose);
        secure.off('end', onClose);
        if (err) {
          secure.destroy();
          reject(Object.assign(err, { clientGone: true }));
        } else {
          resolve(secure);
        }
      };
      const onSecure = () => done(null);
      const onError = (err: Error) => done(err);
      // A peer that closes before or during the handshake produces neither 'secure' nor 'error'; with
      // half-open sockets (see listen) its end of input does not close the socket, so watch for it too.
      const onClose = () => done(new Error('connection closed during the TLS handshake'));
      const timer = setTimeout(() => done(new Error('TLS handshake timed out')), Math.min(timeoutMs, 30_000));
      secure.once('secure', onSecure);
      secure.once('error', onError);
      secure.once('close', onClose);
      socket.once('close', onClose);
      socket.once('end', onClose);
      secure.once('end', onClose);
    });
  }

  /**
   * Begins a shutdown: stops accepting on every listener (a connection that slips in gets the busy
   * reply) and asks every session to say goodbye at its next safe point (`Connection.requestShutdown`:
   * between commands, or once the DATA, BDAT chunk or literal it is receiving is complete).
   */
  beginClose(): void {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#closed = Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
    }
    for (const conn of this.#sessions) conn.requestShutdown();
  }

  /**
   * Ends every session (`beginClose`, then waiting for the goodbyes); sessions still open at `deadline`
   * (ms since the epoch; default now) are destroyed. Resolves when every session has ended and every
   * listener is closed.
   */
  async close(opts: { deadline?: number } = {}): Promise<void> {
    this.beginClose();
    for (const socket of this.#handshaking) socket.destroy();
    await this.#sessionsEnded((opts.deadline ?? 0) - Date.now());
    // server.close() resolves only when every connection has ended, so end the rest now.
    for (const conn of this.#sessions) conn.destroy();
    for (const socket of this.#handshaking) socket.destroy();
    // A destroyed session returns as soon as its engine sees EOF (a store write in flight completes
    // first); AFTER_DESTROY_MS bounds the wait for one stuck elsewhere.
    await this.#sessionsEnded(AFTER_DESTROY_MS);
    await this.#closed;
  }

  /** Waits until every session has ended, or `ms` have passed. */
  async #sessionsEnded(ms: number): Promise<void> {
    if (this.#running === 0 || ms <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#whenNoneRunning.push(resolve);
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
  }
}

function describeListenError(spec: ListenerSpec, err: NodeJS.ErrnoException): string {
  const where = `${spec.host}:${spec.port}`;
  const fix = `change listen.${spec.name} in the config file or pass --listen ${spec.name}=HOST:PORT (or ${spec.name}=off)`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `cannot listen for ${spec.name} on ${where}: the port is already in use (is another mail server running?); ${fix}`;
    case 'EACCES':
      return `cannot listen for ${spec.name} on ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); ${fix}`;
    case 'EADDRNOTAVAIL':
      return `cannot listen for ${spec.name} on ${where}: this machine has no such address; ${fix}`;
    default:
      return `cannot listen for ${spec.name} on ${where}: ${err.code ?? err.message}; ${fix}`;
  }
}

export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function isClientGone(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: string; clientGone?: boolean };
  return e.clientGone === true || e.code === 'ECONNRESET' || e.code === 'EPIPE';
}
