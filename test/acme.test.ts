/**
 * ACME end to end against Debian's `pebble` (Let's Encrypt's test CA) on loopback: the server obtains a
 * certificate by http-01 and serves it on IMAPS, SMTPS, HTTPS and after IMAP STARTTLS; renews it (a
 * renewal window longer than pebble's 5-year certificates) and serves the new one without a restart;
 * and when the challenge cannot be reached, logs why and keeps the certificate it has.
 *
 * pebble resolves the test host name through a loopback DNS server (harness/dns-server.ts) and connects
 * to `httpPort`, which is the server's `tls.acme_http` listener. Its directory is HTTPS with a certificate
 * made here, trusted by the server process through NODE_EXTRA_CA_CERTS.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { generateSelfSigned } from '../src/net/tls.js';
import { type DnsServer, startDnsServer } from './harness/dns-server.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const HOST = 'mail.example.test';
const havePebble = spawnSync('pebble', ['-h'], { stdio: 'ignore' }).error === undefined;
const skip = havePebble ? false : 'pebble is not installed (apt-get install pebble; .ci/run installs it)';

interface Pebble {
  directory: string;
  /** Pebble's root CA (PEM), which signs the intermediate that issues the certificates. */
  root: string;
  stop(): Promise<void>;
}

interface Served {
  serial: string;
  issuer: string;
  /** Whether the chain checks out against pebble's root for HOST. */
  authorized: boolean;
}

