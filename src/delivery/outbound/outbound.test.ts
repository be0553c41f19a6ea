/**
 * Outbound delivery: routing with a fake resolver, the backoff table, and end to end from a real store
 * queue through the worker to a real postbode SMTP listener on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { openTestStore } from '../../../test/harness/store.js';
import { SecretBox } from '../../auth/secret.js';
import { AuthService } from '../../auth/service.js';
import { silentLogger } from '../../log.js';
import { parseMessage } from '../../mail/parse.js';
import { NetServer } from '../../net/listener.js';
import { generateSelfSigned } from '../../net/tls.js';
import { smtpHandler } from '../../smtp/index.js';
import type { JsonValue, QueueEntry, Store } from '../../store/types.js';
import { TraceBus } from '../../trace/bus.js';
import { statusOf } from '../bounce.js';
import { Delivery } from '../delivery.js';
import { DEFAULT_LIFETIME_MS, DEFAULT_SCHEDULE_MS, nextAttempt, retryDelay } from './backoff.js';
import { type DnsResolver, parseHostPort, Router } from './routes.js';
import { type FailedRecipient, OutboundWorker } from './worker.js';

const MIN = 60_000;

function dnsError(code: string): Error {
  return Object.assign(new Error(`query ${code}`), { code });
}

/** A resolver answering from tables; a string value is thrown as a DNS error code. */
function fakeResolver(tables: {
  mx?: Record<string, { exchange: string; priority: number }[] | string>;
  a?: Record<string, string[] | string>;
  aaaa?: Record<string, string[] | string>;
}): DnsResolver {
  const answer = async <T>(table: Record<string, T[] | string> | undefined, name: string): Promise<T[]> => {
    const v = table?.[name];
    if (v === undefined) throw dnsError('ENODATA');
    if (typeof v === 'string') throw dnsError(v);
    return v;
  };
  return {
    resolveMx: (d) => answer(tables.mx, d),
    resolve4: (d) => answer(tables.a, d),
    resolve6: (d) => answer(tables.aaaa, d),
  };
}

