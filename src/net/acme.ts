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
 *
 * Shared (`shared`: a multi-node store's `CertificateStore`, PostgreSQL): one certificate for every node.
 * - The certificate and its key live in the database (the key sealed with secret.key), not in
 *   `tls/acme/`; the account key stays in each node's data dir.
 * - Only the holder of the name set's lease orders. It takes the lease, reads the database again and
 *   orders only if the certificate there is still the one it found due (else another node renewed
 *   meanwhile: it serves that one); it extends the lease while ordering, stores the result, then frees
 *   it. After a failed attempt it keeps the lease for `retryMs`, so the nodes together try once per
 *   `retryMs`, as one node would. A node that finds the lease held waits until it runs out.
 * - The others pick a stored certificate up on the database's hint (NOTIFY) or their poll (`pollMs`,
 *   1 min) and serve it at once. A certificate due only by renew_days (longer than the certificates'
 *   life) is renewed 12 h after it was stored, as a single node does after its own order, not at once
 *   by every node that picks it up.
 * - http-01 challenges are stored in the database too: every node's challenge listener answers a token
 *   it does not hold from there, so the CA may reach any node (a load balancer on port 80).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { CertificateStore, StoredCertificate } from '../store/types.js';
import { ListenError } from './listener.js';
import { type CurrentCertificate, secureContext } from './tls.js';

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

const DAY_MS = 86_400_000;
/** Longest wait between two checks (also keeps timers below the 2^31 ms limit of setTimeout). */
const MAX_CHECK_INTERVAL_MS = 12 * 3600_000;
const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const REQUEST_TIMEOUT_MS = 30_000;
/** How long a pending challenge stays in the database at most (the order removes it when done). */
const CHALLENGE_TTL_MS = 3600_000;
/** What an http-01 token looks like (base64url, RFC 8555 §8.3); anything else is not looked up. */
const TOKEN_RE = /^[A-Za-z0-9_-]{16,256}$/;

/** The database part of a shared certificate (see the header). */
export interface SharedCertificates {
  store: CertificateStore;
  /** This node's name (the lease holder, `storedBy`). */
  node: string;
  /** Seals the private key for the database, and opens it (null: sealed with another key). */
  seal(key: string): string;
  open(sealed: string): string | null;
  /** How often the database is read for another node's certificate (default 60 s). */
  pollMs?: number;
  /** The lease while ordering, extended every third of it (default 10 min). */
  leaseMs?: number;
}

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
  /** Keep the certificate in a multi-node store instead of the data dir (see the header). */
  shared?: SharedCertificates;
}

