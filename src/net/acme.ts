/**
 * ACME (RFC 8555): obtains the server's certificate from a CA such as Let's Encrypt and renews it, with
 * the http-01 challenge (RFC 8555 §8.3) answered on a small plain-HTTP listener of its own (`tls.acme_http`,
 * reached by the CA on port 80 of every name) or by the web listener when it is plain HTTP
 * (`challengeResponse`). `acme-client` speaks the protocol; it is loaded only when ACME is on.
 *
 * Invariants:
 * - The certificate served is always a complete, working pair: a new one replaces the current one in
 *   `CurrentCertificate` (which every TLS listener reads per handshake) only after it was issued, checked
 *   against its key and written to disk; on any failure the current one stays and a log line says why.
 * - Files under `data_dir/tls/acme/`: `account-key.pem` (the ACME account), `key.pem` and `cert.pem`
 *   (the private key and the full chain served), written 0600 by rename so a crash never leaves half a
 *   file. A stored certificate is used at start when it covers every configured name and matches its key.
 * - Renewal: when fewer than `renewDays` days are left, or the names changed. Checks run at start, then
 *   when renewal is due (at most every 12 h); a failed attempt is retried after `retryMs` (1 h: Let's
 *   Encrypt allows 5 failed validations per name and hour).
 * - One attempt at a time; `stop` ends the timers and the challenge listener, and a certificate that
 *   arrives after it is not applied.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from '../log.js';
import { ListenError } from './listener.js';
import { type CurrentCertificate, secureContext } from './tls.js';

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

const DAY_MS = 86_400_000;
/** Longest wait between two checks (also keeps timers below the 2^31 ms limit of setTimeout). */
const MAX_CHECK_INTERVAL_MS = 12 * 3600_000;
const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const REQUEST_TIMEOUT_MS = 30_000;

export interface AcmeOptions {
  dataDir: string;
  /** Names for the certificate; the first is its subject. */
  names: string[];
  /** Contact address for the account ('' for none). */
  email: string;
  directoryUrl: string;
  /** Renew when fewer days than this are left. */
  renewDays: number;
  /**
   * Where to answer http-01 challenges (plain HTTP); null: another listener answers them through
   * `challengeResponse` (the web listener).
   */
  challengeListen: { host: string; port: number } | null;
  /** The certificate every TLS listener serves; replaced on issuance. */
  tls: CurrentCertificate;
  log: Logger;
  /** Wait after a failed attempt (default 1 h). */
  retryMs?: number;
}

/** Why the certificate is (not) due, for the log. */
type Due = { due: false; renewAt: number } | { due: true; reason: string };

export class AcmeManager {
  readonly #opts: AcmeOptions;
  readonly #log: Logger;
  readonly #dir: string;
  /** token → key authorization, while a challenge is pending. */
  readonly #tokens = new Map<string, string>();
  #server: http.Server | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  /** The ACME certificate served now (null: still the self-signed or an unusable stored one). */
  #cert: X509Certificate | null = null;

