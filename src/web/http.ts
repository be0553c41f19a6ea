/**
 * The HTTP(S) listener of the web lab (@hono/node-server). HTTPS uses the mail TLS material (the
 * configured certificate, the generated self-signed one or the ACME one), re-read per handshake so a
 * renewed certificate is used without a restart of this listener: through the SNI callback for clients
 * that name the server, and by replacing the server's default context for those that do not.
 *
 * Invariants (docs/security.md#web-and-live-streams):
 * - Connections are counted per client address and in all; one beyond `connectionsPerIp` or
 *   `maxConnections` is closed as soon as it is accepted, so a flood on this port cannot use up the
 *   process's file descriptors and starve the mail listeners.
 * - A request must be complete (headers and body) within `requestTimeoutMs`, its headers within the
 *   smaller of that and 10 s; a TLS handshake within the header time. Node answers 408 and closes.
 *   The timeouts cover receiving the request only: a long response (an SSE stream) is not cut.
 * - Idle keep-alive connections close after 5 s; one connection serves at most 1000 requests and
 *   100 header lines per request.
 * - The body limit is the app's (app.ts, security.ts), checked before a byte of the body is read; a
 *   client that asks first (`Expect: 100-continue`) with too large a Content-Length gets 413 at once
 *   instead of `100 Continue`.
 * - A connection closed while the client is still sending its request body (an early 413 or 503)
 *   closes lingering: the answer is sent and the write side shut, then the rest is read and dropped
 *   until the client closes or `LINGER_MS` passes. Closing with unread bytes would make the kernel
 *   send a reset, which can discard the answer before the client reads it.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from '../log.js';
import { ListenError, normalizeIp } from '../net/listener.js';
import type { TlsMaterial } from '../net/tls.js';
import type { WebEnv } from './context.js';
import { SECURITY_HEADERS, tooLargeMessage } from './security.js';
import { endEventStream, isEventStream } from './sse.js';

export interface WebListener {
  host: string;
  port: number;
  /** Refuses new connections; those open go on. */
  stopAccepting(): void;
  /**
   * Stops accepting, ends every event stream with a last event saying the server is shutting down,
   * closes idle connections, and lets requests in progress finish for up to `CLOSE_GRACE_MS` (or until
   * `deadline`, ms since the epoch, if sooner) before closing every connection.
   */
  close(deadline?: number): Promise<void>;
}

export interface WebLimits {
  /** Concurrent connections from one address (web.connections_per_ip). */
  connectionsPerIp: number;
  /** Concurrent connections in all (web.max_connections). */
  maxConnections: number;
  /** Milliseconds to receive a whole request (web.request_timeout). */
  requestTimeoutMs: number;
  /** Largest request body (web.max_body_size); the app enforces it, this only answers 100-continue. */
  maxBodyBytes: number;
}

export const DEFAULT_WEB_LIMITS: WebLimits = {
  connectionsPerIp: 128,
  maxConnections: 1024,
  requestTimeoutMs: 30_000,
  maxBodyBytes: 1 << 20,
};

/** Longest time for the request headers (and a TLS handshake), whatever the request timeout. */
const MAX_HEADERS_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const MAX_REQUESTS_PER_SOCKET = 1000;
const MAX_HEADERS_COUNT = 100;
/** Longest time a connection lingers after an early answer, dropping the unread body (see above). */
const LINGER_MS = 2_000;
/** Longest time requests in progress may take to finish when the listener closes. */
const CLOSE_GRACE_MS = 2_000;
/** Refused connections are logged at most this often (with how many there were). */
const REFUSED_LOG_EVERY_MS = 60_000;