describe('ACME with pebble', { skip }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'postbode-acme-'));
  const dataDir = path.join(work, 'data');
  let dns: DnsServer;
  let pebble: Pebble;
  let challengePort: number;
  let server: PostbodeProcess | null = null;
  let caFile: string;
  let firstSerial = '';
  let renewedSerial = '';

  before(async () => {
    dns = await startDnsServer({ [HOST]: { A: ['127.0.0.1'] } });
    challengePort = await freePort();
    pebble = await startPebble({ work, dnsServer: dns.server, httpPort: challengePort });
    caFile = path.join(work, 'pebble-https.pem');
  });
  after(async () => {
    await server?.stop();
    await pebble?.stop();
    await dns?.stop();
    removeDir(work);
  });

  const start = (opts: { renewDays?: number; challengePort?: number; dataDir?: string; webAnswers?: boolean } = {}) =>
    startPostbode({
      dataDir: opts.dataDir ?? dataDir,
      hostname: HOST,
      listeners: ['submissions', 'imap', 'imaps', 'http'],
      extraArgs: [
        ...['--set', 'tls.acme=true'],
        ...['--set', `tls.acme_directory=${pebble.directory}`],
        ...['--set', 'tls.acme_email=postmaster@example.test'],
        ...['--set', `tls.renew_days=${opts.renewDays ?? 30}`],
        ...(opts.webAnswers
          ? // The plain web listener on pebble's httpPort answers the challenge.
            ['--set', 'tls.acme_http=off', '--listen', `http=127.0.0.1:${challengePort}`]
          : [
              ...['--set', `tls.acme_http=127.0.0.1:${opts.challengePort ?? challengePort}`],
              ...['--set', 'web.https=true'],
            ]),
      ],
      env: { NODE_EXTRA_CA_CERTS: caFile },
    });

  it('obtains a certificate by http-01 and serves it on IMAPS, SMTPS and HTTPS without a restart', async () => {
    const s = await start();
    server = s;
    const issued = await waitForLog(s, 0, (e) => String(e.msg).startsWith('ACME: new certificate'));
    assert.match(
      String(issued.msg),
      /^ACME: new certificate for mail\.example\.test, valid until \S+; every TLS listener serves it now$/,
    );
    assert.ok(
      s.logs.some((e) => String(e.msg) === `ACME: answered the http-01 challenge for ${HOST}:${challengePort}`),
      'the challenge was answered on tls.acme_http',
    );
    for (const listener of ['imaps', 'submissions', 'http']) {
      const got = await served(s.ports[listener], pebble.root);
      assert.ok(got.authorized, `${listener}: chain to pebble's root for ${HOST}`);
      assert.match(got.issuer, /^Pebble Intermediate CA/, listener);
      firstSerial ||= got.serial;
      assert.equal(got.serial, firstSerial, listener);
    }
    // A client without SNI gets the HTTPS server's default context, which was replaced too.
    assert.equal((await served(s.ports.http, pebble.root, false)).serial, firstSerial);
    assert.equal(statSync(path.join(dataDir, 'tls', 'acme')).mode & 0o777, 0o700);
    for (const file of ['account-key.pem', 'key.pem', 'cert.pem']) {
      assert.equal(statSync(path.join(dataDir, 'tls', 'acme', file)).mode & 0o777, 0o600, file);
    }
    await s.stop();
    server = null;
  });

  it('serves the stored certificate at start and renews it when it falls within renew_days', async () => {
    // pebble's certificates live 5 years: a 10-year window makes the stored one due at once.
    const s = await start({ renewDays: 3650 });
    server = s;
    const renewed = await waitForLog(s, 0, (e) => String(e.msg).startsWith('ACME: new certificate'));
    const stored = s.logs.findIndex((e) => String(e.msg).startsWith('ACME: serving the stored certificate'));
    const requested = s.logs.findIndex((e) => String(e.msg).startsWith('ACME: requesting a certificate'));
    assert.ok(stored >= 0 && stored < requested, 'the stored certificate was served before renewing');
    assert.match(String(s.logs[requested]?.msg), /within 3650 days\)$/);
    assert.ok(s.logs.indexOf(renewed) > requested);
    // A window longer than the certificates' life is reported, and the next try waits 12 h instead of looping.
    await waitForLog(s, 0, (e) => String(e.msg).includes('tls.renew_days is too large, renewing every 12 h'));
    for (const listener of ['imaps', 'submissions', 'http']) {
      const got = await served(s.ports[listener], pebble.root);
      assert.ok(got.authorized, listener);
      renewedSerial ||= got.serial;
      assert.equal(got.serial, renewedSerial, listener);
    }
    assert.notEqual(renewedSerial, firstSerial, 'a new certificate is served by the same process');
    // STARTTLS takes the current certificate at the command too.
    assert.equal((await served(s.ports.imap, pebble.root, true, true)).serial, renewedSerial);
    await s.stop();
    server = null;
  });

  it('keeps the current certificate and says why when the challenge fails', async () => {
    // pebble still connects to its httpPort, where nothing listens now.
    const s = await start({ renewDays: 3650, challengePort: await freePort() });
    server = s;
    const failed = await waitForLog(s, 0, (e) => String(e.msg).startsWith('ACME: could not obtain'));
    assert.equal(failed.level, 50, 'logged as an error');
    const msg = String(failed.msg);
    assert.match(
      msg,
      /^ACME: could not obtain a certificate for mail\.example\.test: .+; keeping the current certificate \(/,
    );
    assert.match(msg, /tls[/\\]acme[/\\]cert\.pem \(ACME\)\), next try in 1 h$/);
    assert.ok(!s.logs.some((e) => String(e.msg).startsWith('ACME: new certificate')));
    for (const listener of ['imaps', 'submissions', 'http']) {
      const got = await served(s.ports[listener], pebble.root);
      assert.ok(got.authorized, listener);
      assert.equal(got.serial, renewedSerial, `${listener} still serves the renewed certificate`);
    }
    await s.stop();
    server = null;
  });

  it('answers the challenge on the plain web listener with tls.acme_http = "off"', async () => {
    const s = await start({ dataDir: path.join(work, 'data-web'), webAnswers: true });
    server = s;
    assert.equal(s.ports.http, challengePort);
    await waitForLog(s, 0, (e) => String(e.msg).startsWith('ACME: new certificate'));
    assert.ok(
      s.logs.some((e) => String(e.msg) === `ACME: answered the http-01 challenge for ${HOST}:${challengePort}`),
    );
    const got = await served(s.ports.imaps, pebble.root);
    assert.ok(got.authorized);
    assert.match(got.issuer, /^Pebble Intermediate CA/);
    // Other paths, and tokens that are not pending, still reach the app.
    const res = await fetch(`http://127.0.0.1:${challengePort}/.well-known/acme-challenge/nothing`);
    assert.equal(res.status, 404);
    await s.stop();
    server = null;
  });
});

