/**
 * The outbound client against a scripted SMTP peer on 127.0.0.1 whose EHLO keywords each test chooses:
 * connection reuse (RSET, per-connection cap, idle close), DSN parameters, 8BITMIME/SMTPUTF8 decisions,
 * "relayed" and delay notifications from the worker over a real store queue, two workers (two nodes)
 * sharing that queue through its claims, and MTA-STS decisions.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestStore } from '../../../test/harness/store.js';
import { silentLogger } from '../../log.js';
import { parseMessage } from '../../mail/parse.js';
import type { JsonValue, QueueEntry, QueueRecipient, Store } from '../../store/types.js';
import { deliverToHost, transportNeeds } from './client.js';
import { applyPolicy, MtaSts, type StsPolicy } from './mta-sts.js';
import { SessionPool } from './pool.js';
import type { DnsResolver, RouteHost } from './routes.js';
import { type DelayedRecipient, OutboundWorker, type RelayedRecipient } from './worker.js';

interface PeerConnection {
  commands: string[];
  closed: boolean;
}

/**
 * A scripted SMTP server: `reject…@` recipients get 550, `later…@` get 451, `toomany…@` get RFC 821's
 * 552 for too many recipients, everyone else 250.
 * `greeting` replaces the 220 greeting; `refuseHello` answers 550 to EHLO and HELO; `brokenTls` answers
 * 220 to STARTTLS and then sends clear text, so the handshake fails; `dataReply` replaces the 354 to
 * DATA (a peer that then reads every line as a command).
 */
/** Writes `byte` to `socket` every 100 ms until it closes: a reply that never ends. */
function drip(socket: net.Socket, byte: string): void {
  const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(byte)), 100);
  socket.on('close', () => clearInterval(timer));
}

