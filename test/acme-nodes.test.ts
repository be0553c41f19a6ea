/**
 * ACME on two `postbode serve` nodes of one PostgreSQL schema, against Debian's `pebble` on loopback
 * (harness/pebble.ts): one certificate for both, ordered once.
 *
 * The CA's validation reaches one node only: the test DNS server resolves the host name to 127.0.0.2,
 * where node-b's challenge listener is (`tls.acme_http = 127.0.0.2:PORT`); node-a's is on 127.0.0.1 at
 * the same port, which pebble never asks. So when node-a orders, node-b must answer the challenge from
 * the database.
 *
 * 1. node-a holds the lease (taken in its name before it starts, as a node that was restarted during an
 *    order would find it): node-b starts and waits; node-a starts and orders; node-b answers the
 *    challenge from the database; node-b picks the certificate up on the hint; both serve the same
 *    certificate (fingerprints over TLS), which is in the database with its key sealed, not in a data dir.
 * 2. Both nodes restart at once with the stored certificate due (renew_days longer than pebble's
 *    certificates, stored over 12 h ago): one renews, the other serves the new one; one order in all.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openPgStore } from '../src/store/postgres/index.js';
import { type DnsServer, startDnsServer } from './harness/dns-server.js';
import { freePort, type Pebble, pebbleSkip, served, startPebble, waitForLog } from './harness/pebble.js';
import { PG_TEST_URL, type PgTestSchema, pgSkip, pgTestSchema } from './harness/postgres.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const HOST = 'mail.example.test';
const skip = pebbleSkip || (await pgSkip());

const msgs = (s: PostbodeProcess) => s.logs.map((e) => String(e.msg));
const requested = (s: PostbodeProcess) => msgs(s).filter((m) => m.startsWith('ACME: requesting a certificate'));

describe('ACME on two nodes of one PostgreSQL store', { skip }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'postbode-acme-nodes-'));
  const dirs = { 'node-a': path.join(work, 'a'), 'node-b': path.join(work, 'b') };
  let schema: PgTestSchema;
  let dns: DnsServer;
  let pebble: Pebble;
  let challengePort: number;
  let a: PostbodeProcess | null = null;
  let b: PostbodeProcess | null = null;
  let first = '';

  before(async () => {
    if (skip) return;
    schema = pgTestSchema('acmenodes');
    dns = await startDnsServer({ [HOST]: { A: ['127.0.0.2'] } });
    challengePort = await freePort();
    pebble = await startPebble({ work, dnsServer: dns.server, httpPort: challengePort });
  });
  after(async () => {
    if (skip) return;
    await Promise.all([a?.stop(), b?.stop()]);
    await pebble?.stop();
    await dns?.stop();
    await schema?.drop();
    removeDir(work);
  });

  const start = (node: 'node-a' | 'node-b', renewDays = 30) =>
    startPostbode({
      dataDir: dirs[node],
      hostname: HOST,
      listeners: ['imaps', 'submissions', 'http'],
      extraArgs: [
        ...['--store', schema.url, '--node', node],
        ...['--set', 'tls.acme=true'],
        ...['--set', `tls.acme_directory=${pebble.directory}`],
        ...['--set', 'tls.acme_email=postmaster@example.test'],
        ...['--set', `tls.renew_days=${renewDays}`],
        ...['--set', `tls.acme_http=${node === 'node-b' ? '127.0.0.2' : '127.0.0.1'}:${challengePort}`],
        ...['--set', 'web.https=true'],
      ],
      env: { NODE_EXTRA_CA_CERTS: pebble.caFile },
    });

  /** The fingerprint both nodes serve on every TLS listener, checked against pebble's root. */
  async function servedByBoth(): Promise<string> {
    const seen = new Set<string>();
    for (const [node, s] of [
      ['node-a', a],
      ['node-b', b],
    ] as const) {
      assert.ok(s);
      for (const listener of ['imaps', 'submissions', 'http']) {
        const got = await served(HOST, s.ports[listener], pebble.root);
        assert.ok(got.authorized, `${node} ${listener}: chain to pebble's root for ${HOST}`);
        assert.match(got.issuer, /^Pebble Intermediate CA/);
        seen.add(got.fingerprint);
      }
    }
    assert.equal(seen.size, 1, `one certificate on both nodes: ${[...seen].join(' ')}`);
    return [...seen][0];
  }

  it('one node orders, the other answers the CA from the database, and both serve that certificate', async () => {
    // node-a's lease, as a node restarted in the middle of an order finds it: node-b must wait for it.
    const store = await openPgStore({ url: schema.url, node: 'node-a' });
    try {
      assert.deepEqual(await store.certificates?.lease([HOST], 'node-a', 600_000), { held: true });
    } finally {
      await store.close();
    }
    b = await start('node-b');
    await waitForLog(b, 0, (e) => String(e.msg).startsWith('ACME: node-a is obtaining the certificate'));
    // node-a's data dir holds node-b's secret.key (docs/operations.md "Several nodes").
    mkdirSync(dirs['node-a'], { mode: 0o700 });
    cpSync(path.join(dirs['node-b'], 'secret.key'), path.join(dirs['node-a'], 'secret.key'));
    a = await start('node-a');
    await waitForLog(a, 0, (e) => String(e.msg).startsWith('ACME: new certificate'));
    const picked = await waitForLog(b, 0, (e) => String(e.msg).startsWith('ACME: serving the certificate node-a'));
    assert.match(
      String(picked.msg),
      /^ACME: serving the certificate node-a obtained for mail\.example\.test, valid until \S+; every TLS listener serves it now$/,
    );
    assert.equal(requested(a).length, 1);
    assert.deepEqual(requested(b), [], 'node-b ordered nothing');
    assert.ok(
      msgs(b).includes(
        `ACME: answered the http-01 challenge for ${HOST}:${challengePort} from the database (another node's order)`,
      ),
      msgs(b).join('\n'),
    );
    assert.ok(!msgs(a).some((m) => m.startsWith('ACME: answered')), 'pebble never asked node-a');
    first = await servedByBoth();
    // In the database, with the key sealed (secret.key); nothing in the data dirs but the account key.
    const client = new pg.Client({ connectionString: PG_TEST_URL });
    await client.connect();
    try {
      const rows = await client.query(`SELECT names, key, stored_by FROM "${schema.schema}".certificates`);
      assert.equal(rows.rows.length, 1);
      assert.equal(rows.rows[0].names, HOST);
      assert.equal(rows.rows[0].stored_by, 'node-a');
      assert.match(rows.rows[0].key, /^v1:/);
      assert.doesNotMatch(rows.rows[0].key, /PRIVATE KEY/);
      const challenges = await client.query(`SELECT count(*)::int AS n FROM "${schema.schema}".acme_challenges`);
      assert.equal(challenges.rows[0].n, 0, 'the challenge is removed after the order');
      const leases = await client.query(`SELECT count(*)::int AS n FROM "${schema.schema}".certificate_leases`);
      assert.equal(leases.rows[0].n, 0, 'the lease is freed after the order');
    } finally {
      await client.end();
    }
    for (const dir of Object.values(dirs)) {
      assert.equal(existsSync(path.join(dir, 'tls', 'acme', 'cert.pem')), false, dir);
    }
    assert.ok(existsSync(path.join(dirs['node-a'], 'tls', 'acme', 'account-key.pem')));
  });

  it('when the certificate is due on both nodes at once, one renews it and both serve the new one', async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    a = b = null;
    // Stored 13 h ago: due by renew_days = 3650 and past the 12 h in which a stored certificate is kept.
    const client = new pg.Client({ connectionString: PG_TEST_URL });
    await client.connect();
    try {
      await client.query(`UPDATE "${schema.schema}".certificates SET stored_at = stored_at - 13 * 3600000`);
    } finally {
      await client.end();
    }
    [a, b] = await Promise.all([start('node-a', 3650), start('node-b', 3650)]);
    for (const s of [a, b]) {
      assert.ok(
        msgs(s).some((m) => m.startsWith('ACME: serving the certificate from the database (stored by node-a)')),
        msgs(s).join('\n'),
      );
    }
    const renewed = await Promise.any(
      [a, b].map((s) => waitForLog(s, 0, (e) => String(e.msg).startsWith('ACME: new certificate')).then(() => s)),
    );
    const other = renewed === a ? b : a;
    const orderer = renewed === a ? 'node-a' : 'node-b';
    await waitForLog(other, 0, (e) => String(e.msg).startsWith(`ACME: serving the certificate ${orderer} obtained`));
    assert.equal(requested(renewed).length, 1);
    assert.deepEqual(requested(other), [], 'one order in all');
    const now = await servedByBoth();
    assert.notEqual(now, first, 'the renewed certificate');
  });
});
