/**
 * Debian's `pebble` (Let's Encrypt's test CA) on loopback for the ACME tests, and what they check with
 * it: the certificate a listener serves, log lines of a server process, free ports.
 *
 * pebble resolves names through the loopback DNS server it is given (harness/dns-server.ts) and
 * connects to `httpPort` of the address found for the http-01 challenge. Its directory is HTTPS with a
 * certificate made here (`pebble-https.pem` in `work`), which a server process trusts through
 * NODE_EXTRA_CA_CERTS.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { generateSelfSigned } from '../../src/net/tls.js';
import type { PostbodeProcess } from './server.js';

export const havePebble = spawnSync('pebble', ['-h'], { stdio: 'ignore' }).error === undefined;
export const pebbleSkip = havePebble ? false : 'pebble is not installed (apt-get install pebble; .ci/run installs it)';

export interface Pebble {
  directory: string;
  /** Pebble's root CA (PEM), which signs the intermediate that issues the certificates. */
  root: string;
  /** Pebble's HTTPS certificate (PEM file) for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  stop(): Promise<void>;
}

export interface Served {
  serial: string;
  /** SHA-256 fingerprint of the leaf certificate. */
  fingerprint: string;
  issuer: string;
  /** Whether the chain checks out against pebble's root for the host name. */
  authorized: boolean;
}

/** Connects with TLS and reports the certificate served (with SNI for `host` unless `sni` is false). */
export async function served(
  host: string,
  port: number | undefined,
  root: string,
  sni = true,
  starttls = false,
): Promise<Served> {
  assert.ok(port, 'listener port');
  const plain = starttls ? await imapStarttls(port) : null;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...(plain ? { socket: plain } : { host: '127.0.0.1', port }),
      ...(sni ? { servername: host } : {}),
      ca: root,
      rejectUnauthorized: false,
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(host, cert),
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const authorized = socket.authorized && tls.checkServerIdentity(host, cert) === undefined;
      resolve({
        serial: cert.serialNumber,
        fingerprint: cert.fingerprint256,
        issuer: String(cert.issuer.CN),
        authorized,
      });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** An IMAP connection after `a STARTTLS` got its OK (RFC 9051 §6.2.1), ready for the handshake. */
export function imapStarttls(port: number): Promise<net.Socket> {
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
export function waitForLog(
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

export function freePort(): Promise<number> {
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
export async function startPebble(opts: { work: string; dnsServer: string; httpPort: number }): Promise<Pebble> {
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
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      // A bound on a hung start, not a speed claim: a loaded 2-core CI machine can be slow.
      const timer = setTimeout(() => reject(new Error(`pebble did not start in 60 s:\n${output}`)), 60_000);
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
    // Pebble says its directory is available before its management listener may be: read the root
    // until that listener answers (bounded like the start).
    const readRoot = () =>
      new Promise<string>((resolve, reject) => {
        https
          .get(`https://127.0.0.1:${management}/roots/0`, { ca: cert }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              body += d;
            });
            res.on('end', () =>
              res.statusCode === 200 ? resolve(body) : reject(new Error(`roots/0: ${res.statusCode}`)),
            );
          })
          .once('error', reject);
      });
    let root = '';
    for (const until = Date.now() + 60_000; ; ) {
      try {
        root = await readRoot();
        break;
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      directory: `https://127.0.0.1:${listen}/dir`,
      root,
      caFile: certFile,
      stop,
    };
  } catch (err) {
    // A pebble that started but did not become ready, or whose root could not be read, is stopped here:
    // the caller gets no handle to stop it, and a live child keeps the test file from ever ending.
    await stop();
    throw err;
  }
}
