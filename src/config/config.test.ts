import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { ConfigError, classroomConfig, loadConfig, parseConfig, parseListenAddress } from './load.js';

const example = path.resolve(import.meta.dirname, '../../postbode.example.toml');

describe('config', () => {
  it('has defaults for everything', () => {
    const c = parseConfig({});
    assert.equal(c.hostname, 'localhost');
    assert.equal(c.listen.smtp, '[::]:25');
    assert.equal(c.listen.imap, '[::]:143');
    assert.equal(c.listen.http, '127.0.0.1:8080');
    assert.equal(c.web.https, false);
    assert.equal(c.strictness, 'lab');
    assert.equal(c.smtp.max_message_size, 26214400);
  });

  it('the commented example file holds exactly the defaults', () => {
    assert.deepEqual(parseConfig(parseToml(readFileSync(example, 'utf8'))), parseConfig({}));
  });

  it('names unknown and invalid settings', () => {
    assert.throws(() => parseConfig({ smtp: { max_recipient: 5 } }), /unknown setting in \[smtp\]: max_recipient/);
    assert.throws(() => parseConfig({ strictness: 'loose' }), /strictness/);
    assert.throws(() => parseConfig({ listen: { smtp: 'nowhere' } }), /listen\.smtp: expected HOST:PORT/);
  });

  it('applies flags over the file', () => {
    const { config } = loadConfig(
      {
        config: example,
        dataDir: '/tmp/x',
        hostname: 'mx.example.org',
        domains: ['Example.ORG'],
        listen: ['smtp=127.0.0.1:2525', 'pop3=off', 'submission=1587'],
        set: ['smtp.max_recipients=7', 'strictness=strict'],
      },
      {},
    );
    assert.equal(config.data_dir, '/tmp/x');
    assert.equal(config.hostname, 'mx.example.org');
    assert.deepEqual(config.domains, ['example.org']);
    assert.equal(config.listen.smtp, '127.0.0.1:2525');
    assert.equal(config.listen.pop3, 'off');
    assert.equal(config.listen.submission, '[::]:1587');
    assert.equal(config.smtp.max_recipients, 7);
    assert.equal(config.strictness, 'strict');
  });

  it("ACME: off by default, Let's Encrypt and 30 days; excludes a certificate file", () => {
    const c = parseConfig({});
    assert.equal(c.tls.acme, false);
    assert.equal(c.tls.acme_directory, 'https://acme-v02.api.letsencrypt.org/directory');
    assert.equal(c.tls.acme_http, '[::]:80');
    assert.equal(c.tls.renew_days, 30);
    assert.throws(
      () => parseConfig({ tls: { acme: true, cert_file: 'c.pem', key_file: 'k.pem' } }),
      /exclude each other/,
    );
    assert.throws(() => parseConfig({ tls: { acme_directory: 'not a url' } }), /tls\.acme_directory/);
    assert.equal(parseConfig({ tls: { acme: true, acme_http: '127.0.0.1:8081' } }).tls.acme, true);
  });

  it('classroom mode: --classroom or lab.classroom opens the web lab and plaintext logins to the LAN', () => {
    const off = parseConfig({});
    assert.equal(off.lab.classroom, false);
    assert.deepEqual(off.plaintext_networks, ['127.0.0.0/8', '::1/128']);
    const fromFlag = loadConfig({ classroom: true }, {}).config;
    const fromKey = loadConfig({ set: ['lab.classroom=true'] }, {}).config;
    for (const c of [fromFlag, fromKey]) {
      assert.equal(c.lab.classroom, true);
      assert.equal(c.listen.http, '[::]:8080');
      assert.deepEqual(c.plaintext_networks, [
        '127.0.0.0/8',
        '::1/128',
        '10.0.0.0/8',
        '172.16.0.0/12',
        '192.168.0.0/16',
        'fc00::/7',
      ]);
    }
    // An explicit non-loopback web address stays; off stays off; applying it twice changes nothing.
    assert.equal(
      parseConfig({ lab: { classroom: true }, listen: { http: '192.0.2.7:80' } }).listen.http,
      '192.0.2.7:80',
    );
    assert.equal(parseConfig({ lab: { classroom: true }, listen: { http: 'off' } }).listen.http, 'off');
    assert.deepEqual(classroomConfig(fromFlag), fromFlag);
  });

  it('--store and --node set store.url and store.node; a node name is checked', () => {
    const d = parseConfig({});
    assert.equal(d.store.url, '');
    assert.equal(d.store.node, '');
    assert.equal(d.store.pool_size, 10);
    const { config } = loadConfig(
      { config: example, storeUrl: 'postgresql://postbode@db.example/mail', node: 'mx2' },
      {},
    );
    assert.equal(config.store.url, 'postgresql://postbode@db.example/mail');
    assert.equal(config.store.node, 'mx2');
    assert.throws(() => loadConfig({ node: 'two words' }, {}), /store\.node: up to 63 letters/);
  });

  it('rejects an unknown listener name', () => {
    assert.throws(() => loadConfig({ listen: ['smpt=1:2'] }, {}), ConfigError);
  });

  it('parses listen addresses', () => {
    assert.deepEqual(parseListenAddress('[::1]:25'), { host: '::1', port: 25 });
    assert.deepEqual(parseListenAddress('0.0.0.0:110'), { host: '0.0.0.0', port: 110 });
  });
});
