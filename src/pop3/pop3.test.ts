/**
 * The POP3 engine over a real listener (NetServer on 127.0.0.1:0), a real store (test/harness/store.ts)
 * for a temporary directory and the real AuthService, driven by a raw socket client
 * (test/harness/pop3-client.ts) and by Python's poplib.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import pino from 'pino';
import { Pop3TestClient, stuff, unstuff } from '../../test/harness/pop3-client.js';
import { openTestStore } from '../../test/harness/store.js';
import { SecretBox } from '../auth/secret.js';
import { AuthService } from '../auth/service.js';
import { parseMessage } from '../mail/parse.js';
import { NetServer } from '../net/listener.js';
import { generateSelfSigned } from '../net/tls.js';
import type { JsonValue, MessageInfo, Store } from '../store/types.js';
import { TraceBus, type TraceEvent } from '../trace/bus.js';
import { DotStuffer, TopCutter } from './body.js';
import { type Pop3Settings, type Pop3Store, pop3Handler } from './index.js';

const HOST = 'pop.example.test';
const SEED = path.resolve(import.meta.dirname, '../../test/transcripts/pop3/seed.txt');

let secureContext: Promise<tls.SecureContext> | null = null;
function tlsContext(): Promise<tls.SecureContext> {
  secureContext ??= generateSelfSigned('localhost').then(({ cert, key }) => tls.createSecureContext({ cert, key }));
  return secureContext;
}

interface Harness {
  port: number;
  /** The implicit-TLS listener (as pop3s on 995). */
  tlsPort: number;
  store: Store;
  bus: TraceBus;
  dataDir: string;
  logs: Record<string, unknown>[];
  account(address: string, password: string): Promise<number>;
  deliver(accountId: number, raw: string | Buffer, meta?: JsonValue): Promise<number>;
  inbox(accountId: number): Promise<MessageInfo[]>;
  connect(opts?: { tls?: boolean }): Promise<Pop3TestClient>;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