/** Why the certificate is (not) due, for the log. */
type Due = { due: false; renewAt: number } | { due: true; reason: string; byWindow?: boolean };

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
  #poll: NodeJS.Timeout | null = null;
  #unwatch: (() => void) | null = null;
  #syncing: Promise<void> | null = null;
  /** Fingerprints of database certificates found unusable (logged once). */
  readonly #rejected = new Set<string>();
  /** Who held the lease when this node last found it taken (logged once per holder). */
  #waitingFor = '';
  /** This node holds the lease for an order in progress (freed at stop). */
  #ordering = false;
  /** Shared: when the certificate served was stored in the database (unix ms; 0: not from there). */
  #storedAt = 0;

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
    const shared = this.#opts.shared;
    if (shared) await this.#loadShared(shared);
    else this.#loadStored();
    const listen = this.#opts.challengeListen;
    const address = listen ? await this.#listen(listen) : null;
    if (shared) {
      this.#unwatch = shared.store.watch(() => void this.#sync());
      this.#poll = setInterval(() => void this.#sync(), shared.pollMs ?? 60_000);
      this.#poll.unref();
    }
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
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    this.#unwatch?.();
    this.#unwatch = null;
    const shared = this.#opts.shared;
    if (shared && this.#ordering) {
      // The order in progress will not be applied: let another node order without waiting out the lease.
      this.#ordering = false;
      await shared.store.release(this.#opts.names, shared.node).catch(() => {});
    }
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
      const x509 = this.#usable(cert, key, 'the stored certificate');
      if (!x509) return;
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

  /**
   * The certificate when it covers every name, has not expired and belongs to `key`; null (logged) when
   * it is for other names or expired. Throws when the key does not fit.
   */
  #usable(cert: string, key: string, what: string): X509Certificate | null {
    const x509 = new X509Certificate(cert);
    const missing = this.#opts.names.filter((n) => x509.checkHost(n, { subject: 'never' }) === undefined);
    if (missing.length > 0) {
      this.#log.info({ missing }, `ACME: ${what} does not cover ${missing.join(', ')}; a new one is requested`);
      return null;
    }
    if (new Date(x509.validTo).getTime() <= Date.now()) {
      this.#log.warn({ notAfter: x509.validTo }, `ACME: ${what} has expired; a new one is requested`);
      return null;
    }
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
    return x509;
  }

  /** At start: serves the database's certificate when it is usable. */
  async #loadShared(shared: SharedCertificates): Promise<void> {
    let row: StoredCertificate | null;
    try {
      row = await shared.store.get(this.#opts.names);
    } catch (err) {
      this.#log.warn(
        { err: errorText(err) },
        `ACME: the certificate in the database cannot be read: ${errorText(err)}`,
      );
      return;
    }
    if (!row) return;
    const x509 = this.#adoptRow(shared, row, 'the certificate in the database');
    if (!x509) return;
    this.#log.info(
      { names: this.#opts.names, notAfter: isoDate(x509.validTo), issuer: issuerName(x509), storedBy: row.storedBy },
      `ACME: serving the certificate from the database (stored by ${row.storedBy}), valid until ${isoDate(x509.validTo)}`,
    );
  }

  /**
   * Serves a certificate row of the database when it is usable; returns it, or null (logged once per
   * certificate) when it is not.
   */
  #adoptRow(shared: SharedCertificates, row: StoredCertificate, what: string): X509Certificate | null {
    let fingerprint = '';
    try {
      const x509 = new X509Certificate(row.cert);
      fingerprint = x509.fingerprint256;
      if (this.#rejected.has(fingerprint)) return null;
      const key = shared.open(row.key);
      if (key === null) {
        throw new Error(`its key cannot be opened with this node's secret.key (every node needs the same secret.key)`);
      }
      const usable = this.#usable(row.cert, key, what);
      if (!usable) {
        this.#rejected.add(fingerprint);
        return null;
      }
      this.#opts.tls.replace({ cert: row.cert, key, source: `database, stored by ${row.storedBy} (ACME)` });
      this.#cert = usable;
      this.#storedAt = row.storedAt;
      return usable;
    } catch (err) {
      if (fingerprint) this.#rejected.add(fingerprint);
      this.#log.warn({ err: errorText(err) }, `ACME: ${what} cannot be used: ${errorText(err)}`);
      return null;
    }
  }

  /** Whether the database holds another certificate than the one served (a row this node has not seen). */
  #isNew(row: StoredCertificate): boolean {
    try {
      return new X509Certificate(row.cert).fingerprint256 !== this.#cert?.fingerprint256;
    } catch {
      return false;
    }
  }

  /** Serves a certificate another node stored while this one ran, and says so; false when unusable. */
  #adoptNew(shared: SharedCertificates, row: StoredCertificate): boolean {
    const x509 = this.#adoptRow(shared, row, `the certificate ${row.storedBy} stored`);
    if (!x509) return false;
    const names = this.#opts.names;
    this.#log.info(
      { names, notAfter: isoDate(x509.validTo), issuer: issuerName(x509), storedBy: row.storedBy },
      `ACME: serving the certificate ${row.storedBy} obtained for ${names.join(', ')}, valid until ${isoDate(x509.validTo)}; every TLS listener serves it now`,
    );
    return true;
  }

  /** Picks up a certificate another node stored (on its hint and on the poll); never rejects. */
  #sync(): Promise<void> {
    const shared = this.#opts.shared;
    if (!shared || this.#stopped) return Promise.resolve();
    this.#syncing ??= (async () => {
      let row: StoredCertificate | null;
      try {
        row = await shared.store.get(this.#opts.names);
      } catch {
        return; // the next poll tries again; an order's own failure is logged by the order
      }
      if (this.#stopped || !row || !this.#isNew(row)) return;
      if (!this.#adoptNew(shared, row)) return;
      this.#waitingFor = '';
      if (!this.#running) this.#scheduleAfterAdopting();
    })().finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  /** The next check after serving another node's certificate: at its renewal (#check waits 12 h if it is due). */
  #scheduleAfterAdopting(): void {
    const next = this.#due();
    this.#schedule(next.due ? 0 : next.renewAt - Date.now());
  }

  #due(): Due {
    const cert = this.#cert;
    if (!cert) return { due: true, reason: 'no certificate from the CA yet' };
    const missing = this.#opts.names.filter((n) => cert.checkHost(n, { subject: 'never' }) === undefined);
    if (missing.length > 0) return { due: true, reason: `new names: ${missing.join(', ')}` };
    const renewAt = new Date(cert.validTo).getTime() - this.#opts.renewDays * DAY_MS;
    if (renewAt <= Date.now()) {
      return {
        due: true,
        reason: `it expires ${isoDate(cert.validTo)}, within ${this.#opts.renewDays} days`,
        byWindow: true,
      };
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
    const shared = this.#opts.shared;
    if (shared) {
      const sinceStored = Date.now() - this.#storedAt;
      if (due.byWindow && sinceStored < MAX_CHECK_INTERVAL_MS) {
        // Due at once after it was stored (renew_days too large, as the node that ordered it warned):
        // renewed 12 h after it was stored, as a single node does, not by every node that picks it up.
        this.#schedule(MAX_CHECK_INTERVAL_MS - sinceStored);
        return;
      }
      if (!(await this.#takeLease(shared, this.#cert?.fingerprint256))) return;
      this.#ordering = true;
      const extend = setInterval(
        () => void shared.store.lease(this.#opts.names, shared.node, this.#leaseMs(shared)).catch(() => {}),
        this.#leaseMs(shared) / 3,
      );
      extend.unref();
      try {
        await this.#order(due.reason);
      } finally {
        clearInterval(extend);
        this.#ordering = false;
      }
      return;
    }
    await this.#order(due.reason);
  }

  #leaseMs(shared: SharedCertificates): number {
    return shared.leaseMs ?? 600_000;
  }

  /**
   * Takes the name set's lease and makes sure the order is still needed: the certificate found due
   * (`dueFor`, its fingerprint) is still the one served and the one in the database (see the header).
   * False when this node does not order now (it has scheduled its next check).
   */
  async #takeLease(shared: SharedCertificates, dueFor: string | undefined): Promise<boolean> {
    const names = this.#opts.names;
    try {
      const lease = await shared.store.lease(names, shared.node, this.#leaseMs(shared));
      if (!lease.held) {
        if (this.#waitingFor !== lease.by) {
          this.#waitingFor = lease.by;
          this.#log.info(
            { names, holder: lease.by, remainingSeconds: Math.round(lease.remainingMs / 1000) },
            `ACME: ${lease.by} is obtaining the certificate for ${names.join(', ')} (or waits after a failed try); this node serves it once it is in the database`,
          );
        }
        this.#schedule(Math.max(lease.remainingMs, 1000));
        return false;
      }
      this.#waitingFor = '';
      const row = await shared.store.get(names);
      if (row && this.#isNew(row)) this.#adoptNew(shared, row);
      if (this.#cert?.fingerprint256 !== dueFor) {
        // Another node renewed since this one looked (picked up now or meanwhile): order nothing.
        await shared.store.release(names, shared.node);
        this.#scheduleAfterAdopting();
        return false;
      }
      return true;
    } catch (err) {
      const retryMs = this.#opts.retryMs ?? 3600_000;
      this.#log.error(
        { names, err: errorText(err), retryInSeconds: Math.round(retryMs / 1000) },
        `ACME: the database cannot be asked who orders the certificate for ${names.join(', ')}: ${errorText(err)}; next try in ${formatDelay(retryMs)}`,
      );
      this.#schedule(retryMs);
      return false;
    }
  }

  /** Orders a certificate and serves it (the caller decided that it is due, and holds the lease if shared). */
  async #order(reason: string): Promise<void> {
    const names = this.#opts.names;
    this.#log.info(
      { names, directory: this.#opts.directoryUrl },
      `ACME: requesting a certificate for ${names.join(', ')} (${reason})`,
    );
    try {
      const { cert, key } = await this.#issue();
      if (this.#stopped) return;
      const x509 = new X509Certificate(cert);
      if (!x509.checkPrivateKey(createPrivateKey(key))) {
        throw new Error('the CA returned a certificate for another key');
      }
      secureContext(cert, key); // throws for a pair TLS cannot use, before anything is replaced
      const shared = this.#opts.shared;
      if (shared) {
        await shared.store.put(names, { cert, key: shared.seal(key) }, shared.node);
        if (this.#stopped) return;
        this.#opts.tls.replace({ cert, key, source: `database, stored by ${shared.node} (ACME)` });
        this.#storedAt = Date.now();
      } else {
        this.#store(cert, key);
        this.#opts.tls.replace({ cert, key, source: `${path.join(this.#dir, 'cert.pem')} (ACME)` });
      }
      this.#cert = x509;
      if (shared) await shared.store.release(names, shared.node).catch(() => {});
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
      // The other nodes wait as long before they try (shared: the lease is kept until then).
      await this.#opts.shared?.store.lease(names, this.#opts.shared.node, retryMs).catch(() => {});
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
        this.#tokens.set(challenge.token, keyAuthorization);
        const shared = this.#opts.shared;
        // Any node may get the CA's request: the answer is in the database before the CA is told to check.
        if (shared) {
          await shared.store.putChallenge(
            challenge.token,
            keyAuthorization,
            shared.node,
            Date.now() + CHALLENGE_TTL_MS,
          );
        }
        this.#log.info({ name: authz.identifier.value }, `ACME: http-01 challenge ready for ${authz.identifier.value}`);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        this.#tokens.delete(challenge.token);
        await this.#opts.shared?.store.deleteChallenge(challenge.token).catch(() => {});
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
  async challengeResponse(
    urlPath: string,
    from: { host: string | undefined; remote: string | undefined },
  ): Promise<string | undefined> {
    if (!urlPath.startsWith(CHALLENGE_PREFIX)) return undefined;
    const token = urlPath.slice(CHALLENGE_PREFIX.length);
    const answer = this.#tokens.get(token);
    if (answer !== undefined) {
      this.#log.info(from, `ACME: answered the http-01 challenge for ${from.host ?? '?'}`);
      return answer;
    }
    const shared = this.#opts.shared;
    if (!shared || !TOKEN_RE.test(token)) return undefined;
    try {
      const stored = await shared.store.challenge(token);
      if (stored === null) return undefined;
      this.#log.info(
        from,
        `ACME: answered the http-01 challenge for ${from.host ?? '?'} from the database (another node's order)`,
      );
      return stored;
    } catch (err) {
      this.#log.warn(
        { ...from, err: errorText(err) },
        `ACME: an http-01 challenge could not be looked up: ${errorText(err)}`,
      );
      return undefined;
    }
  }

  /** The challenge listener: the key authorization at a pending token's path, 404 elsewhere. */
  #listen(listen: { host: string; port: number }): Promise<AddressInfo> {
    const server = http.createServer(async (req, res) => {
      const from = { host: req.headers.host, remote: req.socket.remoteAddress };
      const answer =
        req.method === 'GET' || req.method === 'HEAD' ? await this.challengeResponse(req.url ?? '', from) : undefined;
      if (res.destroyed) return;
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
