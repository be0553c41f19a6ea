/**
 * DKIM: keys in the key store, signatures checked with mailauth's verifier and a resolver that answers
 * the TXT record from the generated key (no network), and signing of queued mail in Delivery.deliver.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dkimVerify } from 'mailauth';
import { prng } from '../../test/harness/fuzz.js';
import { openTestStore } from '../../test/harness/store.js';
import { silentLogger } from '../log.js';
import type { Store } from '../store/types.js';
import { Delivery, type IncomingMessage } from './delivery.js';
import { type DkimKey, DkimKeyStore, dnsRecord, dnsRecordValue, fromHeaderDomain, signMessage } from './dkim.js';

const MESSAGE = Buffer.from(
  [
    'From: Student <student@a.example>',
    'To: friend@b.example',
    'Subject: Hello over DKIM',
    'Date: Fri, 27 Nov 2026 08:00:00 +0000',
    'Message-ID: <dkim-test@a.example>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello,',
    'this message is signed.',
    '',
  ].join('\r\n'),
);

const PIECES = [
  'word',
  'Grüße',
  '日本語',
  '.',
  '..',
  ' ',
  '\t',
  '  spaced  ',
  '=?utf-8?q?x?=',
  'a'.repeat(90),
  ';',
  ':',
];

/** Message number `i` of a varied set: folded and repeated headers, odd case, whitespace runs,
 * trailing blanks, 8-bit text, dot lines, empty and blank-line-only bodies, no final CRLF. */