async function start(
  opts: {
    settings?: Partial<Pop3Settings>;
    plaintextNetworks?: string[];
    dataDir?: string;
    /** What the engine sees of the store (to inject failures). */
    pop3Store?: (store: Store) => Pop3Store;
  } = {},
): Promise<Harness> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'postbode-pop3-'));
  const store = await openTestStore({ dataDir });
  const auth = new AuthService(store, {
    secretBox: SecretBox.open(dataDir),
    plaintextNetworks: opts.plaintextNetworks ?? ['127.0.0.0/8', '::1/128'],
    scryptLogN: 4,
    apop: true,
  });
  const ctx = await tlsContext();
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const bus = new TraceBus();
  const net = new NetServer({
    bus,
    log,
    limits: { connectionsPerIp: 100, maxConnections: 100 },
    tlsContext: () => ctx,
  });
  const settings: Pop3Settings = {
    hostname: HOST,
    version: '9.9.9',
    showVersion: true,
    strict: false,
    idleTimeoutMs: 30_000,
    maxErrors: 20,
    maxAuthFailures: 3,
    tlsContext: () => ctx,
    ...opts.settings,
  };
  const handler = pop3Handler(settings, { auth, store: opts.pop3Store?.(store) ?? store }, log);
  const address = await net.listen({ name: 'pop3', host: '127.0.0.1', port: 0, implicitTls: false, handler });
  const tlsAddress = await net.listen({ name: 'pop3s', host: '127.0.0.1', port: 0, implicitTls: true, handler });
  const clients: Pop3TestClient[] = [];
  return {
    port: address.port,
    tlsPort: tlsAddress.port,
    store,
    bus,
    dataDir,
    logs,
    async account(addr, password) {
      await store.domains.add(addr.split('@')[1]);
      const account = await store.accounts.create({ address: addr, ...(await auth.passwordFields(password)) });
      return account.id;
    },
    async deliver(accountId, raw, meta) {
      const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
      const result = await store.deliver({
        raw: bytes,
        meta: meta ?? (parseMessage(bytes) as unknown as JsonValue),
        local: [{ accountId, mailbox: 'INBOX' }],
      });
      return result.local[0].uid;
    },
    async inbox(accountId) {
      const mailbox = await store.mailboxes.get(accountId, 'INBOX');
      assert.ok(mailbox);
      return store.messages.list(mailbox.id);
    },
    async connect(opts = {}) {
      const client = await Pop3TestClient.connect(opts.tls ? tlsAddress.port : address.port, opts);
      clients.push(client);
      return client;
    },
    async stop(stopOpts = {}) {
      for (const c of clients) c.destroy();
      await net.close();
      await store.close();
      if (!stopOpts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function withServer(opts: Parameters<typeof start>[0], fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await start(opts);
  try {
    await fn(h);
  } finally {
    await h.stop();
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function message(subject: string, body: string): string {
  return `From: Mannix <mannix@intecbrussel.intra>\r\nTo: ludo@example.test\r\nSubject: ${subject}\r\n\r\n${body}`;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('pop3: the seed session', () => {
  test('replays test/transcripts/pop3/seed.txt (empty mailbox, +OK 0 0, -ERR for DELE/RETR)', async () => {
    await withServer({}, async (h) => {
      await h.account('ludo@example.test', 'sdf12345');
      const c = await h.connect();
      const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      let first = true;
      for (const raw of readFileSync(SEED, 'utf8').split('\n')) {
        const line = raw.replace(/\r$/, '');
        if (!line.trim() || line.startsWith('#')) continue;
        const body = line.slice(3);
        const got = () => {
          if (!first) return c.readLine();
          first = false;
          return Promise.resolve(c.greeting);
        };
        if (line.startsWith('C: ')) c.send(body);
        else if (line.startsWith('S: ')) assert.equal(await got(), body.replaceAll('{host}', HOST), line);
        else if (line.startsWith('S~ '))
          assert.match(await got(), new RegExp(body.replaceAll('{host}', escapeRe(HOST))), line);
        else assert.fail(`unexpected transcript line ${line}`);
      }
      await c.waitClosed();
    });
  });

  test('greeting carries the APOP timestamp; the version is hidden when showVersion is false', async () => {
    await withServer({ settings: { showVersion: false } }, async (h) => {
      const c = await h.connect();
      assert.match(c.greeting, /^\+OK pop\.example\.test POP3 server ready <\d+\.\d+\.[0-9a-f]+@pop\.example\.test>$/);
      const { status, lines } = await c.multi('CAPA');
      assert.equal(status, '+OK Capability list follows');
      assert.ok(!lines.some((l) => l.startsWith('IMPLEMENTATION')));
      const other = await h.connect();
      assert.notEqual(other.greeting, c.greeting, 'each greeting has its own timestamp');
    });
  });
});

describe('pop3: reading mail', () => {
  test('STAT, LIST, RETR with exact bytes and byte-stuffing, NOOP', async () => {
    await withServer({}, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      const first = message('one', 'Hello\r\n.hidden dot line\r\n.\r\n..two dots\r\nend\r\n');
      const second = message('two', '.starts with a dot\r\nno final line break');
      await h.deliver(id, first);
      await h.deliver(id, second);
      const c = await h.connect();
      assert.equal(
        await c.login('alice@example.test', 'alice-secret'),
        `+OK alice@example.test has 2 visible messages (0 hidden) in ${first.length + second.length} octets.`,
      );
      assert.equal(await c.command('STAT'), `+OK 2 ${first.length + second.length}`);
      assert.deepEqual(await c.multi('LIST'), {
        status: `+OK 2 visible messages (${first.length + second.length} octets)`,
        lines: [`1 ${first.length}`, `2 ${second.length}`],
      });
      assert.equal(await c.command('LIST 2'), `+OK 2 ${second.length}`);
      assert.equal(await c.command('NOOP'), '+OK');

      const r1 = await c.body('RETR 1');
      assert.equal(r1.status, `+OK ${first.length} octets`);
      assert.equal(r1.raw.toString('latin1'), stuff(Buffer.from(first, 'latin1')).toString('latin1'));
      assert.ok(r1.raw.includes('\r\n..hidden dot line\r\n..\r\n...two dots\r\n'));
      assert.equal(unstuff(r1.raw).toString('latin1'), first);

      // A message without a final CRLF gets one before the terminating dot line.
      const r2 = await c.body('RETR 2');
      assert.equal(r2.raw.toString('latin1'), `${stuff(Buffer.from(second, 'latin1')).toString('latin1')}\r\n`);
      assert.equal(c.pending.length, 0, 'nothing after the terminator');
      assert.equal(await c.command('QUIT'), `+OK Pop server at ${HOST} signing off.`);
      await c.waitClosed();
      await until('the session summary', () =>
        h.logs.some((l) => l.msg === 'session' && l.user === 'alice@example.test'),
      );
      const summary = h.logs.find((l) => l.msg === 'session' && l.user === 'alice@example.test');
      assert.equal(summary?.retrieved, 2);
      assert.equal(summary?.deleted, 0);
      assert.equal(summary?.errors, 0);
      assert.equal(summary?.proto, 'pop3');
    });
  });

  test('RETR of a large message streams it in chunks, exact bytes, with a dot line across a chunk boundary', async () => {
    await withServer({}, async (h) => {
      const id = await h.account('big@example.test', 'pw');
      const head = 'Subject: big\r\n\r\n';
      const filler = 65536 - head.length; // the next line starts exactly at the second 64 KiB chunk
      let raw = `${head}${'y'.repeat(filler - 2)}\r\n.dot at the chunk boundary\r\n`;
      const line = `${'x'.repeat(76)}\r\n`;
      while (raw.length < 3_000_000) raw += raw.length % 7 === 0 ? `.${line}` : line;
      raw += '.\r\nlast\r\n';
      await h.deliver(id, raw);
      const c = await h.connect();
      assert.match(await c.login('big@example.test', 'pw'), /^\+OK big@example\.test has 1 visible messages/);
      const r = await c.body('RETR 1');
      assert.equal(r.status, `+OK ${raw.length} octets`);
      assert.ok(r.raw.subarray(65536, 65538).equals(Buffer.from('..')));
      assert.ok(r.raw.equals(stuff(Buffer.from(raw, 'latin1'))));
      assert.equal(await c.command('QUIT'), `+OK Pop server at ${HOST} signing off.`);
    });
  });

  test('TOP 0 and TOP n (header length from meta, and by scanning when meta has none)', async () => {
    await withServer({}, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      const header = 'From: a@example.test\r\nSubject: top\r\n\r\n';
      const body = 'line 1\r\n.line 2\r\nline 3\r\n';
      await h.deliver(id, header + body);
      await h.deliver(id, header + body, {}); // no headerLength in meta: the engine scans
      await h.deliver(id, 'Subject: no body at all\r\n'); // no empty line: all header
      const c = await h.connect();
      await c.login('alice@example.test', 'alice-secret');
      for (const n of [1, 2]) {
        const t0 = await c.body(`TOP ${n} 0`);
        assert.equal(t0.status, `+OK ${header.length} octets`);
        assert.equal(t0.raw.toString(), header);
        const t1 = await c.body(`TOP ${n} 1`);
        assert.equal(t1.status, `+OK ${header.length + 8} octets`, 'the size of what follows, before stuffing');
        assert.equal(t1.raw.toString(), `${header}line 1\r\n`);
        assert.equal((await c.body(`TOP ${n} 2`)).status, `+OK ${header.length + 17} octets`);
        assert.equal((await c.body(`TOP ${n} 2`)).raw.toString(), `${header}line 1\r\n..line 2\r\n`);
        assert.equal((await c.body(`TOP ${n} 100`)).raw.toString(), `${header}line 1\r\n..line 2\r\nline 3\r\n`);
        // Any non-negative number of lines (RFC 1939 §7), also beyond 2^53: the whole message.
        const huge = await c.body(`TOP ${n} 9007199254740993${'0'.repeat(20)}`);
        assert.equal(huge.raw.toString(), `${header}line 1\r\n..line 2\r\nline 3\r\n`);
      }
      const t3 = await c.body('TOP 3 5');
      assert.equal(t3.status, '+OK 25 octets');
      assert.equal(t3.raw.toString(), 'Subject: no body at all\r\n');
      assert.equal(await c.command('TOP 1'), '-ERR Syntax: TOP <message number> <number of lines>');
      assert.equal(await c.command('TOP 9 0'), '-ERR Message 9 does not exist.');
    });
  });

  test('UIDL is stable across sessions and across a server restart', async () => {
    const h1 = await start();
    const id = await h1.account('alice@example.test', 'alice-secret');
    await h1.deliver(id, message('a', 'a\r\n'));
    await h1.deliver(id, message('b', 'b\r\n'));
    await h1.deliver(id, message('c', 'c\r\n'));
    const uidls = async (h: Harness) => {
      const c = await h.connect();
      await c.login('alice@example.test', 'alice-secret');
      const { status, lines } = await c.multi('UIDL');
      assert.equal(status, '+OK Unique-ID listing follows');
      const single = await c.command('UIDL 2');
      await c.command('QUIT');
      return { lines, single };
    };
    let first: Awaited<ReturnType<typeof uidls>>;
    try {
      first = await uidls(h1);
      assert.equal(first.lines.length, 3);
      for (const line of first.lines) assert.match(line, /^[1-3] [0-9A-F]{16}$/);
      assert.equal(first.single, `+OK ${first.lines[1]}`);
      assert.equal(new Set(first.lines.map((l) => l.split(' ')[1])).size, 3);
      assert.deepEqual(await uidls(h1), first);
    } finally {
      await h1.stop({ keepData: true });
    }
    const h2 = await start({ dataDir: h1.dataDir });
    try {
      assert.deepEqual(await uidls(h2), first);
      // Deleting message 1 renumbers the rest in the next session, but their unique-ids stay.
      const c = await h2.connect();
      await c.login('alice@example.test', 'alice-secret');
      await c.command('DELE 1');
      await c.command('QUIT');
      const after = await uidls(h2);
      assert.deepEqual(
        after.lines.map((l) => l.split(' ')[1]),
        first.lines.slice(1).map((l) => l.split(' ')[1]),
      );
    } finally {
      await h2.stop();
    }
  });

  test('the maildrop is a snapshot: mail delivered during the session shows up in the next one', async () => {
    await withServer({}, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      await h.deliver(id, message('a', 'a\r\n'));
      const c = await h.connect();
      await c.login('alice@example.test', 'alice-secret');
      await h.deliver(id, message('b', 'b\r\n'));
      assert.match(await c.command('STAT'), /^\+OK 1 \d+$/);
      assert.equal(await c.command('RETR 2'), '-ERR Message 2 does not exist.');
      await c.command('QUIT');
      const d = await h.connect();
      await d.login('alice@example.test', 'alice-secret');
      assert.match(await d.command('STAT'), /^\+OK 2 \d+$/);
    });
  });
});

describe('pop3: deleting', () => {
  test('DELE marks, RSET unmarks, QUIT then deletes nothing', async () => {
    await withServer({}, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      const a = message('a', 'a\r\n');
      const b = message('b', 'bb\r\n');
      await h.deliver(id, a);
      await h.deliver(id, b);
      const c = await h.connect();
      await c.login('alice@example.test', 'alice-secret');
      assert.equal(await c.command('DELE 1'), '+OK Message 1 deleted.');
      assert.equal(await c.command('DELE 1'), '-ERR Message 1 is deleted.');
      assert.equal(await c.command('STAT'), `+OK 1 ${b.length}`);
      assert.deepEqual((await c.multi('LIST')).lines, [`2 ${b.length}`]);
      assert.deepEqual((await c.multi('UIDL')).lines.length, 1);
      assert.equal(await c.command('LIST 1'), '-ERR Message 1 is deleted.');
      assert.equal(await c.command('RETR 1'), '-ERR Message 1 is deleted.');
      assert.equal(await c.command('TOP 1 0'), '-ERR Message 1 is deleted.');
      assert.equal(await c.command('RSET'), `+OK Maildrop has 2 messages (${a.length + b.length} octets)`);
      assert.equal(await c.command('STAT'), `+OK 2 ${a.length + b.length}`);
      assert.equal(await c.command('QUIT'), `+OK Pop server at ${HOST} signing off.`);
      assert.equal((await h.inbox(id)).length, 2);
    });
  });

  test('DELE then a dropped connection deletes nothing; DELE then QUIT deletes, durably', async () => {
    await withServer({}, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      const uids = [await h.deliver(id, message('a', 'a\r\n')), await h.deliver(id, message('b', 'b\r\n'))];
      await h.deliver(id, message('c', 'c\r\n'));
      const c = await h.connect();
      await c.login('alice@example.test', 'alice-secret');
      assert.equal(await c.command('DELE 1'), '+OK Message 1 deleted.');
      assert.equal(await c.command('DELE 2'), '+OK Message 2 deleted.');
      c.destroy();
      await until('the dropped session to end', () => h.logs.some((l) => l.msg === 'session'));
      assert.equal((await h.inbox(id)).length, 3);

      const d = await h.connect();
      await d.login('alice@example.test', 'alice-secret');
      assert.equal(await d.command('DELE 1'), '+OK Message 1 deleted.');
      assert.equal(await d.command('DELE 2'), '+OK Message 2 deleted.');
      // The +OK to QUIT means the removal is on disk: read the store the moment it arrives.
      assert.equal(await d.command('QUIT'), `+OK Pop server at ${HOST} signing off.`);
      const left = await h.inbox(id);
      assert.equal(left.length, 1);
      assert.ok(!left.some((m) => uids.includes(m.uid)));
      await until('the summary', () => h.logs.some((l) => l.msg === 'session' && l.deleted === 2));
    });
  });

  test('when the expunge fails, QUIT answers -ERR [SYS/TEMP], nothing is deleted and the lock is released', async () => {
    const failing = (store: Store): Pop3Store => ({
      ...store,
      messages: {
        ...store.messages,
        expunge: () => Promise.reject(new Error('disk full')),
      },
    });
    await withServer({ pop3Store: failing }, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      await h.deliver(id, message('a', 'a\r\n'));
      const c = await h.connect();
      await c.login('alice@example.test', 'alice-secret');
      assert.equal(await c.command('DELE 1'), '+OK Message 1 deleted.');
      assert.equal(
        await c.command('QUIT'),
        '-ERR [SYS/TEMP] Could not remove the deleted messages; they are kept, please try again later',
      );
      await c.waitClosed();
      assert.equal((await h.inbox(id)).length, 1);
      assert.ok(h.logs.some((l) => l.msg === 'pop3: expunge failed'));
      const d = await h.connect();
      assert.match(await d.login('alice@example.test', 'alice-secret'), /^\+OK/);
    });
  });

  test('the INBOX lock: a second session gets [IN-USE] and stays in AUTHORIZATION until the first drops', async () => {
    await withServer({}, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      const m = message('a', 'a\r\n');
      await h.deliver(id, m);
      const first = await h.connect();
      assert.match(await first.login('alice@example.test', 'alice-secret'), /^\+OK/);
      const second = await h.connect();
      assert.equal(
        await second.login('alice@example.test', 'alice-secret'),
        '-ERR [IN-USE] Mailbox is locked by another POP3 session',
      );
      assert.match(await second.command('STAT'), /^-ERR STAT is only valid after login/);
      first.destroy();
      let reply = '';
      await until('the lock to be released', async () => {
        reply = await second.login('alice@example.test', 'alice-secret');
        return reply.startsWith('+OK');
      });
      assert.equal(reply, `+OK alice@example.test has 1 visible messages (0 hidden) in ${m.length} octets.`);
      assert.equal(await second.command('QUIT'), `+OK Pop server at ${HOST} signing off.`);
      // Released after QUIT too.
      const third = await h.connect();
      assert.match(await third.login('alice@example.test', 'alice-secret'), /^\+OK/);
    });
  });

  test('a client that stops reading in the middle of RETR is disconnected and the lock released', async () => {
    await withServer({ settings: { idleTimeoutMs: 400 } }, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      await h.deliver(id, `Subject: huge\r\n\r\n${`${'z'.repeat(998)}\r\n`.repeat(40_000)}`);
      const c = await h.connect();
      await c.login('alice@example.test', 'alice-secret');
      c.socket.pause();
      c.send('RETR 1');
      // A bound, not a timing: reading the 40 MB blob alone takes seconds on a busy PostgreSQL server.
      await until('the stalled session to end', () => h.logs.some((l) => l.msg === 'session'), 60_000);
      assert.ok(h.logs.some((l) => l.msg === 'pop3: client stopped reading; disconnecting'));
      const summary = h.logs.find((l) => l.msg === 'session');
      assert.equal(summary?.retrieved, 0);
      c.destroy();
      const d = await h.connect();
      assert.match(await d.login('alice@example.test', 'alice-secret'), /^\+OK/);
    });
  });

  test('an idle timeout ends the session without deleting and releases the lock', async () => {
    await withServer({ settings: { idleTimeoutMs: 300 } }, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      await h.deliver(id, message('a', 'a\r\n'));
      const c = await h.connect();
      await c.login('alice@example.test', 'alice-secret');
      assert.equal(await c.command('DELE 1'), '+OK Message 1 deleted.');
      assert.equal(await c.readLine(), '-ERR [SYS/TEMP] Idle for too long, closing the connection');
      await c.waitClosed();
      assert.equal((await h.inbox(id)).length, 1);
      const d = await h.connect();
      assert.match(await d.login('alice@example.test', 'alice-secret'), /^\+OK/);
    });
  });
});