describe('routes', () => {
  test('MX records sorted by preference, random among equals', async () => {
    const resolver = fakeResolver({
      mx: {
        'example.org': [
          { exchange: 'mx3.example.org', priority: 30 },
          { exchange: 'mx1a.example.org', priority: 10 },
          { exchange: 'mx1b.example.org', priority: 10 },
          { exchange: 'MX2.example.org.', priority: 20 },
        ],
      },
    });
    const seq = (values: number[]) => {
      let i = 0;
      return () => values[i++ % values.length];
    };
    const r1 = await new Router({}, resolver, seq([0.1, 0.9, 0.2, 0.3])).resolve('Example.ORG');
    assert.equal(r1.kind, 'hosts');
    assert.ok(r1.kind === 'hosts');
    assert.equal(r1.source, 'mx');
    assert.deepEqual(
      r1.hosts.map((h) => [h.host, h.port, h.preference]),
      [
        ['mx1b.example.org', 25, 10],
        ['mx1a.example.org', 25, 10],
        ['mx2.example.org', 25, 20],
        ['mx3.example.org', 25, 30],
      ],
    );
    // A different draw puts the other equal-preference host first.
    const r2 = await new Router({}, resolver, seq([0.1, 0.2, 0.9, 0.3])).resolve('example.org');
    assert.ok(r2.kind === 'hosts');
    assert.deepEqual(
      r2.hosts.map((h) => h.host),
      ['mx1a.example.org', 'mx1b.example.org', 'mx2.example.org', 'mx3.example.org'],
    );
  });

  test('no MX: A/AAAA is the implicit MX; nothing at all is permanent', async () => {
    const resolver = fakeResolver({
      a: { 'v4.example': ['192.0.2.1'] },
      aaaa: { 'v6.example': ['2001:db8::1'] },
    });
    const router = new Router({ smtpPort: 2525 }, resolver);
    assert.deepEqual(await router.resolve('v4.example'), {
      kind: 'hosts',
      source: 'implicit-mx',
      hosts: [{ host: 'v4.example', port: 2525, preference: 0 }],
    });
    const v6 = await router.resolve('v6.example');
    assert.ok(v6.kind === 'hosts' && v6.source === 'implicit-mx');
    const none = await router.resolve('empty.example');
    assert.equal(none.kind, 'permanent');
  });

  test('null MX is a permanent failure', async () => {
    for (const exchange of ['', '.']) {
      const router = new Router({}, fakeResolver({ mx: { 'nomail.example': [{ exchange, priority: 0 }] } }));
      const r = await router.resolve('nomail.example');
      assert.equal(r.kind, 'permanent');
      assert.ok(r.kind === 'permanent' && /does not accept mail/.test(r.error));
      assert.ok(r.kind === 'permanent' && statusOf(r.error) === '5.1.10', 'RFC 7505 §4.2: 5.1.10 in the DSN');
    }
  });

  test('NXDOMAIN is permanent, SERVFAIL and timeouts are temporary', async () => {
    const router = new Router(
      {},
      fakeResolver({
        mx: { 'gone.example': 'ENOTFOUND', 'broken.example': 'ESERVFAIL', 'slow.example': 'ETIMEOUT' },
        a: { 'half.example': 'ESERVFAIL' },
      }),
    );
    const gone = await router.resolve('gone.example');
    assert.equal(gone.kind, 'permanent');
    assert.ok(gone.kind === 'permanent' && statusOf(gone.error) === '5.1.2', 'bad destination system address');
    assert.equal((await router.resolve('broken.example')).kind, 'temporary');
    assert.equal((await router.resolve('slow.example')).kind, 'temporary');
    // No MX, and the A lookup fails temporarily: retry rather than bounce.
    assert.equal((await router.resolve('half.example')).kind, 'temporary');
  });

  test('transport map wins over relay and DNS; relay wins over DNS', async () => {
    const resolver = fakeResolver({ mx: { 'dns.example': [{ exchange: 'mx.dns.example', priority: 5 }] } });
    const relay = { host: 'smtp.provider.example', port: 587, auth: { user: 'u', pass: 'p' } };
    const router = new Router(
      { transportMap: { 'lab.example': '127.0.0.1:2525', 'v6.example': '[::1]:26' }, relay },
      resolver,
    );
    assert.deepEqual(await router.resolve('LAB.example'), {
      kind: 'hosts',
      source: 'transport',
      hosts: [{ host: '127.0.0.1', port: 2525, preference: 0 }],
    });
    const v6 = await router.resolve('v6.example');
    assert.ok(v6.kind === 'hosts' && v6.hosts[0].host === '::1' && v6.hosts[0].port === 26);
    const viaRelay = await router.resolve('dns.example');
    assert.ok(viaRelay.kind === 'hosts' && viaRelay.source === 'relay');
    assert.equal(viaRelay.hosts[0].host, 'smtp.provider.example');
    assert.deepEqual(viaRelay.hosts[0].relay, relay);

    const wildcard = new Router({ transportMap: { '*': 'catch.example' } }, resolver);
    const w = await wildcard.resolve('dns.example');
    assert.ok(w.kind === 'hosts' && w.source === 'transport' && w.hosts[0].host === 'catch.example');
    assert.equal(w.hosts[0].port, 25);
    const plain = await new Router({}, resolver).resolve('dns.example');
    assert.ok(plain.kind === 'hosts' && plain.source === 'mx' && plain.hosts[0].host === 'mx.dns.example');
  });

  test('parseHostPort', () => {
    assert.deepEqual(parseHostPort('mx.example', 25), { host: 'mx.example', port: 25 });
    assert.deepEqual(parseHostPort('mx.example:2525', 25), { host: 'mx.example', port: 2525 });
    assert.deepEqual(parseHostPort('2001:db8::1', 25), { host: '2001:db8::1', port: 25 });
    assert.throws(() => parseHostPort('mx.example:99999', 25));
  });
});

describe('backoff', () => {
  test('the retry table, capped at 4 hours', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => retryDelay(n) / MIN),
      [1, 5, 15, 30, 60, 120, 240, 240, 240],
    );
    assert.equal(DEFAULT_SCHEDULE_MS.length, 7);
  });

  test('next attempt and expiry after the lifetime (default 5 days)', () => {
    const created = new Date('2025-01-01T00:00:00Z');
    const at = (ms: number) => new Date(created.getTime() + ms);
    assert.deepEqual(nextAttempt({ createdAt: created, attempts: 0 }, at(0)), { expired: false, at: at(MIN) });
    assert.deepEqual(nextAttempt({ createdAt: created, attempts: 2 }, at(10 * MIN)), {
      expired: false,
      at: at(25 * MIN),
    });
    // Never scheduled past the expiry time: the last attempt happens at expiry.
    const nearEnd = at(DEFAULT_LIFETIME_MS - MIN);
    assert.deepEqual(nextAttempt({ createdAt: created, attempts: 40 }, nearEnd), {
      expired: false,
      at: at(DEFAULT_LIFETIME_MS),
    });
    assert.deepEqual(nextAttempt({ createdAt: created, attempts: 41 }, at(DEFAULT_LIFETIME_MS)), { expired: true });
    assert.deepEqual(nextAttempt({ createdAt: created, attempts: 3 }, at(2 * MIN), { lifetimeMs: MIN }), {
      expired: true,
    });
  });
});