/** Connects with TLS and reports the certificate served (with SNI for HOST unless `sni` is false). */
async function served(port: number | undefined, root: string, sni = true, starttls = false): Promise<Served> {
  assert.ok(port, 'listener port');
  const plain = starttls ? await imapStarttls(port) : null;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...(plain ? { socket: plain } : { host: '127.0.0.1', port }),
      ...(sni ? { servername: HOST } : {}),
      ca: root,
      rejectUnauthorized: false,
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(HOST, cert),
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const authorized = socket.authorized && tls.checkServerIdentity(HOST, cert) === undefined;
      resolve({ serial: cert.serialNumber, issuer: String(cert.issuer.CN), authorized });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** An IMAP connection after `a STARTTLS` got its OK (RFC 9051 §6.2.1), ready for the handshake. */
function imapStarttls(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    let sent = false;
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (!sent && /^\* OK/m.test(got)) {
        sent = true;
        socket.write('a STARTTLS\r\n');
      }
      if (/^a OK/m.test(got)) {
        socket.off('data', onData);
        resolve(socket);
      } else if (/^a (NO|BAD)/m.test(got)) reject(new Error(got));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Resolves with the first log entry from index `from` on that matches; rejects after 30 s. */
function waitForLog(
  s: PostbodeProcess,
  from: number,
  match: (e: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const look = () => s.logs.slice(from).find(match);
    const found = look();
    if (found) return resolve(found);
    const stdout = s.child.stdout;
    assert.ok(stdout);
    const timer = setTimeout(() => {
      stdout.off('data', onData);
      reject(new Error(`log line not seen in 30 s; log:\n${s.logs.map((e) => e.msg).join('\n')}`));
    }, 30_000);
    // The harness's reader is registered first, so the entries of a chunk are in `logs` by now.
    const onData = () => {
      const hit = look();
      if (!hit) return;
      clearTimeout(timer);
      stdout.off('data', onData);
      resolve(hit);
    };
    stdout.on('data', onData);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts pebble on free loopback ports; resolves once its directory is served, with its root CA. */
async function startPebble(opts: { work: string; dnsServer: string; httpPort: number }): Promise<Pebble> {
  const { cert, key } = await generateSelfSigned('localhost');
  const certFile = path.join(opts.work, 'pebble-https.pem');
  const keyFile = path.join(opts.work, 'pebble-https.key');
  writeFileSync(certFile, cert);
  writeFileSync(keyFile, key, { mode: 0o600 });
  const [listen, management, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const config = path.join(opts.work, 'pebble.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: certFile,
        privateKey: keyFile,
        httpPort: opts.httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child: ChildProcess = spawn('pebble', ['-config', config, '-dnsserver', opts.dnsServer], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PEBBLE_VA_ALWAYS_VALID: '0',
      PEBBLE_VA_NOSLEEP: '1',
      // No spurious badNonce answers, and a real challenge for every order (no reused authorizations).
      PEBBLE_WFE_NONCEREJECT: '0',
      PEBBLE_AUTHZREUSE: '0',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pebble did not start in 15 s:\n${output}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`pebble exited with ${code}:\n${output}`)));
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        output += `${line}\n`;
        if (line.includes('ACME directory available at')) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
  const root = await new Promise<string>((resolve, reject) => {
    https
      .get(`https://127.0.0.1:${management}/roots/0`, { ca: cert }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`roots/0: ${res.statusCode}`))));
      })
      .once('error', reject);
  });
  return {
    directory: `https://127.0.0.1:${listen}/dir`,
    root,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
