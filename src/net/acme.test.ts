/**
 * The certificate holder and the ACME manager without a CA (test/acme.test.ts runs against pebble):
 * replacement reaches readers and watchers, a bad pair is refused, the challenge listener answers only
 * known tokens, and a CA that cannot be reached leaves the certificate in place with a clear log line.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { AcmeManager } from './acme.js';
import { CurrentCertificate, generateSelfSigned, secureContext, type TlsMaterial } from './tls.js';

let a: { cert: string; key: string };
let b: { cert: string; key: string };
before(async () => {
  [a, b] = await Promise.all([generateSelfSigned('a.test'), generateSelfSigned('b.test')]);
});

const material = (m: { cert: string; key: string }, source: string): TlsMaterial => ({
  ...m,
  context: secureContext(m.cert, m.key),
  source,
});

describe('CurrentCertificate', () => {
  it('serves the replacement to every reader and tells the watchers', () => {
    const current = new CurrentCertificate(material(a, 'a'));
    const first = current.context;
    const seen: string[] = [];
    const unwatch = current.watch((m) => seen.push(m.source));
    current.replace({ ...b, source: 'b' });
    assert.equal(current.cert, b.cert);
    assert.equal(current.key, b.key);
    assert.equal(current.source, 'b');
    assert.notEqual(current.context, first);
    assert.deepEqual(seen, ['b']);
    unwatch();
    current.replace({ ...a, source: 'a again' });
    assert.deepEqual(seen, ['b']);
  });

  it('refuses a certificate that does not match its key and keeps the old one', () => {
    const current = new CurrentCertificate(material(a, 'a'));
    assert.throws(() => current.replace({ cert: b.cert, key: a.key, source: 'mixed' }));
    assert.equal(current.source, 'a');
    assert.equal(current.cert, a.cert);
  });
});

describe('AcmeManager without a reachable CA', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-acme-unit-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('ignores a stored certificate for other names, answers 404 for unknown tokens, logs the failure and keeps the certificate', async () => {
    mkdirSync(path.join(dataDir, 'tls', 'acme'), { recursive: true });
    writeFileSync(path.join(dataDir, 'tls', 'acme', 'cert.pem'), b.cert);
    writeFileSync(path.join(dataDir, 'tls', 'acme', 'key.pem'), b.key);
    const lines: { level: number; msg: string; component?: string }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const tls = new CurrentCertificate(material(a, 'self-signed'));
    const manager = new AcmeManager({
      dataDir,
      names: ['a.test'],
      email: '',
      directoryUrl: `https://127.0.0.1:${await closedPort()}/dir`,
      renewDays: 30,
      challengeListen: { host: '127.0.0.1', port: 0 },
      tls,
      log,
      retryMs: 600_000,
    });
    try {
      const address = await manager.start();
      assert.ok(address, 'the challenge listener');
      assert.equal(await get(address.port, '/.well-known/acme-challenge/unknown'), 404);
      assert.equal(await get(address.port, '/'), 404);
      await manager.check();
      assert.ok(
        lines.some((l) => l.msg === 'ACME: the stored certificate does not cover a.test; a new one is requested'),
      );
      const failed = lines.find((l) => l.msg.startsWith('ACME: could not obtain'));
      assert.ok(failed, JSON.stringify(lines));
      assert.equal(failed.level, 50);
      assert.equal(failed.component, 'acme');
      assert.match(
        failed.msg,
        /^ACME: could not obtain a certificate for a\.test: the ACME directory https:\/\/127\.0\.0\.1:\d+\/dir cannot be reached: connect ECONNREFUSED 127\.0\.0\.1:\d+; keeping the current certificate \(self-signed\), next try in 10 min$/,
      );
      assert.equal(tls.source, 'self-signed');
      assert.equal(tls.cert, a.cert);
    } finally {
      await manager.stop();
    }
  });
});

function get(port: number, urlPath: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .once('error', reject);
  });
}

/** A loopback port with nothing listening (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