export async function startWebListener(opts: {
  app: Hono<WebEnv>;
  host: string;
  port: number;
  /** Serve HTTPS with this material; plain HTTP when absent. */
  tls?: TlsMaterial;
  limits?: WebLimits;
  log?: Logger;
  /**
   * Answers ACME http-01 challenges (`/.well-known/acme-challenge/…`) before the app when this plain
   * listener is the one the CA reaches (`tls.acme_http = "off"`); undefined: not a pending challenge.
   */
  acmeChallenge?: (
    urlPath: string,
    from: { host: string | undefined; remote: string | undefined },
  ) => Promise<string | undefined>;
}): Promise<WebListener> {
  const { tls } = opts;
  const limits = opts.limits ?? DEFAULT_WEB_LIMITS;
  const requestTimeout = Math.max(1, Math.round(limits.requestTimeoutMs));
  const headersTimeout = Math.min(requestTimeout, MAX_HEADERS_TIMEOUT_MS);
  const timeouts = {
    requestTimeout,
    headersTimeout,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Node checks the request and header timeouts on this interval (30 s by default, which would let a
    // slow request live up to 30 s beyond its timeout).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
  const fetch = opts.acmeChallenge ? acmeChallengeFirst(opts.app, opts.acmeChallenge) : opts.app.fetch;
  const server = tls
    ? createAdaptorServer({
        fetch,
        createServer: https.createServer,
        serverOptions: {
          ...timeouts,
          handshakeTimeout: headersTimeout,
          cert: tls.cert,
          key: tls.key,
          SNICallback: (_name, cb) => cb(null, tls.context),
        },
      })
    : createAdaptorServer({ fetch, createServer: http.createServer, serverOptions: timeouts });
  const nodeServer = server as http.Server;
  // Clients without SNI get the default context, which is set from the certificate at creation.
  const unwatch = tls?.watch?.((m) => (server as https.Server).setSecureContext({ cert: m.cert, key: m.key }));
  nodeServer.requestTimeout = requestTimeout;
  nodeServer.headersTimeout = headersTimeout;
  nodeServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  nodeServer.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
  nodeServer.maxHeadersCount = MAX_HEADERS_COUNT;
  nodeServer.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBodyBytes) {
      const body = JSON.stringify({ error: tooLargeMessage(limits.maxBodyBytes), limit: limits.maxBodyBytes });
      res.writeHead(413, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', Connection: 'close' });
      res.end(body);
      return;
    }
    res.writeContinue();
    nodeServer.emit('request', req, res);
  });
  const counter = new ConnectionCounter(limits, opts.log);
  // The raw TCP connection, also for HTTPS (before the handshake).
  nodeServer.on('connection', (socket: Socket) => counter.accept(socket));
  const current = new WeakMap<Socket, http.IncomingMessage>();
  /** Responses in progress (event streams among them), for close(). */
  const responses = new Set<http.ServerResponse>();
  nodeServer.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    responses.add(res);
    res.once('close', () => responses.delete(res));
    const socket = req.socket;
    if (!current.has(socket)) lingerOnEarlyClose(socket, () => current.get(socket));
    current.set(socket, req);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${opts.host}:${opts.port}`;
      if (err.code === 'EADDRINUSE') {
        reject(
          new ListenError(
            `cannot listen on ${where} for http: the port is in use (stop the other program or choose another port with --listen http=HOST:PORT, or http=off)`,
          ),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new ListenError(
            `cannot listen on ${where} for http: permission denied (ports below 1024 need privileges; choose another with --listen http=HOST:PORT)`,
          ),
        );
      } else reject(new ListenError(`cannot listen on ${where} for http: ${err.message}`));
    };
    nodeServer.once('error', onError);
    nodeServer.listen(opts.port, opts.host, () => {
      nodeServer.off('error', onError);
      resolve();
    });
  });
  const address = nodeServer.address() as AddressInfo;
  let closed: Promise<void> | null = null;
  const stopAccepting = () => {
    closed ??= new Promise<void>((resolve) => nodeServer.close(() => resolve()));
  };
  return {
    host: address.address,
    port: address.port,
    stopAccepting,
    async close(deadline = Date.now() + CLOSE_GRACE_MS) {
      stopAccepting();
      unwatch?.();
      for (const res of responses) if (isEventStream(res)) endEventStream(res, 'the server is shutting down');
      nodeServer.closeIdleConnections();
      const timer = setTimeout(
        () => nodeServer.closeAllConnections(),
        Math.max(0, Math.min(CLOSE_GRACE_MS, deadline - Date.now())),
      );
      await closed;
      clearTimeout(timer);
    },
  };
}

/** The app's fetch, with pending ACME http-01 challenges (RFC 8555 §8.3) answered first. */
function acmeChallengeFirst(
  app: Hono<WebEnv>,
  answer: NonNullable<Parameters<typeof startWebListener>[0]['acmeChallenge']>,
): Hono<WebEnv>['fetch'] {
  return async (request, env, ctx) => {
    if (request.method === 'GET' || request.method === 'HEAD') {
      const url = new URL(request.url);
      const incoming = (env as { incoming?: http.IncomingMessage } | undefined)?.incoming;
      const body = await answer(url.pathname, { host: url.host, remote: incoming?.socket.remoteAddress });
      if (body !== undefined) return new Response(body, { headers: { 'Content-Type': 'application/octet-stream' } });
    }
    return app.fetch(request, env, ctx);
  };
}

/**
 * Node closes a `Connection: close` response's socket with `destroySoon()` (end, then destroy once
 * the answer is written). When the request is not complete, the client is still sending: end the
 * write side only, drop what arrives, and destroy when the client closes or after LINGER_MS.
 */
function lingerOnEarlyClose(socket: Socket, request: () => http.IncomingMessage | undefined): void {
  const destroySoon = socket.destroySoon.bind(socket);
  socket.destroySoon = () => {
    const req = request();
    if (!req || req.complete || socket.destroyed) return destroySoon();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', () => socket.destroy());
    socket.on('data', () => {});
    socket.end();
    socket.resume();
  };
}

/** Per-address and total connection counts; closes a connection beyond either limit at once. */
class ConnectionCounter {
  readonly #perIp = new Map<string, number>();
  #total = 0;
  #refused = { 'per-ip': 0, total: 0 };
  #lastLog = 0;

  constructor(
    readonly limits: WebLimits,
    readonly log: Logger | undefined,
  ) {}

  accept(socket: Socket): void {
    socket.on('error', () => {});
    const ip = normalizeIp(socket.remoteAddress ?? '');
    const count = this.#perIp.get(ip) ?? 0;
    const refuse =
      this.#total >= this.limits.maxConnections ? 'total' : count >= this.limits.connectionsPerIp ? 'per-ip' : null;
    if (refuse) {
      // No answer: an HTTP reply would need the request first, and this must cost nothing.
      socket.destroy();
      this.#refusedOne(refuse, ip);
      return;
    }
    this.#perIp.set(ip, count + 1);
    this.#total++;
    socket.once('close', () => {
      this.#total--;
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.#perIp.delete(ip);
      else this.#perIp.set(ip, left);
    });
  }

  #refusedOne(reason: 'per-ip' | 'total', ip: string): void {
    this.#refused[reason]++;
    const now = Date.now();
    if (!this.log || now - this.#lastLog < REFUSED_LOG_EVERY_MS) return;
    this.#lastLog = now;
    this.log.warn(
      {
        listener: 'http',
        remote: ip,
        reason,
        refusedPerIp: this.#refused['per-ip'],
        refusedTotal: this.#refused.total,
        connectionsPerIp: this.limits.connectionsPerIp,
        maxConnections: this.limits.maxConnections,
      },
      'http connections refused: limit reached (web.connections_per_ip / web.max_connections); counts since the last such line',
    );
    this.#refused = { 'per-ip': 0, total: 0 };
  }
}