  constructor(opts: AcmeOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'acme' });
    this.#dir = path.join(opts.dataDir, 'tls', 'acme');
  }

  /**
   * Serves a stored certificate if there is a usable one, opens the challenge listener and schedules
   * the first check (at once when a certificate is due). Returns the challenge listener's address
   * (null without one).
   */
  async start(): Promise<AddressInfo | null> {
    this.#loadStored();
    const listen = this.#opts.challengeListen;
    const address = listen ? await this.#listen(listen) : null;
    this.#schedule(0);
    return address;
  }

  /** Runs one check now (renewing if due) and resolves when it is done; never rejects. */
  check(): Promise<void> {
    this.#running ??= this.#check().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const server = this.#server;
    this.#server = null;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  #loadStored(): void {
    const certPath = path.join(this.#dir, 'cert.pem');
    const keyPath = path.join(this.#dir, 'key.pem');
    if (!existsSync(certPath) || !existsSync(keyPath)) return;
    try {
      const cert = readFileSync(certPath, 'utf8');
      const key = readFileSync(keyPath, 'utf8');
      const x509 = new X509Certificate(cert);
      const missing = this.#opts.names.filter((n) => x509.checkHost(n, { subject: 'never' }) === undefined);
      if (missing.length > 0) {
        this.#log.info(
          { missing },
          `ACME: the stored certificate does not cover ${missing.join(', ')}; a new one is requested`,
        );
        return;
      }
      if (new Date(x509.validTo).getTime() <= Date.now()) {
        this.#log.warn({ notAfter: x509.validTo }, 'ACME: the stored certificate has expired; a new one is requested');
        return;
      }
      if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('key.pem does not belong to cert.pem');
      this.#opts.tls.replace({ cert, key, source: `${certPath} (ACME)` });
      this.#cert = x509;
      this.#log.info(
        { names: this.#opts.names, notAfter: isoDate(x509.validTo), issuer: issuerName(x509) },
        `ACME: serving the stored certificate, valid until ${isoDate(x509.validTo)}`,
      );
    } catch (err) {
      this.#log.warn({ err: errorText(err) }, 'ACME: the stored certificate cannot be used; a new one is requested');
    }
  }

  #due(): Due {
    const cert = this.#cert;
    if (!cert) return { due: true, reason: 'no certificate from the CA yet' };
    const missing = this.#opts.names.filter((n) => cert.checkHost(n, { subject: 'never' }) === undefined);
    if (missing.length > 0) return { due: true, reason: `new names: ${missing.join(', ')}` };
    const renewAt = new Date(cert.validTo).getTime() - this.#opts.renewDays * DAY_MS;
    if (renewAt <= Date.now()) {
      return { due: true, reason: `it expires ${isoDate(cert.validTo)}, within ${this.#opts.renewDays} days` };
    }
    return { due: false, renewAt };
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.check(), Math.max(0, Math.min(ms, MAX_CHECK_INTERVAL_MS)));
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    const due = this.#due();
    if (!due.due) {
      this.#schedule(due.renewAt - Date.now());
      return;
    }
    const names = this.#opts.names;
    this.#log.info(
      { names, directory: this.#opts.directoryUrl },
      `ACME: requesting a certificate for ${names.join(', ')} (${due.reason})`,
    );
    try {
      const { cert, key } = await this.#issue();
      if (this.#stopped) return;
      const x509 = new X509Certificate(cert);
      if (!x509.checkPrivateKey(createPrivateKey(key))) {
        throw new Error('the CA returned a certificate for another key');
      }
      secureContext(cert, key); // throws for a pair TLS cannot use, before anything is replaced
      this.#store(cert, key);
      this.#opts.tls.replace({ cert, key, source: `${path.join(this.#dir, 'cert.pem')} (ACME)` });
      this.#cert = x509;
      this.#log.info(
        { names, notAfter: isoDate(x509.validTo), issuer: issuerName(x509), serial: x509.serialNumber },
        `ACME: new certificate for ${names.join(', ')}, valid until ${isoDate(x509.validTo)}; every TLS listener serves it now`,
      );
      const next = this.#due();
      if (next.due) {
        this.#log.warn(
          { renewDays: this.#opts.renewDays, notAfter: isoDate(x509.validTo) },
          `ACME: the new certificate is due for renewal at once (${next.reason}); tls.renew_days is too large, renewing every 12 h`,
        );
      }
      this.#schedule(next.due ? MAX_CHECK_INTERVAL_MS : next.renewAt - Date.now());
    } catch (err) {
      if (this.#stopped) return;
      const retryMs = this.#opts.retryMs ?? 3600_000;
      this.#log.error(
        { names, err: errorText(err), keeping: this.#opts.tls.source, retryInSeconds: Math.round(retryMs / 1000) },
        `ACME: could not obtain a certificate for ${names.join(', ')}: ${errorText(err)}; keeping the current certificate (${this.#opts.tls.source}), next try in ${formatDelay(retryMs)}`,
      );
      this.#schedule(retryMs);
    }
  }

  async #issue(): Promise<{ cert: string; key: string }> {
    // acme-client retries network errors for over a minute and then reports a TypeError; asking the
    // directory first gives the real reason (refused, unknown host, untrusted certificate) at once.
    await reachable(this.#opts.directoryUrl);
    const acme = await import('acme-client');
    // acme-client's requests have no time limit by default; a CA that stops answering must not hold an
    // attempt (or the shutdown, which lets a running attempt end) forever.
    acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
    const client = new acme.Client({
      directoryUrl: this.#opts.directoryUrl,
      accountKey: await this.#accountKey(acme.crypto.createPrivateRsaKey),
    });
    const names = this.#opts.names;
    // A fresh key for every certificate (RSA 2048: what every mail client accepts).
    const [key, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names });
    const cert = await client.auto({
      csr,
      ...(this.#opts.email ? { email: this.#opts.email } : {}),
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // The CA checks; acme-client's own check would fetch from this host's port 80 through its DNS.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type !== 'http-01') throw new Error(`unexpected challenge type ${challenge.type}`);
        this.#log.info({ name: authz.identifier.value }, `ACME: http-01 challenge ready for ${authz.identifier.value}`);
        this.#tokens.set(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        this.#tokens.delete(challenge.token);
      },
    });
    return { cert, key: key.toString() };
  }

  /** The account key, created and stored on first use. */
  async #accountKey(create: () => Promise<Buffer>): Promise<string> {
    const file = path.join(this.#dir, 'account-key.pem');
    if (existsSync(file)) return readFileSync(file, 'utf8');
    const key = (await create()).toString();
    writePrivate(file, key);
    return key;
  }

  #store(cert: string, key: string): void {
    writePrivate(path.join(this.#dir, 'key.pem'), key);
    writePrivate(path.join(this.#dir, 'cert.pem'), cert);
  }

  /**
   * The http-01 answer (RFC 8555 §8.3) for a request path: the key authorization when the path is
   * `/.well-known/acme-challenge/<token>` of a pending challenge, else undefined. For this manager's own
   * listener and for the web listener when it answers the challenges (`tls.acme_http = "off"`).
   */
  challengeResponse(
    urlPath: string,
    from: { host: string | undefined; remote: string | undefined },
  ): string | undefined {
    if (!urlPath.startsWith(CHALLENGE_PREFIX)) return undefined;
    const answer = this.#tokens.get(urlPath.slice(CHALLENGE_PREFIX.length));
    if (answer !== undefined) {
      this.#log.info(from, `ACME: answered the http-01 challenge for ${from.host ?? '?'}`);
    }
    return answer;
  }

  /** The challenge listener: the key authorization at a pending token's path, 404 elsewhere. */
  #listen(listen: { host: string; port: number }): Promise<AddressInfo> {
    const server = http.createServer((req, res) => {
      const from = { host: req.headers.host, remote: req.socket.remoteAddress };
      const answer =
        req.method === 'GET' || req.method === 'HEAD' ? this.challengeResponse(req.url ?? '', from) : undefined;
      if (answer === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('Not found\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(answer);
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 2_000;
    const { host, port } = listen;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE'
            ? 'the port is in use'
            : err.code === 'EACCES'
              ? 'permission denied (ports below 1024 need privileges)'
              : err.message;
        reject(
          new ListenError(
            `cannot listen on ${host}:${port} for the ACME http-01 challenge: ${why} (choose another address with tls.acme_http, forwarded from port 80)`,
          ),
        );
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.#log.error({ err: errorText(err) }, 'ACME challenge listener error'));
        this.#server = server;
        resolve(server.address() as AddressInfo);
      });
    });
  }
}

/** Resolves when `url` answers 200 within the request timeout; rejects with a readable reason. */
function reachable(url: string): Promise<void> {
  const get = url.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const fail = (why: string) => reject(new Error(`the ACME directory ${url} cannot be reached: ${why}`));
    const req = get(url, { timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else fail(`HTTP ${res.statusCode}`);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.once('error', (err) => fail(err.message));
  });
}

function writePrivate(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, file);
}

function issuerName(x509: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.issuer);
  return cn?.[1] ?? x509.issuer.replace(/\n/g, ', ');
}

function isoDate(validTo: string): string {
  return new Date(validTo).toISOString();
}

function formatDelay(ms: number): string {
  if (ms >= 3600_000 && ms % 3600_000 === 0) return `${ms / 3600_000} h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 1000)} s`;
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // acme-client 5.4 ends its retries of a network error with this TypeError instead of the error.
  if (err instanceof TypeError && text.includes("reading 'config'"))
    return 'the CA could not be reached (network error)';
  return text;
}
