/** `postbode dkim keygen --standby`, `dkim use` and `dkim del`: rotating a domain's key with two selectors. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { removeDir, runCli } from './harness/server.js';

describe('postbode dkim rotation', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-dkim-rotate-'));
  after(() => removeDir(dataDir));
  const cli = (...args: string[]) => runCli([...args, '--data-dir', dataDir]);
  const role = (selector: string) =>
    new RegExp(`selector ${selector} .*\\((signs|standby)\\)$`, 'm').exec(cli('dkim', 'list').stdout)?.[1];

  it('publishes a standby key next to the signing one, switches, then deletes the old one', () => {
    assert.equal(cli('domain', 'add', 'rot.example').code, 0); // keygen needs the server's database
    assert.equal(cli('dkim', 'keygen', 'rot.example').code, 0);
    const standby = cli('dkim', 'keygen', 'rot.example', '-s', 'k2027', '--standby');
    assert.equal(standby.code, 0, standby.stderr);
    assert.match(standby.stdout, /postbode dkim use rot\.example k2027/);
    assert.match(standby.stdout, /^k2027\._domainkey\.rot\.example\. IN TXT "v=DKIM1; k=rsa; p=/m);
    assert.equal(role('postbode'), 'signs');
    assert.equal(role('k2027'), 'standby');

    const early = cli('dkim', 'del', 'rot.example', 'postbode', '--yes');
    assert.equal(early.code, 1);
    assert.match(
      early.stderr,
      /signs the mail of rot\.example: make another key sign first \(postbode dkim use rot\.example k2027\)/,
    );

    const use = cli('dkim', 'use', 'rot.example', 'k2027');
    assert.equal(use.code, 0, use.stderr);
    assert.match(use.stdout, /signed with selector k2027/);
    assert.match(use.stdout, /keep the record of postbode published .*postbode dkim del rot\.example postbode --yes/);
    assert.equal(role('postbode'), 'standby');
    assert.equal(role('k2027'), 'signs');

    const unconfirmed = cli('dkim', 'del', 'rot.example', 'postbode');
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr, /run again with --yes/);
    assert.ok(existsSync(path.join(dataDir, 'dkim', 'rot.example.postbode.key')));

    const del = cli('dkim', 'del', 'rot.example', 'postbode', '--yes');
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /remove the record postbode\._domainkey\.rot\.example from DNS/);
    assert.equal(existsSync(path.join(dataDir, 'dkim', 'rot.example.postbode.key')), false);
    assert.equal(role('k2027'), 'signs');
  });

  it('refuses unknown keys and a missing data dir, creating nothing', () => {
    const unknown = cli('dkim', 'use', 'rot.example', 'nope');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no DKIM key for rot\.example with selector nope/);
    const missing = path.join(dataDir, 'missing');
    const r = runCli(['dkim', 'del', 'rot.example', 'k2027', '--yes', '--data-dir', missing]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no data dir at/);
    assert.equal(existsSync(missing), false);
  });
});