describe('pop3: logging in', () => {
  test('wrong password, unknown user, PASS without USER, and the failure limit', async () => {
    await withServer({}, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const c = await h.connect();
      assert.equal(await c.command('PASS x'), '-ERR Send USER <name> first, then PASS <password>');
      assert.equal(await c.command('USER nobody@example.test'), '+OK Password required for nobody@example.test.');
      assert.equal(await c.command('PASS whatever'), '-ERR [AUTH] Invalid login or password');
      assert.equal(await c.command('USER alice@example.test'), '+OK Password required for alice@example.test.');
      assert.equal(await c.command('PASS wrong'), '-ERR [AUTH] Invalid login or password');
      assert.equal(await c.command('PASS alice-secret'), '-ERR Send USER <name> first, then PASS <password>');
      assert.equal(
        await c.login('alice@example.test', 'wrong again'),
        '-ERR [AUTH] Invalid login or password; too many failed logins, closing the connection',
      );
      await c.waitClosed();
    });
  });

  test('USER/PASS: case-insensitive commands, bare local part, password with spaces', async () => {
    await withServer({}, async (h) => {
      await h.account('bob@example.test', 'pass with spaces');
      const c = await h.connect();
      assert.equal(await c.command('user bob'), '+OK Password required for bob.');
      assert.equal(
        await c.command('pass pass with spaces'),
        '+OK bob@example.test has 0 visible messages (0 hidden) in 0 octets.',
      );
      assert.equal(await c.command('stat'), '+OK 0 0');
      assert.match(
        await c.command('USER bob'),
        /^-ERR USER is only valid before login; you are logged in as bob@example\.test/,
      );
    });
  });

  test('APOP with the greeting timestamp', async () => {
    await withServer({}, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const c = await h.connect();
      const timestamp = /<[^>]+>/.exec(c.greeting)?.[0];
      assert.ok(timestamp);
      const digest = (pw: string) =>
        createHash('md5')
          .update(timestamp + pw)
          .digest('hex');
      assert.equal(
        await c.command(`APOP alice@example.test ${digest('wrong')}`),
        '-ERR [AUTH] Invalid login or password',
      );
      assert.match(await c.command('APOP alice@example.test xyz'), /^-ERR Syntax: APOP <name> <digest>/);
      assert.equal(
        await c.command(`APOP alice@example.test ${digest('alice-secret').toUpperCase()}`),
        '+OK alice@example.test has 0 visible messages (0 hidden) in 0 octets.',
      );
      // Another greeting has another timestamp: the digest cannot be replayed.
      const d = await h.connect();
      assert.equal(
        await d.command(`APOP alice@example.test ${digest('alice-secret')}`),
        '-ERR [AUTH] Invalid login or password',
      );
    });
  });

  test('AUTH PLAIN with an initial response and with a continuation, AUTH LOGIN, cancel, the list', async () => {
    await withServer({}, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const plain = b64('\0alice@example.test\0alice-secret');

      const a = await h.connect();
      assert.deepEqual(await a.multi('AUTH'), {
        status: '+OK List of SASL mechanisms follows',
        lines: ['PLAIN', 'LOGIN'],
      });
      assert.equal(
        await a.command(`AUTH PLAIN ${plain}`),
        '+OK alice@example.test has 0 visible messages (0 hidden) in 0 octets.',
      );
      await a.command('QUIT');

      const b = await h.connect();
      assert.equal(await b.command('AUTH PLAIN'), '+ ');
      assert.equal(await b.command(plain), '+OK alice@example.test has 0 visible messages (0 hidden) in 0 octets.');
      await b.command('QUIT');

      const c = await h.connect();
      assert.equal(await c.command('AUTH LOGIN'), `+ ${b64('Username:')}`);
      assert.equal(await c.command(b64('alice@example.test')), `+ ${b64('Password:')}`);
      assert.equal(await c.command(b64('wrong')), '-ERR [AUTH] Invalid login or password');
      assert.equal(await c.command('AUTH login'), `+ ${b64('Username:')}`);
      assert.equal(await c.command('*'), '-ERR Authentication cancelled');
      assert.equal(
        await c.command('AUTH CRAM-MD5'),
        '-ERR Unrecognized authentication mechanism "CRAM-MD5"; use PLAIN, LOGIN or SCRAM-SHA-256',
      );
      assert.equal(
        await c.command('AUTH PLAIN !!!!'),
        '-ERR Cannot decode the response: the response is not valid base64',
      );
      assert.equal(await c.command('AUTH LOGIN'), `+ ${b64('Username:')}`);
      assert.equal(await c.command(b64('alice@example.test')), `+ ${b64('Password:')}`);
      assert.equal(
        await c.command(b64('alice-secret')),
        '+OK alice@example.test has 0 visible messages (0 hidden) in 0 octets.',
      );
    });
  });

  test('the trace shows state changes and logins but never a secret', async () => {
    await withServer({}, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const events: TraceEvent[] = [];
      h.bus.subscribe((e) => events.push(e));
      const plain = b64('\0alice@example.test\0alice-secret');
      const a = await h.connect();
      await a.login('alice@example.test', 'wrong-secret');
      await a.command('AUTH PLAIN');
      await a.command(plain);
      await a.command('QUIT');
      const b = await h.connect();
      const timestamp = /<[^>]+>/.exec(b.greeting)?.[0];
      const digest = createHash('md5').update(`${timestamp}alice-secret`).digest('hex');
      await b.command(`APOP alice@example.test ${digest}`);
      await b.command('QUIT');
      const c = await h.connect();
      await c.command(`AUTH PLAIN ${plain}`);
      await c.command('QUIT');
      await until('three closed sessions', () => events.filter((e) => e.type === 'close').length === 3);
      const text = JSON.stringify(events);
      for (const secret of ['alice-secret', 'wrong-secret', plain, digest]) assert.ok(!text.includes(secret), secret);
      const ins = events.flatMap((e) => (e.type === 'in' ? [e.text] : []));
      assert.ok(ins.includes('PASS <redacted>'));
      assert.ok(ins.includes('APOP alice@example.test <redacted>'));
      assert.ok(ins.includes('AUTH PLAIN <redacted>'));
      assert.ok(ins.includes('<redacted>'));
      const states = events.flatMap((e) => (e.type === 'state' ? [e.state] : []));
      assert.deepEqual(states, [
        'authorization',
        'transaction',
        'update',
        'authorization',
        'transaction',
        'update',
        'authorization',
        'transaction',
        'update',
      ]);
      const auths = events.flatMap((e) => (e.type === 'auth' ? [`${e.mechanism}:${e.ok}`] : []));
      assert.deepEqual(auths, ['USER:false', 'PLAIN:true', 'APOP:true', 'PLAIN:true']);
    });
  });
});