async function startPeer(
  extensions: string[],
  opts: {
    greeting?: string;
    refuseHello?: boolean;
    brokenTls?: boolean;
    dataReply?: string;
    dripRcpt?: boolean;
    dripEhlo?: boolean;
  } = {},
) {
  const connections: PeerConnection[] = [];
  const messages: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const conn: PeerConnection = { commands: [], closed: false };
    connections.push(conn);
    socket.on('close', () => {
      conn.closed = true;
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let inData = false;
    let accepted = 0;
    socket.write(`${opts.greeting ?? '220 peer.test ESMTP scripted'}\r\n`);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          messages.push(buffer.subarray(0, end + 2));
          buffer = buffer.subarray(end + 5);
          inData = false;
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString('utf8');
        buffer = buffer.subarray(eol + 2);
        conn.commands.push(line);
        const verb = line.split(/[ :]/)[0].toUpperCase();
        if (opts.refuseHello && (verb === 'EHLO' || verb === 'HELO')) {
          socket.write('550 5.7.1 no mail from you\r\n');
        } else if (verb === 'EHLO' && opts.dripEhlo) {
          // An EHLO reply that never ends: `250-` lines, a byte every 100 ms.
          socket.write('250-peer.test\r\n250-');
          drip(socket, 'x');
          return;
        } else if (verb === 'EHLO') {
          const lines = ['peer.test', ...extensions];
          socket.write(lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join(''));
        } else if (verb === 'RCPT' && opts.dripRcpt) {
          // A reply that never ends, each byte restarting the client's timeout.
          drip(socket, '2');
          return;
        } else if (verb === 'RCPT') {
          if (/<reject/i.test(line)) socket.write('550 5.1.1 no such user\r\n');
          else if (/<later/i.test(line)) socket.write('451 4.2.0 try again later\r\n');
          else if (/<toomany/i.test(line)) socket.write('552 5.5.3 too many recipients\r\n');
          else {
            accepted++;
            socket.write('250 2.1.5 ok\r\n');
          }
        } else if (verb === 'DATA') {
          if (accepted === 0) {
            socket.write('554 5.5.1 no valid recipients\r\n');
            continue;
          }
          if (opts.dataReply) {
            socket.write(`${opts.dataReply}\r\n`);
            continue;
          }
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'STARTTLS' && opts.brokenTls) {
          socket.end('220 2.0.0 go ahead\r\nthis is no TLS handshake\r\n');
          return;
        } else if (verb === 'STARTTLS') {
          socket.write('502 5.5.1 STARTTLS is not offered here\r\n');
        } else if (verb === 'MAIL' || verb === 'RSET') {
          accepted = 0;
          socket.write('250 2.0.0 ok\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 2.0.0 bye\r\n');
        } else {
          socket.write('250 2.0.0 ok\r\n');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    messages,
    host: { host: '127.0.0.1', port, preference: 0 } satisfies RouteHost,
    /** Every command of every connection whose verb is `verb`. */
    commands(verb: string): string[] {
      return connections.flatMap((c) => c.commands.filter((l) => l.toUpperCase().startsWith(verb)));
    },
    /** Closes the server side of every open connection (the peer's idle timeout). */
    dropAll(): void {
      for (const s of sockets) s.destroy();
    },
    async stop(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const until = async (what: string, cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const ascii = (subject: string) =>
  Buffer.from(`From: alice@a.test\r\nTo: bob@b.test\r\nSubject: ${subject}\r\n\r\nHello.\r\n`);
const client = { hostname: 'mx.a.test', connectionTimeoutMs: 5000, greetingTimeoutMs: 5000, socketTimeoutMs: 5000 };

describe('transport needs', () => {
  test('8-bit body, 8-bit header, non-ASCII envelope', () => {
    const rcpt = [{ address: 'bob@b.test' }];
    assert.deepEqual(transportNeeds({ envelopeFrom: 'a@a.test', recipients: rcpt, message: ascii('x') }), {
      smtputf8: false,
      eightBit: false,
    });
    const body8 = Buffer.from('Subject: x\r\n\r\nGrüße\r\n');
    assert.deepEqual(transportNeeds({ envelopeFrom: 'a@a.test', recipients: rcpt, message: body8 }), {
      smtputf8: false,
      eightBit: true,
    });
    const head8 = Buffer.from('Subject: Grüße\r\n\r\nhi\r\n');
    assert.equal(transportNeeds({ envelopeFrom: 'a@a.test', recipients: rcpt, message: head8 }).smtputf8, true);
    const utf8Rcpt = [{ address: 'jürgen@b.test' }];
    assert.equal(transportNeeds({ envelopeFrom: '', recipients: utf8Rcpt, message: ascii('x') }).smtputf8, true);
  });
});

describe('a peer that refuses the session', () => {
  // RFC 5321 §4.1.1.10: the client MUST NOT close the channel before it sends QUIT; §3.1: a server
  // that greets with 554 "MUST still wait for the client to send a QUIT".
  const tx = { envelopeFrom: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], message: ascii('refused') };
  for (const [name, opts] of [
    ['a 554 greeting', { greeting: '554 5.7.1 no service for you' }],
    ['550 to EHLO and to HELO', { refuseHello: true }],
  ] as const) {
    test(`${name}: QUIT before the close, every recipient pending on a failed host`, async () => {
      const peer = await startPeer(['PIPELINING'], opts);
      try {
        const result = await deliverToHost(peer.host, tx, client);
        assert.equal(result.hostFailed, true);
        assert.deepEqual(
          result.recipients.map((r) => r.state),
          ['pending'],
        );
        await until('the close', () => peer.connections[0]?.closed === true);
        assert.equal(peer.connections[0].commands.at(-1), 'QUIT', peer.connections[0].commands.join(' | '));
        assert.equal(peer.commands('MAIL').length, 0);
      } finally {
        await peer.stop();
      }
    });
  }
});

describe('opportunistic STARTTLS that fails', () => {
  const tx = { envelopeFrom: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], message: ascii('tls') };

  test('a failed handshake is followed by a clear-text session that delivers', async () => {
    const peer = await startPeer(['PIPELINING', 'STARTTLS'], { brokenTls: true });
    try {
      const result = await deliverToHost(peer.host, tx, client);
      assert.deepEqual(
        result.recipients.map((r) => r.state),
        ['delivered'],
        result.error ?? '',
      );
      assert.equal(result.secure, false);
      assert.equal(peer.connections.length, 2);
      assert.ok(peer.connections[0].commands.includes('STARTTLS'));
      assert.ok(!peer.connections[1].commands.includes('STARTTLS'), 'no second STARTTLS');
      assert.equal(peer.messages.length, 1);
    } finally {
      await peer.stop();
    }
  });

  test('with TLS required (MTA-STS), no clear-text fallback: the recipient stays pending', async () => {
    const peer = await startPeer(['PIPELINING', 'STARTTLS'], { brokenTls: true });
    try {
      const result = await deliverToHost({ ...peer.host, verifiedTls: true }, tx, client);
      assert.deepEqual(
        result.recipients.map((r) => r.state),
        ['pending'],
      );
      assert.equal(peer.connections.length, 1);
      assert.equal(peer.messages.length, 0);
    } finally {
      await peer.stop();
    }
  });
});

describe('a 552 to RCPT TO', () => {
  // RFC 5321 §4.5.3.1.10: RFC 821 listed "too many recipients" as 552; clients SHOULD treat a 552 to
  // RCPT as temporary (452) so the recipient is sent again later.
  test('keeps the recipient pending; the others are delivered or failed as answered', async () => {
    const peer = await startPeer(['PIPELINING']);
    try {
      const tx = {
        envelopeFrom: 'alice@a.test',
        recipients: [{ address: 'bob@b.test' }, { address: 'toomany@b.test' }, { address: 'reject@b.test' }],
        message: ascii('552'),
      };
      const result = await deliverToHost(peer.host, tx, client);
      assert.deepEqual(
        result.recipients.map((r) => [r.address, r.state]),
        [
          ['bob@b.test', 'delivered'],
          ['toomany@b.test', 'pending'],
          ['reject@b.test', 'failed'],
        ],
      );
      assert.match(result.recipients[1].error ?? '', /^552 5\.5\.3/);
      const alone = await deliverToHost(peer.host, { ...tx, recipients: [{ address: 'toomany2@b.test' }] }, client);
      assert.deepEqual(
        alone.recipients.map((r) => r.state),
        ['pending'],
      );
    } finally {
      await peer.stop();
    }
  });
});

test('a peer that answers DATA with 250 instead of 354 is not sent the message as commands', async () => {
  const peer = await startPeer(['PIPELINING'], { dataReply: '250 2.0.0 ok already' });
  try {
    const tx = { envelopeFrom: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], message: ascii('QUIT') };
    const result = await deliverToHost(peer.host, tx, client);
    assert.deepEqual(
      result.recipients.map((r) => r.state),
      ['pending'],
    );
    assert.match(result.recipients[0].error ?? '', /answered DATA with "250 2\.0\.0 ok already" instead of 354/);
    await until('the connection closed', () => peer.connections.every((c) => c.closed));
    const sent = peer.connections.flatMap((c) => c.commands);
    assert.ok(!sent.some((l) => /^(From|To|Subject):|^Hello\.|^\.$/.test(l)), sent.join('\n'));
  } finally {
    await peer.stop();
  }
});

test('a peer that drips its reply a byte at a time holds the transaction only until its deadline', {
  timeout: 30_000,
}, async () => {
  const peer = await startPeer(['PIPELINING'], { dripRcpt: true });
  try {
    const tx = { envelopeFrom: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], message: ascii('drip') };
    const result = await deliverToHost(peer.host, tx, { ...client, transactionDeadlineMs: 1000 });
    assert.deepEqual(
      result.recipients.map((r) => r.state),
      ['pending'],
    );
    assert.match(result.recipients[0].error ?? '', /took too long/);
    await until('the connection closed', () => peer.connections.every((c) => c.closed));
  } finally {
    await peer.stop();
  }
});

test('a peer that drips an endless EHLO reply is given up at the setup deadline', { timeout: 30_000 }, async () => {
  const peer = await startPeer(['PIPELINING'], { dripEhlo: true });
  try {
    const tx = { envelopeFrom: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], message: ascii('ehlo') };
    const result = await deliverToHost(peer.host, tx, { ...client, setupDeadlineMs: 1000 });
    assert.deepEqual(
      result.recipients.map((r) => r.state),
      ['pending'],
    );
    assert.match(result.error ?? '', /no session within 1 s/);
    await until('the connection closed', () => peer.connections.every((c) => c.closed));
  } finally {
    await peer.stop();
  }
});

describe('connection reuse', () => {
  let peer: Awaited<ReturnType<typeof startPeer>>;
  before(async () => {
    peer = await startPeer(['PIPELINING', '8BITMIME', 'SIZE 10000000']);
  });
  after(() => peer.stop());

  test('messages to one host share one connection, with no RSET after clean transactions', async () => {
    peer.connections.length = 0;
    const pool = new SessionPool({ client, limit: 1, idleMs: 2000 });
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        pool.deliver(peer.host, {
          envelopeFrom: 'alice@a.test',
          recipients: [{ address: `bob${n}@b.test` }],
          message: ascii(`m${n}`),
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.recipients[0].state),
      ['delivered', 'delivered', 'delivered', 'delivered', 'delivered'],
    );
    assert.equal(peer.connections.length, 1, 'one connection for five messages');
    assert.equal(pool.opened, 1);
    const verbs = peer.connections[0].commands.map((c) => c.split(/[ :]/)[0].toUpperCase());
    assert.equal(verbs.filter((v) => v === 'MAIL').length, 5);
    // A completed DATA ends the transaction (RFC 5321 §4.1.1.4): the next MAIL follows directly.
    assert.equal(verbs.filter((v) => v === 'RSET').length, 0);
    assert.equal(verbs.indexOf('MAIL', verbs.indexOf('DATA')), verbs.indexOf('DATA') + 1);
    assert.equal(pool.idleCount, 1);
    pool.close();
    await until('QUIT', () => peer.connections[0].closed);
    assert.equal(peer.connections[0].commands.at(-1), 'QUIT');
  });

  test('the per-destination limit and the cap per connection', async () => {
    peer.connections.length = 0;
    const pool = new SessionPool({ client, limit: 2, maxMessagesPerConnection: 2, idleMs: 2000 });
    let open = 0;
    let maxOpen = 0;
    const watch = setInterval(() => {
      open = peer.connections.filter((c) => !c.closed).length;
      maxOpen = Math.max(maxOpen, open);
    }, 1);
    await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
        pool.deliver(peer.host, {
          envelopeFrom: 'alice@a.test',
          recipients: [{ address: `bob${n}@b.test` }],
          message: ascii(`c${n}`),
        }),
      ),
    );
    clearInterval(watch);
    pool.close();
    // 8 messages, 2 per connection: 4 connections, never more than 2 at once.
    assert.equal(peer.connections.length, 4);
    assert.ok(maxOpen <= 2, `at most 2 open at once (saw ${maxOpen})`);
    for (const c of peer.connections) {
      assert.equal(c.commands.filter((l) => l.startsWith('MAIL')).length, 2);
    }
  });

  test('an idle connection is closed after idleMs; one the peer dropped is replaced', async () => {
    peer.connections.length = 0;
    const pool = new SessionPool({ client, limit: 1, idleMs: 150 });
    const tx = { envelopeFrom: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], message: ascii('idle') };
    assert.equal((await pool.deliver(peer.host, tx)).recipients[0].state, 'delivered');
    assert.equal(pool.idleCount, 1);
    await until('idle close', () => peer.connections[0].closed);
    assert.equal(peer.connections[0].commands.at(-1), 'QUIT');
    assert.equal(pool.idleCount, 0);

    const pool2 = new SessionPool({ client, limit: 1, idleMs: 5000 });
    assert.equal((await pool2.deliver(peer.host, tx)).recipients[0].state, 'delivered');
    peer.dropAll();
    await until('drop', () => peer.connections.every((c) => c.closed));
    const again = await pool2.deliver(peer.host, tx);
    assert.equal(again.recipients[0].state, 'delivered');
    assert.equal(peer.connections.length, 3);
    pool2.close();
  });
});