function variedMessage(i: number, random: () => number): Buffer {
  const pick = () => PIECES[Math.floor(random() * PIECES.length)];
  const words = (n: number) => Array.from({ length: n }, pick).join(' ');
  const headers = [
    `${i % 3 === 0 ? 'FROM' : 'From'}: "Student ${i}" <student${i}@a.example>`,
    'To: friend@b.example',
    `Subject: ${words(1 + Math.floor(random() * 12))}${i % 4 === 0 ? ' \t ' : ''}`,
    `Message-ID: <varied-${i}@a.example>`,
  ];
  if (i % 5 === 0) headers.push(`Subject:${words(3)}\r\n\t${words(4)}`); // a second, folded Subject
  if (i % 7 === 0) headers.push(`Reply-To:   \t <r${i}@a.example>   `);
  if (i % 2 === 0) headers.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8');
  const lines = Array.from({ length: Math.floor(random() * 30) }, () => words(Math.floor(random() * 15)));
  let body = lines.join('\r\n');
  if (i % 11 === 0) body = '';
  if (i % 13 === 0) body = '\r\n\r\n\r\n';
  if (i % 3 !== 1) body += '\r\n';
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

/** A resolver for mailauth that knows only the given keys' TXT records. */
function resolverFor(...keys: DkimKey[]) {
  return async (name: string, type: string): Promise<string[][]> => {
    const key = keys.find((k) => name.toLowerCase() === `${k.selector}._domainkey.${k.domain}`);
    if (type !== 'TXT' || !key) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return [[dnsRecordValue(key.privateKey)]];
  };
}

async function verify(raw: Buffer, key: DkimKey) {
  const result = await dkimVerify(raw, { resolver: resolverFor(key) });
  assert.equal(result.results.length, 1);
  return result.results[0];
}

describe('DKIM signing', () => {
  let dataDir: string;
  let keys: DkimKeyStore;
  let rsa: DkimKey;
  let ed: DkimKey;

  before(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-dkim-'));
    keys = new DkimKeyStore(dataDir);
    rsa = keys.generate('A.Example', 'sel1');
    ed = keys.generate('a.example', 'ed1', 'ed25519');
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('the key store keeps keys as 0600 files named domain.selector.key and lists them', () => {
    assert.equal(rsa.file, path.join(dataDir, 'dkim', 'a.example.sel1.key'));
    assert.equal(statSync(rsa.file).mode & 0o777, 0o600);
    assert.equal(statSync(ed.file).mode & 0o777, 0o600);
    assert.deepEqual(
      keys.list().map((k) => [k.domain, k.selector, k.algorithm]),
      [
        ['a.example', 'ed1', 'ed25519-sha256'],
        ['a.example', 'sel1', 'rsa-sha256'],
      ],
    );
    assert.equal(keys.get('a.example', 'sel1')?.privateKey, rsa.privateKey);
    assert.ok(keys.get('A.EXAMPLE'));
    assert.equal(keys.get('b.example'), null);
    assert.throws(() => keys.generate('a.example', 'sel1'), /already exists/);
    assert.throws(() => keys.generate('a.example', 'bad.selector'), /selector/);
    assert.throws(() => keys.generate('../etc', 'x'), /domain/);
  });

  test('the DNS record is split into strings of at most 255 characters', () => {
    const line = dnsRecord(rsa);
    assert.match(line, /^sel1\._domainkey\.a\.example\. IN TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/]/);
    const strings = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    assert.ok(strings.length >= 2);
    for (const s of strings) assert.ok(s.length <= 255);
    assert.equal(strings.join(''), dnsRecordValue(rsa.privateKey));
    assert.match(dnsRecordValue(ed.privateKey), /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  });

  for (const which of ['rsa', 'ed25519'] as const) {
    test(`an ${which} signature verifies (dkim=pass) and not after the body or a header is changed`, async () => {
      const key = which === 'rsa' ? rsa : ed;
      const signed = await signMessage(MESSAGE, {
        domain: key.domain,
        selector: key.selector,
        privateKey: key.privateKey,
        algorithm: key.algorithm,
      });
      assert.ok(signed.subarray(0, 16).toString().startsWith('DKIM-Signature:'));
      assert.ok(signed.subarray(signed.length - MESSAGE.length).equals(MESSAGE), 'only a header is prepended');
      const head = signed.toString().split('\r\n\r\n')[0];
      assert.match(head, /c=relaxed\/relaxed/);
      assert.match(head, new RegExp(`a=${key.algorithm}`));
      assert.match(head, /h=[^;]*from/i);
      const ok = await verify(signed, key);
      assert.equal(ok.status.result, 'pass', ok.info);
      assert.equal(ok.signingDomain, 'a.example');

      const tampered = Buffer.from(signed.toString().replace('this message is signed.', 'this message is forged.'));
      const bad = await verify(tampered, key);
      // mailauth reports a body hash mismatch as neutral with this comment (RFC 6376 §6.3: not a pass).
      assert.notEqual(bad.status.result, 'pass');
      assert.match(bad.status.comment ?? '', /body hash did not verify/);
      const forgedSubject = Buffer.from(signed.toString().replace('Subject: Hello', 'Subject: Hullo'));
      assert.equal((await verify(forgedSubject, key)).status.result, 'fail');
    });
  }

  test('a signature verifies even when the clock moves on while signing (t= is read once)', async (t) => {
    // mailauth used to read the clock for the signed header and again for the returned one; a
    // half-second boundary in between gave a t= that was not the signed one (dkim=fail).
    const start = Date.now();
    let calls = 0;
    t.mock.method(Date, 'now', () => start + 700 * ++calls);
    for (const key of [ed, rsa]) {
      const signed = await signMessage(MESSAGE, {
        domain: key.domain,
        selector: key.selector,
        privateKey: key.privateKey,
        algorithm: key.algorithm,
      });
      t.mock.restoreAll();
      const result = await verify(signed, key);
      assert.equal(result.status.result, 'pass', result.info);
      t.mock.method(Date, 'now', () => start + 700 * ++calls);
    }
    assert.ok(calls > 0, 'the clock was read while signing');
  });

  test('500 varied messages signed with ed25519 (and 100 with RSA) all verify', async () => {
    const random = prng(4);
    const failures: string[] = [];
    for (let i = 0; i < 600; i++) {
      const key = i < 500 ? ed : rsa;
      const raw = variedMessage(i, random);
      const signed = await signMessage(raw, {
        domain: key.domain,
        selector: key.selector,
        privateKey: key.privateKey,
        algorithm: key.algorithm,
      });
      const result = await dkimVerify(signed, { resolver: resolverFor(key) });
      const r = result.results[0];
      if (r?.status.result !== 'pass') failures.push(`#${i} ${key.algorithm}: ${r?.info ?? 'no result'}`);
    }
    assert.deepEqual(failures, []);
  });

  test('fromHeaderDomain finds the From: address domain', () => {
    assert.equal(fromHeaderDomain(MESSAGE), 'a.example');
    assert.equal(fromHeaderDomain(Buffer.from('Subject: x\r\nFROM:\r\n b@C.Example\r\n\r\nbody')), 'c.example');
    assert.equal(fromHeaderDomain(Buffer.from('Subject: x\r\n\r\nFrom: a@b.example\r\n')), null);
  });
});

describe('DKIM in Delivery.deliver', () => {
  let dataDir: string;
  let store: Store;
  let delivery: Delivery;
  let key: DkimKey;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-dkim-dlv-'));
    store = await openTestStore({ dataDir });
    await store.domains.add('a.example');
    const keys = new DkimKeyStore(dataDir);
    key = keys.generate('a.example', 'pb');
    delivery = new Delivery(store, {
      hostname: 'mx.a.example',
      product: 'postbode test',
      log: silentLogger(),
      dkim: keys,
    });
  });
  after(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function queued(envelopeFrom: string, authUser: string | null): Promise<Buffer> {
    const msg: IncomingMessage = {
      envelopeFrom,
      recipients: [{ address: 'friend@b.example', resolution: { kind: 'remote' }, notify: null, orcpt: null }],
      data: MESSAGE,
      trace: {
        helo: 'client.example',
        remoteAddress: '192.0.2.1',
        protocol: authUser ? 'ESMTPA' : 'ESMTP',
        sessionId: 'dkimtest',
        tls: null,
        authUser,
      },
      dsnRet: null,
      dsnEnvid: null,
    };
    const report = await delivery.deliver(msg);
    assert.ok(report.queueId !== null);
    const entry = await store.queue.get(report.queueId);
    assert.ok(entry);
    return store.blobs.read(entry.blobId);
  }

  test('mail submitted from a local domain is queued signed, below our Received header', async () => {
    const raw = await queued('student@a.example', 'student@a.example');
    const text = raw.toString();
    assert.ok(text.startsWith('Received: from client.example'));
    const lines = text.split('\r\n');
    const received = lines.findIndex((l) => l.startsWith('Received:'));
    const sig = lines.findIndex((l) => l.startsWith('DKIM-Signature:'));
    assert.ok(sig > received, 'DKIM-Signature comes after Received');
    assert.ok(!text.includes('Return-Path:'), 'no Return-Path on mail in transit');
    const result = await verify(raw, key);
    assert.equal(result.status.result, 'pass', result.info);
  });

  test('unauthenticated mail (forwarded) and mail from other domains is not signed', async () => {
    assert.ok(!(await queued('student@a.example', null)).toString().includes('DKIM-Signature:'));
    assert.ok(!(await queued('someone@c.example', 'student@a.example')).toString().includes('DKIM-Signature:'));
  });
  test('rotation: a standby key does not sign until it is used; the old one is deleted only once it no longer signs', async () => {
    const keys = new DkimKeyStore(dataDir);
    const selectorOf = async () =>
      /DKIM-Signature:[\s\S]*?\bs=([a-z0-9-]+)/.exec(
        (await queued('student@a.example', 'student@a.example')).toString(),
      )?.[1];
    const next = keys.generate('a.example', 'pb2027', 'rsa', { standby: true });
    assert.equal(await selectorOf(), 'pb', 'the standby key, although newer, does not sign');
    assert.throws(() => keys.remove('a.example', 'pb'), /signs the mail of a\.example: make another key sign first/);
    assert.equal(keys.use('a.example', 'pb2027').previous?.selector, 'pb');
    const raw = await queued('student@a.example', 'student@a.example');
    assert.equal(/DKIM-Signature:[\s\S]*?\bs=([a-z0-9-]+)/.exec(raw.toString())?.[1], 'pb2027');
    assert.equal((await verify(raw, next)).status.result, 'pass');
    assert.equal(keys.remove('a.example', 'pb').wasSigning, false);
    assert.equal(keys.get('a.example')?.selector, 'pb2027');
    // A new key made without --standby signs at once, also over a pinned one.
    keys.generate('a.example', 'pb2028');
    assert.equal(await selectorOf(), 'pb2028');
    assert.throws(
      () => keys.generate('nokey.example', 'x', 'rsa', { standby: true }),
      /no key signs for nokey\.example/,
    );
  });
});
