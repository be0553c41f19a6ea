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
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type DnsServer, startDnsServer } from './harness/dns-server.js';
import {
  freePort,
  type Pebble,
  served as servedFor,
  pebbleSkip as skip,
  startPebble,
  waitForLog,
} from './harness/pebble.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const HOST = 'mail.example.test';
const served = (port: number | undefined, root: string, sni = true, starttls = false) =>
  servedFor(HOST, port, root, sni, starttls);

describe('ACME with pebble', { skip }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'postbode-acme-'));
  const dataDir = path.join(work, 'data');
  let dns: DnsServer;
  let pebble: Pebble;
  let challengePort: number;
  let server: PostbodeProcess | null = null;
  // A test that fails leaves its server running; the next one stops it first, so no server outlives the
  // file (a live child keeps the test file from ending).
  beforeEach(async () => {
    await server?.stop();
    server = null;
  });
  let caFile: string;
  let firstSerial = '';
  let renewedSerial = '';

  before(async () => {
    dns = await startDnsServer({ [HOST]: { A: ['127.0.0.1'] } });
    challengePort = await freePort();
    pebble = await startPebble({ work, dnsServer: dns.server, httpPort: challengePort });
    caFile = pebble.caFile;
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
    // pebble still connects to its httpPort, where nothing listens now. The server's challenge listener
    // goes elsewhere: a free port other than pebble's (the kernel may hand out that freed port again,
    // and then the challenge would pass).
    let elsewhere = await freePort();
    while (elsewhere === challengePort) elsewhere = await freePort();
    const s = await start({ renewDays: 3650, challengePort: elsewhere });
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