describe('DSN parameters and 8BITMIME/SMTPUTF8', () => {
  test('with DSN at the peer: RET/ENVID on MAIL, NOTIFY/ORCPT per recipient, as given', async () => {
    const peer = await startPeer(['PIPELINING', 'DSN', '8BITMIME']);
    try {
      const r = await deliverToHost(
        peer.host,
        {
          envelopeFrom: 'alice@a.test',
          recipients: [
            { address: 'bob@b.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;bob+2Bx@b.test' },
            { address: 'carol@b.test', notify: ['NEVER'], orcpt: null },
            { address: 'dave@b.test' },
          ],
          message: ascii('dsn'),
          ret: 'HDRS',
          envid: 'QQ+2B314',
        },
        client,
      );
      assert.deepEqual(
        r.recipients.map((x) => [x.state, x.relayed ?? false]),
        [
          ['delivered', false],
          ['delivered', false],
          ['delivered', false],
        ],
      );
      assert.deepEqual(peer.commands('MAIL'), ['MAIL FROM:<alice@a.test> RET=HDRS ENVID=QQ+2B314']);
      assert.deepEqual(peer.commands('RCPT'), [
        'RCPT TO:<bob@b.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx@b.test',
        'RCPT TO:<carol@b.test> NOTIFY=NEVER',
        'RCPT TO:<dave@b.test>',
      ]);
    } finally {
      await peer.stop();
    }
  });

  test('without DSN at the peer: no DSN parameters, delivered recipients are "relayed"', async () => {
    const peer = await startPeer(['8BITMIME']);
    try {
      const r = await deliverToHost(
        peer.host,
        {
          envelopeFrom: 'alice@a.test',
          recipients: [{ address: 'bob@b.test', notify: ['SUCCESS'], orcpt: 'rfc822;bob@b.test' }],
          message: ascii('nodsn'),
          ret: 'FULL',
          envid: 'x',
        },
        client,
      );
      assert.equal(r.recipients[0].state, 'delivered');
      assert.equal(r.recipients[0].relayed, true);
      assert.deepEqual(peer.commands('MAIL'), ['MAIL FROM:<alice@a.test>']);
      assert.deepEqual(peer.commands('RCPT'), ['RCPT TO:<bob@b.test>']);
    } finally {
      await peer.stop();
    }
  });

  test('8-bit body: BODY=8BITMIME when offered, 5.6.3 without sending when not', async () => {
    const body8 = Buffer.from('From: a@a.test\r\nSubject: x\r\n\r\nGrüße\r\n');
    const tx = { envelopeFrom: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], message: body8 };
    const with8 = await startPeer(['8BITMIME']);
    const without = await startPeer([]);
    try {
      assert.equal((await deliverToHost(with8.host, tx, client)).recipients[0].state, 'delivered');
      assert.match(with8.commands('MAIL')[0], / BODY=8BITMIME/);
      const r = await deliverToHost(without.host, tx, client);
      assert.equal(r.recipients[0].state, 'failed');
      assert.match(r.recipients[0].error ?? '', /^554 5\.6\.3 .*8BITMIME/);
      assert.deepEqual(without.commands('MAIL'), [], 'nothing was sent');
    } finally {
      await with8.stop();
      await without.stop();
    }
  });

  test('UTF-8 header: SMTPUTF8 on MAIL when offered, 5.6.7 when not (no down-conversion)', async () => {
    const head8 = Buffer.from('From: a@a.test\r\nSubject: Grüße\r\n\r\nhi\r\n');
    const tx = { envelopeFrom: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], message: head8 };
    const utf8 = await startPeer(['8BITMIME', 'SMTPUTF8']);
    const plain = await startPeer(['8BITMIME']);
    try {
      assert.equal((await deliverToHost(utf8.host, tx, client)).recipients[0].state, 'delivered');
      assert.match(utf8.commands('MAIL')[0], /^MAIL FROM:<alice@a\.test>.* SMTPUTF8$/);
      const r = await deliverToHost(
        plain.host,
        { ...tx, recipients: [{ address: 'jürgen@b.test' }], message: ascii('x') },
        client,
      );
      assert.equal(r.recipients[0].state, 'failed');
      assert.match(r.recipients[0].error ?? '', /^550 5\.6\.7 .*SMTPUTF8/);
      assert.deepEqual(plain.commands('MAIL'), []);
    } finally {
      await utf8.stop();
      await plain.stop();
    }
  });
});