describe('pop3: TLS and plaintext policy', () => {
  test('CAPA before and after login', async () => {
    await withServer({}, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const c = await h.connect();
      assert.deepEqual(await c.multi('CAPA'), {
        status: '+OK Capability list follows',
        lines: [
          'TOP',
          'UIDL',
          'RESP-CODES',
          'AUTH-RESP-CODE',
          'PIPELINING',
          'EXPIRE NEVER',
          'USER',
          'SASL PLAIN LOGIN',
          'STLS',
          'IMPLEMENTATION postbode-9.9.9',
        ],
      });
      await c.login('alice@example.test', 'alice-secret');
      // RFC 2449 §5 (and RFC 2595 §4 for STLS): announced in both states, valid only before login.
      // (SCRAM-SHA-256 joins SASL once the account has SCRAM keys: its login just made them.)
      const after = (await c.multi('CAPA')).lines.map((l) =>
        l.startsWith('SASL ') ? l.split(' ').slice(0, 3).join(' ') : l,
      );
      assert.deepEqual(after, [
        'TOP',
        'UIDL',
        'RESP-CODES',
        'AUTH-RESP-CODE',
        'PIPELINING',
        'EXPIRE NEVER',
        'USER',
        'SASL PLAIN LOGIN',
        'STLS',
        'IMPLEMENTATION postbode-9.9.9',
      ]);
      assert.match(await c.command('STLS'), /^-ERR STLS is only valid before login/);
    });
  });

  test('STLS upgrades the connection, then USER/PASS works; STLS twice is refused', async () => {
    await withServer({}, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const c = await h.connect();
      assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation');
      await c.startTls();
      assert.ok(!(await c.multi('CAPA')).lines.includes('STLS'));
      assert.equal(await c.command('STLS'), '-ERR TLS is already active on this connection');
      assert.match(await c.login('alice@example.test', 'alice-secret'), /^\+OK alice@example\.test has 0 visible/);
      assert.equal(await c.command('QUIT'), `+OK Pop server at ${HOST} signing off.`);
    });
  });

  test('a remote client (no plaintext network) must use STLS or APOP before USER/PASS or AUTH', async () => {
    await withServer({ plaintextNetworks: [] }, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const c = await h.connect();
      const caps = (await c.multi('CAPA')).lines;
      assert.ok(!caps.includes('USER'));
      assert.ok(!caps.some((l) => l.startsWith('SASL')));
      assert.ok(caps.includes('STLS'));
      const refusal =
        '-ERR [PRIVACY] Plaintext login is not allowed on an unencrypted connection; use STLS first, connect to the POP3S port (995), or log in with APOP';
      assert.equal(await c.command('USER alice@example.test'), refusal);
      assert.equal(await c.command('PASS alice-secret'), refusal);
      assert.equal(await c.command(`AUTH PLAIN ${b64('\0alice@example.test\0alice-secret')}`), refusal);
      assert.deepEqual((await c.multi('AUTH')).lines, []);
      assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation');
      await c.startTls();
      const secureCaps = (await c.multi('CAPA')).lines;
      assert.ok(secureCaps.includes('USER'));
      assert.ok(secureCaps.includes('SASL PLAIN LOGIN'));
      assert.match(await c.login('alice@example.test', 'alice-secret'), /^\+OK/);

      const d = await h.connect();
      const timestamp = /<[^>]+>/.exec(d.greeting)?.[0];
      const digest = createHash('md5').update(`${timestamp}alice-secret`).digest('hex');
      c.destroy();
      await until('the lock to be released', async () => {
        return (await d.command(`APOP alice@example.test ${digest}`)).startsWith('+OK');
      });
    });
  });

  test('implicit TLS (pop3s): no STLS offered, plaintext login allowed even from a remote network', async () => {
    await withServer({ plaintextNetworks: [] }, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const c = await h.connect({ tls: true });
      assert.match(c.greeting, /^\+OK pop\.example\.test POP3 server/);
      const caps = (await c.multi('CAPA')).lines;
      assert.ok(!caps.includes('STLS'));
      assert.ok(caps.includes('USER'));
      assert.equal(await c.command('STLS'), '-ERR TLS is already active on this connection');
      assert.match(await c.login('alice@example.test', 'alice-secret'), /^\+OK alice@example\.test has 0 visible/);
    });
  });

  test('STLS is not offered without a certificate', async () => {
    await withServer({ settings: { tlsContext: null } }, async (h) => {
      const c = await h.connect();
      assert.ok(!(await c.multi('CAPA')).lines.includes('STLS'));
      assert.equal(await c.command('STLS'), '-ERR TLS is not available on this server');
    });
  });
});

