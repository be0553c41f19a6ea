/**
 * The HTTP(S) listener of the web lab (@hono/node-server). HTTPS uses the mail TLS material (the
 * configured certificate or the generated self-signed one), re-read per handshake so a renewed
 * certificate is used without a restart of this listener.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { ListenError } from '../net/listener.js';
import type { TlsMaterial } from '../net/tls.js';
import type { WebEnv } from './context.js';

export interface WebListener {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startWebListener(opts: {
  app: Hono<WebEnv>;
  host: string;
  port: number;
  /** Serve HTTPS with this material; plain HTTP when absent. */
  tls?: TlsMaterial;
}): Promise<WebListener> {
  const { tls } = opts;
  const server = tls
    ? createAdaptorServer({
        fetch: opts.app.fetch,
        createServer: https.createServer,
        serverOptions: { cert: tls.cert, key: tls.key, SNICallback: (_name, cb) => cb(null, tls.context) },
      })
    : createAdaptorServer({ fetch: opts.app.fetch, createServer: http.createServer });
  const nodeServer = server as http.Server;
  // Long-lived streams (SSE) must not be cut by the default request timeout.
  nodeServer.requestTimeout = 0;
  nodeServer.headersTimeout = 60_000;
  nodeServer.keepAliveTimeout = 5_000;
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
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        nodeServer.close(() => resolve());
        nodeServer.closeAllConnections();
      }),
  };
}