/** A postbode SMTP listener (MX role, STARTTLS offered) over its own store, as server.ts wires it. */
async function startReceiver(): Promise<{ port: number; store: Store; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-rx-'));
  const store = await openTestStore({ dataDir });
  const log = silentLogger();
  const auth = new AuthService(store, {
    secretBox: SecretBox.open(dataDir),
    plaintextNetworks: ['127.0.0.0/8'],
    scryptLogN: 4,
    apop: false,
  });
  const delivery = new Delivery(store, { hostname: 'mx.b.test', product: 'postbode test', log });
  const { cert, key } = await generateSelfSigned('mx.b.test');
  const ctx = tls.createSecureContext({ cert, key });
  const server = new NetServer({
    bus: new TraceBus(),
    log,
    limits: { connectionsPerIp: 100, maxConnections: 100 },
    tlsContext: () => ctx,
  });
  const handler = smtpHandler(
    {
      hostname: 'mx.b.test',
      product: 'postbode test',
      showVersion: false,
      strict: false,
      role: 'mx',
      maxMessageSize: 10 * 1024 * 1024,
      maxRecipients: 100,
      maxLineLength: 4096,
      idleTimeoutMs: 30_000,
      maxErrors: 20,
      maxAuthFailures: 3,
      authOnMx: false,
      tlsContext: () => ctx,
    },
    {
      plaintextAllowed: (conn) => auth.plaintextAllowed(conn),
      login: async (client, user, pass) => {
        const r = await auth.login(client, user, pass);
        return r.ok ? { ok: true, account: r.account.address } : r;
      },
      resolve: (address) => delivery.resolve(address),
      deliver: (msg) => delivery.deliver(msg),
    },
    log,
  );
  const address = await server.listen({ name: 'smtp', host: '127.0.0.1', port: 0, implicitTls: false, handler });
  await store.domains.add('b.test');
  await store.accounts.create({ address: 'bob@b.test', ...(await auth.passwordFields('pw')) });
  // dave's mailbox is full: RCPT gets 452 4.2.2 (a temporary refusal).
  const dave = await store.accounts.create({ address: 'dave@b.test', ...(await auth.passwordFields('pw')) });
  await store.accounts.update('dave@b.test', { quotaBytes: 10 });
  const filler = Buffer.from('Subject: filler\r\n\r\nfills the quota\r\n');
  await store.deliver({
    raw: filler,
    meta: parseMessage(filler) as unknown as JsonValue,
    local: [{ accountId: dave.id, mailbox: 'INBOX' }],
    overQuota: 'accept', // the filler alone is beyond the quota of 10 bytes
  });
  return {
    port: address.port,
    store,
    async stop() {
      await server.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function inbox(store: Store, address: string): Promise<Buffer[]> {
  const account = await store.accounts.get(address);
  assert.ok(account);
  const mailbox = await store.mailboxes.get(account.id, 'INBOX');
  assert.ok(mailbox);
  const list = await store.messages.list(mailbox.id);
  const bytes = await store.messages.readMany(
    mailbox.id,
    list.map((m) => ({ uid: m.uid })),
  );
  return list.map((m) => bytes.get(m.uid)!);
}

describe('outbound worker end to end', () => {
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let senderDir: string;
  let sender: Store;
  let downPort: number;

  before(async () => {
    rx = await startReceiver();
    senderDir = mkdtempSync(path.join(tmpdir(), 'postbode-tx-'));
    sender = await openTestStore({ dataDir: senderDir });
    downPort = await closedPort();
  });

  after(async () => {
    await sender.close();
    rmSync(senderDir, { recursive: true, force: true });
    await rx.stop();
  });

  const noDns: DnsResolver = {
    resolveMx: async () => assert.fail('no DNS in this test'),
    resolve4: async () => assert.fail('no DNS in this test'),
    resolve6: async () => assert.fail('no DNS in this test'),
  };

  function worker(
    opts: {
      now?: () => Date;
      failures?: { entry: QueueEntry; failed: FailedRecipient[] }[];
      /** The bounce handler throws (as when the DSN cannot be stored on a full disk). */
      bounceFails?: () => boolean;
    } = {},
  ) {
    return new OutboundWorker({
      store: sender,
      hostname: 'mx.a.test',
      routes: { transportMap: { 'b.test': `127.0.0.1:${rx.port}`, 'down.test': `127.0.0.1:${downPort}` } },
      resolver: noDns,
      log: silentLogger(),
      concurrencyPerDestination: 2,
      intervalMs: 60_000,
      client: { connectionTimeoutMs: 5_000, greetingTimeoutMs: 5_000, socketTimeoutMs: 10_000 },
      now: opts.now,
      onPermanentFailure: (entry, failed) => {
        if (opts.bounceFails?.()) throw new Error('the disk holding the mail store is full');
        opts.failures?.push({ entry, failed });
      },
    });
  }

  async function enqueue(subject: string, recipients: string[]): Promise<number> {
    const raw = Buffer.from(
      `From: alice@a.test\r\nTo: ${recipients.join(', ')}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@a.test>\r\n\r\nHello from A.\r\n.leading dot line\r\n`,
    );
    const result = await sender.deliver({
      raw,
      meta: parseMessage(raw) as unknown as JsonValue,
      local: [],
      remote: {
        envelopeFrom: 'alice@a.test',
        recipients: recipients.map((address) => ({ address, notify: null, orcpt: null })),
        dsnRet: null,
        dsnEnvid: null,
      },
    });
    assert.ok(result.queueId !== null);
    return result.queueId;
  }

  test('delivers to an accepting peer, fails a 550 recipient, removes the finished entry', async () => {
    const failures: { entry: QueueEntry; failed: FailedRecipient[] }[] = [];
    const id = await enqueue('first', ['bob@b.test', 'nobody@b.test']);
    const w = worker({ failures });
    assert.equal(await w.runOnce(), 1);

    const messages = await inbox(rx.store, 'bob@b.test');
    assert.equal(messages.length, 1);
    const text = messages[0].toString('utf8');
    assert.match(text, /Subject: first\r\n/);
    assert.match(text, /\r\n\.leading dot line\r\n/, 'dot-stuffing undone on the receiving side');
    assert.match(text, /with ESMTPS/, 'opportunistic STARTTLS was used');

    assert.equal(failures.length, 1);
    assert.equal(failures[0].entry.id, id);
    assert.deepEqual(
      failures[0].failed.map((f) => f.address),
      ['nobody@b.test'],
    );
    assert.match(failures[0].failed[0].error, /^550 5\.1\.1 .*no such user/);

    assert.equal(await sender.queue.get(id), null, 'nothing pending: the entry is gone');
    assert.equal(await w.runOnce(), 0);
  });

  test('a bounce that cannot be stored keeps the failed recipient queued until it can (RFC 5321 §6.1)', async () => {
    const failures: { entry: QueueEntry; failed: FailedRecipient[] }[] = [];
    const id = await enqueue('unbounced', ['nobody@b.test']);
    let full = true;
    let clock = Date.now();
    const w = worker({ failures, bounceFails: () => full, now: () => new Date(clock) });
    assert.equal(await w.runOnce(), 1);
    const kept = await sender.queue.get(id);
    assert.ok(kept, 'the entry stays: its sender has not been told');
    assert.equal(kept.recipients[0].state, 'pending');
    assert.match(kept.recipients[0].lastError ?? '', /^550 5\.1\.1 .*bounce to the sender could not be stored/);
    assert.ok(kept.nextAttemptAt.getTime() > clock, 'tried again later, not at once');
    assert.equal(failures.length, 0);
    full = false;
    clock = kept.nextAttemptAt.getTime() + 1;
    assert.equal(await w.runOnce(), 1);
    assert.equal(failures.length, 1, 'the bounce goes out once the store takes it');
    assert.deepEqual(
      failures[0].failed.map((f) => f.address),
      ['nobody@b.test'],
    );
    assert.equal(await sender.queue.get(id), null);
  });

  test('temporary failures stay pending with a later attempt; expiry fails them', async () => {
    const failures: { entry: QueueEntry; failed: FailedRecipient[] }[] = [];
    const id = await enqueue('second', ['bob@b.test', 'dave@b.test', 'carol@down.test']);
    // The clock starts after the entry was created (it is due from its creation time on).
    let now = new Date(Date.now() + 1);
    const w = worker({ now: () => now, failures });
    const started = now.getTime();
    assert.equal(await w.runOnce(), 1);

    const entry = await sender.queue.get(id);
    assert.ok(entry);
    assert.equal(entry.attempts, 1);
    assert.ok(entry.nextAttemptAt.getTime() >= started + MIN, 'retried no sooner than the first backoff step');
    const state = Object.fromEntries(entry.recipients.map((r) => [r.address, r]));
    assert.equal(state['bob@b.test'].state, 'delivered');
    assert.equal(state['dave@b.test'].state, 'pending');
    assert.match(state['dave@b.test'].lastError ?? '', /^452 4\.2\.2/);
    assert.equal(state['carol@down.test'].state, 'pending');
    assert.match(state['carol@down.test'].lastError ?? '', new RegExp(`127\\.0\\.0\\.1:${downPort}`));
    assert.equal(failures.length, 0);
    assert.equal((await inbox(rx.store, 'bob@b.test')).length, 2);

    // Not due yet: nothing happens.
    assert.equal(await w.runOnce(), 0);

    // After the lifetime, the next attempt still fails and the pending recipients expire.
    now = new Date(started + DEFAULT_LIFETIME_MS + MIN);
    assert.equal(await w.runOnce(), 1);
    assert.equal(await sender.queue.get(id), null);
    assert.equal(failures.length, 1);
    assert.deepEqual(failures[0].failed.map((f) => f.address).sort(), ['carol@down.test', 'dave@b.test']);
    for (const f of failures[0].failed) assert.match(f.error, /^expired/);
    assert.equal((await inbox(rx.store, 'bob@b.test')).length, 2, 'bob is not sent the message again');
  });

  test('start/stop run the scan loop', async () => {
    const id = await enqueue('third', ['bob@b.test']);
    const w = worker();
    w.start();
    for (let i = 0; i < 100 && (await sender.queue.get(id)); i++) await new Promise((r) => setTimeout(r, 20));
    await w.stop();
    assert.equal(await sender.queue.get(id), null);
    assert.equal((await inbox(rx.store, 'bob@b.test')).length, 3);
  });

  test('the MX host name is looked up through the resolver given (delivery.dns_servers), not the system', async () => {
    const asked: string[] = [];
    const resolver: DnsResolver = {
      resolveMx: async (domain) => {
        asked.push(`MX ${domain}`);
        return domain === 'b.test' ? [{ exchange: 'mx1.only-in-our-dns.test', priority: 10 }] : [];
      },
      resolve4: async (name) => {
        asked.push(`A ${name}`);
        if (name === 'mx1.only-in-our-dns.test') return ['127.0.0.1'];
        throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
      },
      resolve6: async () => [],
    };
    const w = new OutboundWorker({
      store: sender,
      hostname: 'mx.a.test',
      routes: { smtpPort: rx.port },
      resolver,
      log: silentLogger(),
      intervalMs: 60_000,
      client: { connectionTimeoutMs: 5_000, greetingTimeoutMs: 5_000, socketTimeoutMs: 10_000 },
    });
    try {
      const id = await enqueue('by mx', ['bob@b.test']);
      assert.equal(await w.runOnce(), 1);
      assert.equal(await sender.queue.get(id), null, 'delivered');
      assert.deepEqual(asked, ['MX b.test', 'A mx1.only-in-our-dns.test']);
      assert.ok((await inbox(rx.store, 'bob@b.test')).some((m) => m.includes('Subject: by mx')));
    } finally {
      await w.stop();
    }
  });

  test('a peer that never speaks holds only its own message: mail to other hosts goes on meanwhile', async () => {
    const silentSockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      silentSockets.add(socket); // accepts, never greets
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const w = new OutboundWorker({
      store: sender,
      hostname: 'mx.a.test',
      routes: { transportMap: { 'b.test': `127.0.0.1:${rx.port}`, 'silent.test': `127.0.0.1:${silentPort}` } },
      resolver: noDns,
      log: silentLogger(),
      intervalMs: 60_000,
      client: { connectionTimeoutMs: 60_000, greetingTimeoutMs: 60_000, socketTimeoutMs: 60_000 },
    });
    try {
      const stuck = await enqueue('stuck', ['nobody@silent.test']);
      w.start(); // the first scan starts at once: its attempt waits for a greeting that never comes
      for (let i = 0; i < 500 && silentSockets.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(silentSockets.size, 1, 'the attempt to the silent peer is under way');
      await enqueue('flows', ['bob@b.test']);
      w.wake(); // as the server does when a message is queued
      for (let i = 0; i < 500; i++) {
        if ((await inbox(rx.store, 'bob@b.test')).some((m) => m.includes('Subject: flows'))) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(
        (await inbox(rx.store, 'bob@b.test')).some((m) => m.includes('Subject: flows')),
        'the message to the answering peer waited for the silent one',
      );
      assert.ok(await sender.queue.get(stuck), 'the stuck message is still queued');
    } finally {
      for (const s of silentSockets) s.destroy();
      await w.stop();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      const left = await sender.queue.list();
      for (const e of left) await sender.queue.delete(e.id);
    }
  });
});