describe('pop3: the command line', () => {
  test('pipelined commands in one write get all their replies, in order', async () => {
    await withServer({}, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      const m = message('a', 'a\r\n');
      await h.deliver(id, m);
      const c = await h.connect();
      c.write('USER alice@example.test\r\nPASS alice-secret\r\nSTAT\r\nLIST\r\nUIDL 1\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n');
      assert.match(await c.readLine(), /^\+OK Password required/);
      assert.match(await c.readLine(), /^\+OK alice@example\.test has 1 visible/);
      assert.equal(await c.readLine(), `+OK 1 ${m.length}`);
      assert.equal(await c.readLine(), `+OK 1 visible messages (${m.length} octets)`);
      assert.deepEqual(await c.readLines(), [`1 ${m.length}`]);
      assert.match(await c.readLine(), /^\+OK 1 [0-9A-F]{16}$/);
      assert.equal(await c.readLine(), `+OK ${m.length} octets`);
      assert.equal((await c.readRawBody()).toString(), m);
      assert.equal(await c.readLine(), '+OK Message 1 deleted.');
      assert.equal(await c.readLine(), `+OK Pop server at ${HOST} signing off.`);
      await c.waitClosed();
      assert.equal((await h.inbox(id)).length, 0);
    });
  });

  test('bare LF line endings are accepted in lab mode and refused in strict mode', async () => {
    await withServer({}, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const c = await h.connect();
      c.write('USER alice@example.test\nPASS alice-secret\nSTAT\n');
      assert.match(await c.readLine(), /^\+OK Password required/);
      assert.match(await c.readLine(), /^\+OK alice@example\.test has 0 visible/);
      assert.equal(await c.readLine(), '+OK 0 0');
    });
    await withServer({ settings: { strict: true } }, async (h) => {
      const c = await h.connect();
      c.write('CAPA\n');
      assert.equal(await c.readLine(), '-ERR Bare <LF> line ending; end every command with <CR><LF> (strict mode)');
      assert.equal(
        await c.command('NOOP'),
        '-ERR NOOP is only valid after login; log in first (USER and PASS, APOP or AUTH)',
      );
    });
  });

  test('unknown commands, syntax errors, long lines and arguments; too many errors closes', async () => {
    await withServer({ settings: { maxErrors: 8 } }, async (h) => {
      await h.account('alice@example.test', 'alice-secret');
      const c = await h.connect();
      assert.equal(
        await c.command('HELO there'),
        '-ERR Unknown command "HELO"; valid now: USER PASS APOP AUTH STLS CAPA QUIT',
      );
      assert.equal(await c.command(''), '-ERR Empty command; valid now: USER PASS APOP AUTH STLS CAPA QUIT');
      assert.equal(await c.command(`USER ${'a'.repeat(300)}`), '-ERR Argument too long (the limit is 255 characters)');
      assert.equal(await c.command(`X${'a'.repeat(600)}`), '-ERR Line too long (the limit is 512 octets per command)');
      await c.login('alice@example.test', 'alice-secret');
      assert.equal(await c.command('RETR x'), '-ERR Syntax: RETR <message number>');
      assert.equal(await c.command('RETR 0'), '-ERR Message 0 does not exist.');
      assert.equal(await c.command(`LIST ${'1'.repeat(41)}`), '-ERR Argument too long (the limit is 40 characters)');
      assert.equal(await c.command('STAT 1'), '-ERR Syntax: STAT (no arguments)');
      assert.equal(await c.readLine(), '-ERR Too many errors, closing the connection');
      await c.waitClosed();
      await until('the summary', () => h.logs.some((l) => l.msg === 'session' && l.errors === 8));
    });
  });
});