describe('worker: reuse, relayed DSN, delay warning, MTA-STS', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postbode-client-'));
    store = await openTestStore({ dataDir: dir });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function enqueue(subject: string, recipients: QueueRecipient[]): Promise<number> {
    const raw = ascii(subject);
    const r = await store.deliver({
      raw,
      meta: parseMessage(raw) as unknown as JsonValue,
      local: [],
      remote: { envelopeFrom: 'alice@a.test', recipients, dsnRet: null, dsnEnvid: null },
    });
    assert.ok(r.queueId !== null);
    return r.queueId;
  }
  const rcpt = (address: string, notify: string[] | null = null): QueueRecipient => ({ address, notify, orcpt: null });

  test('queued messages for one domain go over one connection; relayed DSN only for NOTIFY=SUCCESS', async () => {
    const peer = await startPeer(['PIPELINING', '8BITMIME']);
    const relayed: { entry: QueueEntry; relayed: RelayedRecipient[] }[] = [];
    const w = new OutboundWorker({
      store,
      hostname: 'mx.a.test',
      routes: { transportMap: { 'b.test': `127.0.0.1:${peer.port}` } },
      log: silentLogger(),
      concurrencyPerDestination: 1,
      client,
      onRelayed: (entry, r) => {
        relayed.push({ entry, relayed: r });
      },
    });
    try {
      for (let i = 0; i < 4; i++) await enqueue(`w${i}`, [rcpt(`bob${i}@b.test`)]);
      const notified = await enqueue('w-success', [rcpt('eve@b.test', ['SUCCESS']), rcpt('fay@b.test')]);
      assert.equal(await w.runOnce(), 5);
      assert.equal(peer.messages.length, 5);
      assert.equal(peer.connections.length, 1);
      assert.deepEqual(w.connections, { opened: 1, idle: 1 });
      assert.equal(relayed.length, 1);
      assert.equal(relayed[0].entry.id, notified);
      assert.deepEqual(
        relayed[0].relayed.map((r) => [r.address, r.remoteMta]),
        [['eve@b.test', '127.0.0.1']],
      );
      assert.match(relayed[0].relayed[0].reply, /^250 /);
    } finally {
      await w.stop();
      await peer.stop();
    }
  });

  test('one delay warning per message once it is older than delayWarningMs', async () => {
    const peer = await startPeer(['PIPELINING']);
    const warnings: { id: number; delayed: DelayedRecipient[]; until: Date }[] = [];
    let now = new Date();
    const w = new OutboundWorker({
      store,
      hostname: 'mx.a.test',
      routes: { transportMap: { 'b.test': `127.0.0.1:${peer.port}` } },
      log: silentLogger(),
      client,
      now: () => now,
      delayWarningMs: 60 * 60_000,
      backoff: { lifetimeMs: 24 * 60 * 60_000 },
      onDelayed: (entry, delayed, _m, until) => {
        warnings.push({ id: entry.id, delayed, until });
      },
    });
    const id = await enqueue('slow', [rcpt('later@b.test'), rcpt('bob@b.test')]);
    try {
      const created = (await store.queue.get(id))?.createdAt.getTime() ?? 0;
      now = new Date(created + 1);
      assert.equal(await w.runOnce(), 1);
      assert.equal(warnings.length, 0, 'too young for a warning');
      now = new Date(created + 61 * 60_000);
      assert.equal(await w.runOnce(), 1);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].id, id);
      assert.deepEqual(
        warnings[0].delayed.map((d) => d.address),
        ['later@b.test'],
      );
      assert.match(warnings[0].delayed[0].error ?? '', /^451 4\.2\.0/);
      assert.equal(warnings[0].until.getTime(), created + 24 * 60 * 60_000);
      assert.ok((await store.queue.get(id))?.delayWarnedAt);
      now = new Date(created + 5 * 60 * 60_000);
      assert.equal(await w.runOnce(), 1);
      assert.equal(warnings.length, 1, 'never a second warning');
    } finally {
      await store.queue.delete(id);
      await w.stop();
      await peer.stop();
    }
  });

  test('MTA-STS enforce: no matching MX → stays queued; matching MX without STARTTLS → no plaintext', async () => {
    const peer = await startPeer(['PIPELINING', '8BITMIME']);
    const resolver: DnsResolver = {
      resolveMx: async (d) => [{ exchange: d === 'sts.test' ? '127.0.0.1' : 'other.test', priority: 10 }],
      resolve4: async () => ['127.0.0.1'],
      resolve6: async () => [],
    };
    const policy: StsPolicy = { id: '1', mode: 'enforce', mx: ['127.0.0.1'], maxAge: 86400 };
    const w = new OutboundWorker({
      store,
      hostname: 'mx.a.test',
      routes: { smtpPort: peer.port },
      resolver,
      log: silentLogger(),
      client,
      mtaSts: 'enforce',
      mtaStsFetcher: async () => ({ status: 'found', policy }),
    });
    try {
      const id1 = await enqueue('sts-mismatch', [rcpt('bob@elsewhere.test')]);
      const id2 = await enqueue('sts-plain', [rcpt('bob@sts.test')]);
      assert.equal(await w.runOnce(), 2);
      const e1 = await store.queue.get(id1);
      assert.equal(e1?.recipients[0].state, 'pending');
      assert.match(e1?.recipients[0].lastError ?? '', /^451 4\.7\.5 MTA-STS: none of the MX hosts of elsewhere\.test/);
      const e2 = await store.queue.get(id2);
      assert.equal(e2?.recipients[0].state, 'pending');
      assert.match(e2?.recipients[0].lastError ?? '', /502 5\.5\.1 STARTTLS/);
      assert.deepEqual(peer.commands('MAIL'), [], 'nothing sent in clear text');
      assert.equal(peer.connections.length, 1, 'only the matching MX was contacted');
    } finally {
      for (const e of await store.queue.list()) await store.queue.delete(e.id);
      await w.stop();
      await peer.stop();
    }
  });

  test('two workers (two nodes) on one queue: each message goes once; a lease stops the other node', async () => {
    const peer = await startPeer(['PIPELINING']);
    const worker = (node: string) =>
      new OutboundWorker({
        store,
        node,
        hostname: `${node}.a.test`,
        routes: { transportMap: { 'b.test': `127.0.0.1:${peer.port}` } },
        log: silentLogger(),
        concurrencyPerDestination: 2,
        batchSize: 3,
        client,
      });
    const w1 = worker('node1');
    const w2 = worker('node2');
    try {
      const subjects = Array.from({ length: 10 }, (_, i) => `twice-${i}`);
      for (const s of subjects) await enqueue(s, [rcpt(`${s}@b.test`)]);
      // Both scan at once, again and again, until neither finds anything.
      for (;;) {
        const [a, b] = await Promise.all([w1.runOnce(), w2.runOnce()]);
        if (a + b === 0) break;
      }
      const sent = peer.messages.map((m) => /^Subject: (.*)$/m.exec(m.toString())?.[1]).sort();
      assert.deepEqual(sent, [...subjects].sort(), 'each message exactly once');
      assert.equal(await store.queue.count(), 0);

      // An entry node2 holds is not node1's to send while the lease runs.
      const id = await enqueue('held', [rcpt('held@b.test')]);
      assert.equal((await store.queue.claim(new Date(), 10, { owner: w2.leaseOwner, leaseMs: 60_000 })).length, 1);
      assert.equal(await w1.runOnce(), 0);
      assert.equal(await store.queue.release(w2.leaseOwner), 1);
      assert.equal(await w1.runOnce(), 1);
      assert.equal(await store.queue.get(id), null, 'sent once released');
    } finally {
      await w1.stop();
      await w2.stop();
      await peer.stop();
    }
  });

  test("a worker's first run takes back the leases of its node's dead processes, not of other nodes", async () => {
    const peer = await startPeer(['PIPELINING']);
    // A process of this node that has exited: its pid runs no more.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead);
    const mine = await enqueue('orphan-mine', [rcpt('mine@b.test')]);
    await store.queue.claim(new Date(), 1, { owner: `node1:${dead}`, leaseMs: 60_000 });
    const theirs = await enqueue('orphan-theirs', [rcpt('theirs@b.test')]);
    await store.queue.claim(new Date(), 1, { owner: `node2:${dead}`, leaseMs: 60_000 });
    const w = new OutboundWorker({
      store,
      node: 'node1',
      hostname: 'node1.a.test',
      routes: { transportMap: { 'b.test': `127.0.0.1:${peer.port}` } },
      log: silentLogger(),
      client,
    });
    try {
      assert.equal(await w.runOnce(), 1);
      assert.equal(await store.queue.get(mine), null, "node1's orphan is sent");
      assert.ok(await store.queue.get(theirs), "node2's waits for its lease (or for node2)");
      assert.deepEqual(
        (await store.queue.leases()).map((l) => l.owner),
        [`node2:${dead}`],
      );
    } finally {
      await store.queue.delete(theirs);
      await w.stop();
      await peer.stop();
    }
  });
});

