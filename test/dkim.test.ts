/** `postbode dkim keygen|list`: the key file and the DNS TXT record to publish. */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { removeDir, runCli } from './harness/server.js';

describe('postbode dkim', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-dkim-cli-'));
  after(() => removeDir(dataDir));

  it('keygen creates a 0600 RSA key and prints a TXT record split into 255-character strings', () => {
    // keygen changes an existing data dir: the domain (and so the database) first.
    assert.equal(runCli(['domain', 'add', 'lab.example', '--data-dir', dataDir]).code, 0);
    const r = runCli(['dkim', 'keygen', 'Lab.Example', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(dataDir, 'dkim', 'lab.example.postbode.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const line = r.stdout.split('\n').find((l) => l.includes('._domainkey.'));
    assert.ok(line, r.stdout);
    const m = /^postbode\._domainkey\.lab\.example\. IN TXT ((?:"[^"]{1,255}" ?)+)$/.exec(line);
    assert.ok(m, line);
    const value = [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]).join('');
    const p = /^v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]+)$/.exec(value)?.[1];
    assert.ok(p, value);
    // The published key is the public half of the stored private key.
    const fromFile = createPublicKey(createPrivateKey(readFileSync(file, 'utf8')));
    assert.equal(fromFile.export({ type: 'spki', format: 'der' }).toString('base64'), p);
    assert.equal(fromFile.asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('keygen takes a selector and ed25519, refuses duplicates and bad input; list shows the keys', () => {
    const r = runCli(['dkim', 'keygen', 'lab.example', '-s', 'k2026', '-d', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^k2026\._domainkey\.lab\.example\. IN TXT "v=DKIM1; k=rsa; p=/m);
    assert.equal(statSync(path.join(dataDir, 'dkim', 'lab.example.k2026.key')).mode & 0o777, 0o600);
    const ed = runCli(['dkim', 'keygen', 'lab.example', '-s', 'ed2026', '--algorithm', 'ed25519', '-d', dataDir]);
    assert.equal(ed.code, 0, ed.stderr);
    // RFC 8463 §4.2: p= is the raw 32-byte public key.
    assert.match(ed.stdout, /^ed2026\._domainkey\.lab\.example\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$/m);
    const dup = runCli(['dkim', 'keygen', 'lab.example', '-s', 'k2026', '-d', dataDir]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
    const bad = runCli(['dkim', 'keygen', 'lab.example', '--algorithm', 'dsa', '-d', dataDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown algorithm/);
    const list = runCli(['dkim', 'list', '--records', '-d', dataDir]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /lab\.example {2}selector k2026 {2}rsa-sha256/);
    assert.match(list.stdout, /lab\.example {2}selector ed2026 {2}ed25519-sha256/);
    assert.match(list.stdout, /lab\.example {2}selector postbode {2}rsa-sha256/);
    assert.match(list.stdout, /v=DKIM1; k=rsa; p=/);
  });
});