describe('pop3: real clients', () => {
  test("Python's poplib: CAPA, USER/PASS, STAT, LIST, UIDL, TOP, RETR, DELE, QUIT; then STLS and APOP", async () => {
    await withServer({}, async (h) => {
      const id = await h.account('alice@example.test', 'alice-secret');
      const first = message('from python', 'Hello\r\n.a dot line\r\nbye\r\n');
      await h.deliver(id, first);
      await h.deliver(id, message('second', 'two\r\n'));
      const script = `
import json, poplib, ssl, sys
port = int(sys.argv[1])
out = {}
p = poplib.POP3('127.0.0.1', port, timeout=10)
out['welcome'] = p.getwelcome().decode()
out['capa'] = sorted(p.capa().keys())
p.user('alice@example.test')
p.pass_('alice-secret')
out['stat'] = list(p.stat())
out['list'] = [l.decode() for l in p.list()[1]]
out['uidl'] = [l.decode() for l in p.uidl()[1]]
out['top'] = [l.decode('latin1') for l in p.top(1, 0)[1]]
resp, lines, octets = p.retr(1)
out['retr'] = b'\\r\\n'.join(lines).decode('latin1')
out['octets'] = octets
out['dele'] = p.dele(1).decode()
out['quit'] = p.quit().decode()
q = poplib.POP3('127.0.0.1', port, timeout=10)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out['stls'] = q.stls(ctx).decode()
q.apop('alice@example.test', 'alice-secret')
out['stat2'] = list(q.stat())
q.quit()
print(json.dumps(out))
`;
      const child = spawn('python3', ['-c', script, String(h.port)]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, stderr);
      const out = JSON.parse(stdout) as Record<string, unknown>;
      assert.match(out.welcome as string, /^\+OK pop\.example\.test POP3 server \(postbode 9\.9\.9\) ready </);
      assert.ok((out.capa as string[]).includes('UIDL'));
      assert.ok((out.capa as string[]).includes('STLS'));
      const second = message('second', 'two\r\n');
      assert.deepEqual(out.stat, [2, first.length + second.length]);
      assert.deepEqual(out.list, [`1 ${first.length}`, `2 ${second.length}`]);
      assert.equal((out.uidl as string[]).length, 2);
      assert.deepEqual(out.top, [
        'From: Mannix <mannix@intecbrussel.intra>',
        'To: ludo@example.test',
        'Subject: from python',
        '',
      ]);
      assert.equal(`${out.retr}\r\n`, first);
      assert.equal(out.dele, '+OK Message 1 deleted.');
      assert.equal(out.quit, `+OK Pop server at ${HOST} signing off.`);
      assert.equal(out.stls, '+OK Begin TLS negotiation');
      assert.deepEqual(out.stat2, [1, second.length]);
      assert.equal((await h.inbox(id)).length, 1);
    });
  });
});