describe('MTA-STS decisions', () => {
  const hosts: RouteHost[] = [
    { host: 'mx1.example.org', port: 25, preference: 10 },
    { host: 'backup.other.net', port: 25, preference: 20 },
  ];
  const enforce: StsPolicy = { id: 'a', mode: 'enforce', mx: ['*.example.org'], maxAge: 3600 };

  test('enforce keeps matching hosts and requires verified TLS; testing and log only warn', () => {
    const d = applyPolicy('example.org', hosts, enforce, 'enforce');
    assert.equal(d.error, null);
    assert.deepEqual(d.hosts, [{ host: 'mx1.example.org', port: 25, preference: 10, verifiedTls: true }]);
    const logged = applyPolicy('example.org', hosts, enforce, 'log');
    assert.deepEqual(logged.hosts, hosts);
    assert.equal(logged.warnings.length, 1);
    assert.match(logged.warnings[0], /backup\.other\.net/);
    const testing = applyPolicy('example.org', hosts, { ...enforce, mode: 'testing' }, 'enforce');
    assert.deepEqual(testing.hosts, hosts);
    assert.equal(testing.warnings.length, 1);
    assert.deepEqual(applyPolicy('example.org', hosts, null, 'enforce'), { hosts, error: null, warnings: [] });
    assert.deepEqual(applyPolicy('example.org', hosts, enforce, 'off').hosts, hosts);
    // A wildcard matches one label only in spirit, but never the bare domain.
    const none = applyPolicy('example.org', [{ host: 'example.org', port: 25, preference: 0 }], enforce, 'enforce');
    assert.match(none.error ?? '', /^451 4\.7\.5 MTA-STS: none of the MX hosts of example\.org \(example\.org\)/);
  });

  test('policies are cached for max_age; a failed refresh keeps the old one; off never fetches', async () => {
    let clock = 1_000_000;
    let calls = 0;
    let next: () => Promise<{ status: 'found' | 'errored' | 'not_found'; policy: StsPolicy }> = async () => ({
      status: 'found',
      policy: enforce,
    });
    const noDns: DnsResolver = {
      resolveMx: async () => [],
      resolve4: async () => [],
      resolve6: async () => [],
    };
    const sts = new MtaSts('enforce', {
      resolver: noDns,
      now: () => clock,
      fetcher: async () => {
        calls++;
        return next();
      },
    });
    assert.equal((await sts.policy('example.org'))?.mode, 'enforce');
    assert.equal((await sts.policy('example.org'))?.mode, 'enforce');
    assert.equal(calls, 1);
    clock += 3601_000;
    next = async () => {
      throw new Error('https down');
    };
    assert.equal((await sts.policy('example.org'))?.mode, 'enforce', 'kept after a failed refresh');
    assert.equal(calls, 2);
    next = async () => ({ status: 'not_found', policy: { id: false, mode: 'none' } });
    assert.equal(await sts.policy('nopolicy.example'), null);
    assert.equal(await sts.policy('nopolicy.example'), null);
    assert.equal(calls, 3, 'no policy is cached too');
    const off = new MtaSts('off', { resolver: noDns, fetcher: async () => assert.fail('no fetch when off') });
    assert.equal(await off.policy('example.org'), null);
  });
});