describe('pop3: body helpers', () => {
  test('DotStuffer handles a dot right after a chunk boundary and adds the missing CRLF', () => {
    const s = new DotStuffer();
    const out = Buffer.concat([
      s.push(Buffer.from('.a\r')),
      s.push(Buffer.from('\n')),
      s.push(Buffer.from('.b\r\nc')),
      s.finish(),
    ]);
    assert.equal(out.toString(), '..a\r\n..b\r\nc\r\n');
    const t = new DotStuffer();
    assert.equal(Buffer.concat([t.push(Buffer.from('x\r')), t.finish()]).toString(), 'x\r\n');
    assert.equal(new DotStuffer().finish().length, 0);
  });

  test('TopCutter finds the empty line across chunks when the header length is unknown', () => {
    const msg = 'A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n';
    for (let split = 0; split <= msg.length; split++) {
      for (const lines of [0, 1, 2, 5]) {
        for (const headerLength of [null, msg.indexOf('\r\n\r\n') + 4]) {
          const cut = new TopCutter(headerLength, lines);
          const out = Buffer.concat([
            cut.push(Buffer.from(msg.slice(0, split))),
            cut.push(Buffer.from(msg.slice(split))),
          ]);
          const expected = `A: 1\r\nB: 2\r\n\r\n${['l1\r\n', 'l2\r\n', 'l3\r\n'].slice(0, lines).join('')}`;
          assert.equal(out.toString(), expected, `split ${split}, lines ${lines}, headerLength ${headerLength}`);
        }
      }
    }
  });
});
