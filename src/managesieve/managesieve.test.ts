/**
 * The ManageSieve engine over a real listener (NetServer on 127.0.0.1:0), a real store
 * (test/harness/store.ts) for a temporary directory, the real AuthService and login limiter, and the
 * real Sieve compiler, driven by a raw socket client (test/harness/managesieve-client.ts): the telnet
 * walk of docs/sieve.md, the SASL exchange, quotas, errors with positions, the shared login limits,
 * the trace, and hostile clients.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import pino from 'pino';
import { ManageSieveClient, quote } from '../../test/harness/managesieve-client.js';
import { ScramClient } from '../../test/harness/scram-client.js';
import { openTestStore } from '../../test/harness/store.js';
import { LoginLimiter } from '../auth/limiter.js';
import { SecretBox } from '../auth/secret.js';
import { AuthService } from '../auth/service.js';
import { NetServer } from '../net/listener.js';
import { generateSelfSigned } from '../net/tls.js';
import { pop3Handler } from '../pop3/index.js';
import { compile } from '../sieve/index.js';
import type { Store } from '../store/types.js';
import { TraceBus, type TraceEvent } from '../trace/bus.js';
import { annotateSession } from '../web/lab/annotate.js';
import { WireRedactor } from '../web/lab/redact.js';
import { type ManageSieveSettings, managesieveHandler } from './index.js';

const HOST = 'sieve.example.test';
const USER = 'alice@example.test';
const PASS = 'alice-secret';

let secureContext: Promise<tls.SecureContext> | null = null;
function tlsContext(): Promise<tls.SecureContext> {
  secureContext ??= generateSelfSigned('localhost').then(({ cert, key }) => tls.createSecureContext({ cert, key }));
  return secureContext;
}

interface Harness {
  port: number;
  bus: TraceBus;
  net: NetServer;
  pop3Port: number;
  store: Store;
  limiter: LoginLimiter;
  events: TraceEvent[];
  logs: Record<string, unknown>[];
  account(address: string, password: string): Promise<number>;
  connect(): Promise<ManageSieveClient>;
}

async function withServer(
  opts: { settings?: Partial<ManageSieveSettings>; plaintextNetworks?: string[]; limiter?: LoginLimiter },
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-managesieve-'));
  const store = await openTestStore({ dataDir });
  const limiter = opts.limiter ?? new LoginLimiter();
  const auth = new AuthService(store, {
    secretBox: SecretBox.open(dataDir),
    plaintextNetworks: opts.plaintextNetworks ?? ['127.0.0.0/8', '::1/128'],
    scryptLogN: 4,
    apop: false,
    limiter,
  });
  const ctx = await tlsContext();
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const bus = new TraceBus();
  const events: TraceEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const net = new NetServer({
    bus,
    log,
    limits: { connectionsPerIp: 100, maxConnections: 100 },
    tlsContext: () => ctx,
  });
  const settings: ManageSieveSettings = {
    hostname: HOST,
    version: '9.9.9',
    showVersion: true,
    strict: false,
    idleTimeoutMs: 30_000,
    maxErrors: 20,
    maxAuthFailures: 3,
    tlsContext: () => ctx,
    maxScripts: 5,
    maxScriptBytes: 4096,
    maxRedirects: 4,
    extensions: ['comparator-i;octet', 'fileinto', 'vacation'],
    ...opts.settings,
  };
  const limits = { maxScriptBytes: settings.maxScriptBytes, maxRedirects: settings.maxRedirects };
  const handler = managesieveHandler(settings, { auth, store, compile: (source) => compile(source, { limits }) }, log);
  const address = await net.listen({ name: 'managesieve', host: '127.0.0.1', port: 0, implicitTls: false, handler });
  const pop3 = pop3Handler({ ...settings, idleTimeoutMs: 30_000 }, { auth, store }, log);
  const pop3Address = await net.listen({ name: 'pop3', host: '127.0.0.1', port: 0, implicitTls: false, handler: pop3 });
  const clients: ManageSieveClient[] = [];
  try {
    await fn({
      port: address.port,
      bus,
      net,
      pop3Port: pop3Address.port,
      store,
      limiter,
      events,
      logs,
      async account(addr, password) {
        await store.domains.add(addr.split('@')[1]);
        return (await store.accounts.create({ address: addr, ...(await auth.passwordFields(password)) })).id;
      },
      async connect() {
        const c = await ManageSieveClient.connect(address.port);
        clients.push(c);
        return c;
      },
    });
  } finally {
    for (const c of clients) c.close();
    await net.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The SASL capability where plaintext logins are allowed: PLAIN and LOGIN, and SCRAM when every account has keys. */
const SASL = /^"SASL" "PLAIN LOGIN( SCRAM-SHA-256( SCRAM-SHA-256-PLUS)?)?"$/;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const plain = (user: string, pass: string) => b64(`\0${user}\0${pass}`);

const VACATION = 'require ["vacation"];\r\nvacation :days 3 "I am away";\r\n';
const FILEINTO = 'require "fileinto";\r\nif header :contains "subject" "lists" { fileinto "Lists"; }\r\n';
const BROKEN = 'require "fileinto";\r\nfileinto "A"\r\nkeep;\r\n';

async function loggedIn(h: Harness): Promise<ManageSieveClient> {
  const c = await h.connect();
  assert.equal((await c.response()).status, 'OK');
  assert.equal((await c.login(USER, PASS)).status, 'OK');
  return c;
}

describe('managesieve: a session by raw socket', () => {
  test('the telnet walk: capabilities, STARTTLS, AUTHENTICATE with a literal, scripts, errors, LOGOUT', async () => {
    await withServer({}, async (h) => {
      const id = await h.account(USER, PASS);
      const c = await h.connect();
      // RFC 5804 §1.7: the greeting is the capability list and OK.
      const greeting = await c.response();
      assert.equal(greeting.status, 'OK');
      // SCRAM is offered once AuthService knows every account has keys (it looks in the background).
      assert.match(greeting.data[3], SASL);
      assert.deepEqual(greeting.data.toSpliced(3, 1), [
        '"IMPLEMENTATION" "postbode 9.9.9"',
        '"SIEVE" "fileinto vacation"',
        '"MAXREDIRECTS" "4"',
        '"STARTTLS"',
        '"VERSION" "1.0"',
        '"UNAUTHENTICATE"',
      ]);
      assert.equal(greeting.text, `${HOST} ManageSieve ready`);

      assert.equal((await c.cmd('STARTTLS')).status, 'OK');
      await c.upgradeTls();
      // RFC 5804 §2.2: the capabilities again, unasked, without STARTTLS.
      const after = await c.response();
      assert.equal(after.status, 'OK');
      assert.ok(!after.data.includes('"STARTTLS"'));
      assert.ok(after.data.some((l) => SASL.test(l)));

      // Commands of the authenticated state are refused before login.
      const early = await c.cmd('LISTSCRIPTS');
      assert.equal(early.status, 'NO');
      assert.match(early.text, /only valid after login/);

      // AUTHENTICATE with the initial response as a literal (sieve-connect's form).
      const ir = plain(USER, PASS);
      c.write(`AUTHENTICATE "PLAIN" {${ir.length}+}\r\n${ir}\r\n`);
      const auth = await c.response();
      assert.equal(auth.status, 'OK', auth.line);
      const caps = await c.cmd('CAPABILITY');
      assert.ok(caps.data.includes(`"OWNER" "${USER}"`));
      assert.ok(!caps.data.some((l) => l.startsWith('"SASL"')));

      assert.equal((await c.cmd('HAVESPACE "vacation" 100')).status, 'OK');
      assert.equal((await c.putScript('vacation', VACATION)).status, 'OK');
      assert.equal((await c.putScript('lists', FILEINTO)).status, 'OK');

      // A broken script is refused with the line and column of its error, and not stored.
      const broken = await c.putScript('broken', BROKEN);
      assert.equal(broken.status, 'NO');
      assert.match(broken.text, /^line [23], column \d+: /);
      assert.equal(await h.store.sieve.get(id, 'broken'), null);
      c.write(`CHECKSCRIPT {${BROKEN.length}+}\r\n${BROKEN}\r\n`);
      const check = await c.response();
      assert.equal(check.status, 'NO');
      assert.match(check.text, /^line [23], column \d+: /);
      c.write(`CHECKSCRIPT {${VACATION.length}+}\r\n${VACATION}\r\n`);
      assert.equal((await c.response()).status, 'OK');

      assert.deepEqual((await c.cmd('LISTSCRIPTS')).data, ['"lists"', '"vacation"']);
      assert.equal((await c.cmd('SETACTIVE "vacation"')).status, 'OK');
      assert.deepEqual((await c.cmd('LISTSCRIPTS')).data, ['"lists"', '"vacation" ACTIVE']);
      assert.deepEqual(await h.store.sieve.active(id), { name: 'vacation', source: VACATION });

      const got = await c.cmd('GETSCRIPT "vacation"');
      assert.equal(got.status, 'OK');
      assert.deepEqual(got.data, [quote(VACATION)]);
      const missing = await c.cmd('GETSCRIPT "nope"');
      assert.equal(missing.status, 'NO');
      assert.equal(missing.code, 'NONEXISTENT');

      assert.equal((await c.cmd('RENAMESCRIPT "vacation" "away"')).status, 'OK');
      assert.deepEqual((await c.cmd('LISTSCRIPTS')).data, ['"away" ACTIVE', '"lists"']);
      const taken = await c.cmd('RENAMESCRIPT "lists" "away"');
      assert.equal(taken.code, 'ALREADYEXISTS');

      // RFC 5804 §2.10: the active script cannot be deleted.
      const active = await c.cmd('DELETESCRIPT "away"');
      assert.equal(active.status, 'NO');
      assert.equal(active.code, 'ACTIVE');
      assert.equal((await c.cmd('DELETESCRIPT "lists"')).status, 'OK');
      assert.equal((await c.cmd('DELETESCRIPT "lists"')).code, 'NONEXISTENT');
      assert.equal((await c.cmd('SETACTIVE ""')).status, 'OK');
      assert.equal(await h.store.sieve.active(id), null);
      assert.equal((await c.cmd('SETACTIVE "gone"')).code, 'NONEXISTENT');

      const noop = await c.cmd('NOOP "tag-1"');
      assert.equal(noop.status, 'OK');
      assert.equal(noop.code, 'TAG "tag-1"');

      const bye = await c.cmd('LOGOUT');
      assert.equal(bye.status, 'OK');
      await c.closedByServer();
    });
  });

  test('quotas: script count and size, HAVESPACE and PUTSCRIPT; an over-long literal is dropped and the session goes on', async () => {
    await withServer({ settings: { maxScripts: 2, maxScriptBytes: 1024 } }, async (h) => {
      await h.account(USER, PASS);
      const c = await loggedIn(h);
      assert.equal((await c.putScript('one', 'keep;')).status, 'OK');
      assert.equal((await c.putScript('two', 'keep;')).status, 'OK');
      const third = await c.putScript('three', 'keep;');
      assert.equal(third.status, 'NO');
      assert.equal(third.code, 'QUOTA/MAXSCRIPTS');
      // Replacing one by its name is no new script.
      assert.equal((await c.putScript('two', 'discard;')).status, 'OK');
      assert.equal((await c.cmd('HAVESPACE "three" 10')).code, 'QUOTA/MAXSCRIPTS');
      assert.equal((await c.cmd('HAVESPACE "two" 1024')).status, 'OK');
      const size = await c.cmd('HAVESPACE "two" 1025');
      assert.equal(size.code, 'QUOTA/MAXSIZE');
      assert.match(size.text, /1025 octets; the limit is 1024/);
      // A literal over the limit (but small enough to skip) is read and dropped, then refused.
      const big = `# ${'x'.repeat(3000)}\r\nkeep;\r\n`;
      const over = await c.putScript('two', big);
      assert.equal(over.status, 'NO');
      assert.equal(over.code, 'QUOTA/MAXSIZE');
      // The script's bytes were not taken for commands: the session goes on.
      assert.equal((await c.cmd('GETSCRIPT "two"')).data[0], '"discard;"');
      assert.equal((await c.cmd('NOOP')).status, 'OK');
    });
  });

  test('commands fed one byte at a time', async () => {
    await withServer({}, async (h) => {
      const id = await h.account(USER, PASS);
      const c = await h.connect();
      await c.response();
      const ir = plain(USER, PASS);
      const input = Buffer.from(
        `AUTHENTICATE "PLAIN" {${ir.length}+}\r\n${ir}\r\nPUTSCRIPT "bytes" {${VACATION.length}+}\r\n${VACATION}\r\nSETACTIVE "bytes"\r\n`,
      );
      for (const byte of input) {
        c.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
      assert.equal((await c.response()).status, 'OK');
      assert.equal((await c.response()).status, 'OK');
      assert.equal((await c.response()).status, 'OK');
      assert.deepEqual(await h.store.sieve.active(id), { name: 'bytes', source: VACATION });
    });
  });

  test('a name is checked, and a script name may be a literal with UTF-8', async () => {
    await withServer({}, async (h) => {
      const id = await h.account(USER, PASS);
      const c = await loggedIn(h);
      const empty = await c.putScript('', 'keep;');
      assert.equal(empty.status, 'NO');
      assert.match(empty.text, /must not be empty/);
      const name = 'Filtres d’été';
      c.write(`PUTSCRIPT {${Buffer.byteLength(name)}+}\r\n${name} {5+}\r\nkeep;\r\n`);
      assert.equal((await c.response()).status, 'OK');
      assert.equal(await h.store.sieve.get(id, name), 'keep;');
      assert.deepEqual((await c.cmd('LISTSCRIPTS')).data, [`"${name}"`]);
    });
  });
});

describe('managesieve: logging in', () => {
  test('PLAIN and LOGIN with challenges as strings, "*" cancels, wrong passwords and the failure limit', async () => {
    await withServer({}, async (h) => {
      await h.account(USER, PASS);
      const c = await h.connect();
      await c.response();
      // PLAIN without an initial response: an empty challenge, then the response as a quoted string.
      c.send('AUTHENTICATE "PLAIN"');
      assert.equal(await c.line(), '""');
      c.send(`"${plain(USER, PASS)}"`);
      assert.equal((await c.response()).status, 'OK');
      assert.equal((await c.cmd('UNAUTHENTICATE')).status, 'OK');
      assert.equal((await c.cmd('LISTSCRIPTS')).status, 'NO');
      // LOGIN: two challenges; the responses as literals.
      c.send('AUTHENTICATE "LOGIN"');
      assert.equal(await c.line(), `"${b64('Username:')}"`);
      c.write(`{${b64(USER).length}+}\r\n${b64(USER)}\r\n`);
      assert.equal(await c.line(), `"${b64('Password:')}"`);
      c.write(`{${b64(PASS).length}+}\r\n${b64(PASS)}\r\n`);
      assert.equal((await c.response()).status, 'OK');
      assert.equal((await c.cmd('UNAUTHENTICATE')).status, 'OK');
      // Cancelled.
      c.send('AUTHENTICATE "PLAIN"');
      await c.line();
      const cancelled = await c.cmd('"*"');
      assert.equal(cancelled.status, 'NO');
      assert.match(cancelled.text, /cancelled/);
      // Unknown mechanism.
      assert.match((await c.cmd('AUTHENTICATE "GSSAPI"')).text, /Unsupported authentication mechanism "GSSAPI"/);
      // Wrong passwords: NO, then BYE at the limit (3).
      assert.equal((await c.login(USER, 'wrong')).status, 'NO');
      assert.equal((await c.login(USER, 'wrong')).status, 'NO');
      const last = await c.login(USER, 'wrong');
      assert.equal(last.status, 'BYE');
      assert.match(last.text, /too many failed logins/);
      await c.closedByServer();
    });
  });

  test('SCRAM-SHA-256: the server-final message as a challenge, answered with an empty string', async () => {
    await withServer({}, async (h) => {
      await h.account(USER, PASS);
      const c = await h.connect();
      await c.response();
      // AuthService offers SCRAM once it has seen that every account has keys (it looks in the background).
      await until('SCRAM to be offered', async () =>
        (await c.cmd('CAPABILITY')).data.includes('"SASL" "PLAIN LOGIN SCRAM-SHA-256"'),
      );
      const scram = new ScramClient({ username: USER, password: PASS });
      c.send(`AUTHENTICATE "SCRAM-SHA-256" "${b64(scram.first)}"`);
      const serverFirst = Buffer.from(JSON.parse(await c.line()) as string, 'base64').toString();
      c.send(`"${b64(scram.final(serverFirst))}"`);
      const serverFinal = Buffer.from(JSON.parse(await c.line()) as string, 'base64').toString();
      assert.ok(scram.verifyServer(serverFinal), serverFinal);
      c.send('""');
      const done = await c.response();
      assert.equal(done.status, 'OK', done.line);
      assert.ok((await c.cmd('CAPABILITY')).data.includes(`"OWNER" "${USER}"`));
    });
  });

  test('no plaintext login outside TLS and the plaintext networks: SASL is empty, AUTHENTICATE gets ENCRYPT-NEEDED', async () => {
    await withServer({ plaintextNetworks: [] }, async (h) => {
      await h.account(USER, PASS);
      const c = await h.connect();
      const greeting = await c.response();
      assert.ok(greeting.data.includes('"SASL" ""'));
      assert.ok(greeting.data.includes('"STARTTLS"'));
      const refused = await c.login(USER, PASS);
      assert.equal(refused.status, 'NO');
      assert.equal(refused.code, 'ENCRYPT-NEEDED');
      assert.match(refused.text, /STARTTLS/);
      assert.equal((await c.cmd('STARTTLS')).status, 'OK');
      await c.upgradeTls();
      assert.ok((await c.response()).data.some((l) => SASL.test(l)));
      assert.equal((await c.login(USER, PASS)).status, 'OK');
    });
  });

  test('a failed AUTHENTICATE counts with the other protocols in the one login limiter', async () => {
    const limiter = new LoginLimiter({ freeFailures: 1, startMs: 600_000, maxMs: 600_000, maxWaitingPenalized: 0 });
    await withServer({ limiter }, async (h) => {
      await h.account(USER, PASS);
      const c = await h.connect();
      await c.response();
      assert.equal((await c.login(USER, 'wrong')).status, 'NO');
      assert.equal(limiter.stats.failures, 1);
      // The address is penalized now: POP3 from it is refused without a check...
      const pop = await ManageSieveClient.connect(h.pop3Port);
      try {
        assert.match(await pop.rawLine(), /^\+OK/);
        pop.send(`USER ${USER}`);
        assert.match(await pop.rawLine(), /^\+OK/);
        pop.send(`PASS ${PASS}`);
        assert.match(await pop.rawLine(), /^-ERR \[SYS\/TEMP\] Too many login attempts from your address/);
      } finally {
        pop.close();
      }
      // ...and so is ManageSieve, with TRYLATER.
      const again = await c.login(USER, PASS);
      assert.equal(again.status, 'NO');
      assert.equal(again.code, 'TRYLATER');
      assert.equal(limiter.stats.checks, 1);
    });
  });

  test('credentials never reach the trace', async () => {
    await withServer({}, async (h) => {
      await h.account(USER, PASS);
      const c = await h.connect();
      await c.response();
      assert.equal((await c.login(USER, 'wrong-one')).status, 'NO');
      c.send('AUTHENTICATE "PLAIN"');
      await c.line();
      c.write(`{${plain(USER, PASS).length}+}\r\n${plain(USER, PASS)}\r\n`);
      assert.equal((await c.response()).status, 'OK');
      const ir = plain(USER, 'in-a-literal');
      c.write(`UNAUTHENTICATE\r\nAUTHENTICATE "PLAIN" {${ir.length}+}\r\n${ir}\r\n`);
      await c.response();
      await c.response();
      // A careless client's credentials on the line after AUTHENTICATE.
      c.send(plain(USER, 'careless'));
      await c.response();
      await c.cmd('LOGOUT');
      await c.closedByServer();
      await until('the session to close', () => h.events.some((e) => e.type === 'close'));
      const lines = h.events.flatMap((e) => (e.type === 'in' ? [e.text] : []));
      const all = JSON.stringify(h.events);
      for (const secret of ['wrong-one', PASS, 'in-a-literal', 'careless']) {
        assert.ok(!all.includes(plain(USER, secret)), `${secret} is in the trace`);
      }
      assert.ok(lines.includes('AUTHENTICATE "PLAIN" "<redacted>"'), lines.join('\n'));
      assert.ok(lines.includes(`<${ir.length} bytes>`), lines.join('\n'));
      assert.ok(lines.includes('<redacted>'), lines.join('\n'));
    });
  });
});

describe('managesieve: shutdown', () => {
  test('a stopping server says BYE (TRYLATER) between commands, after a script literal in flight is read', async () => {
    await withServer({}, async (h) => {
      const id = await h.account(USER, PASS);
      const c = await loggedIn(h);
      const half = Math.floor(VACATION.length / 2);
      c.write(`PUTSCRIPT "late" {${VACATION.length}+}\r\n${VACATION.slice(0, half)}`);
      await until('the literal to be under way', () =>
        h.events.some((e) => e.type === 'in' && e.text.startsWith('PUTSCRIPT "late"')),
      );
      h.net.beginClose();
      c.write(`${VACATION.slice(half)}\r\nLISTSCRIPTS\r\n`);
      assert.equal((await c.response()).status, 'OK', 'the command in progress completes');
      const bye = await c.response();
      assert.equal(bye.status, 'BYE');
      assert.equal(bye.code, 'TRYLATER');
      await c.closedByServer();
      assert.equal(await h.store.sieve.get(id, 'late'), VACATION);
    });
  });
});

describe("managesieve: the lab's capture", () => {
  test("a real session's bytes through the lab's redactor: credentials masked, scripts kept", async () => {
    await withServer({}, async (h) => {
      await h.account(USER, PASS);
      const chunks = new Map<string, { dir: 'in' | 'out'; bytes: Buffer }[]>();
      const stop = h.bus.subscribeWire((trace, dir, bytes) => {
        const list = chunks.get(trace.sid) ?? [];
        list.push({ dir, bytes: Buffer.from(bytes) });
        chunks.set(trace.sid, list);
      });
      try {
        const c = await h.connect();
        await c.response();
        assert.equal((await c.login(USER, 'wrong-quoted')).status, 'NO');
        const ir = plain(USER, PASS);
        c.write(`AUTHENTICATE "PLAIN" {${ir.length}+}\r\n${ir}\r\n`);
        assert.equal((await c.response()).status, 'OK');
        assert.equal((await c.putScript('kept', VACATION)).status, 'OK');
        assert.equal((await c.cmd('GETSCRIPT "kept"')).status, 'OK');
        assert.equal((await c.cmd('LISTSCRIPTS')).status, 'OK');
        await c.cmd('LOGOUT');
        await c.closedByServer();
        await until('the session to close', () => h.events.some((e) => e.type === 'close'));
      } finally {
        stop();
      }
      const [session] = [...chunks.values()];
      const redactor = new WireRedactor('managesieve');
      const kept = Buffer.concat([
        ...session.map((ch) => redactor.feed(ch.dir, ch.bytes).bytes),
        redactor.end().bytes,
      ]).toString('utf8');
      for (const secret of ['wrong-quoted', PASS]) {
        assert.ok(!kept.includes(plain(USER, secret)), `${secret} is in the capture`);
      }
      assert.ok(kept.includes(VACATION), 'the script is kept as sent');
      assert.ok(kept.includes('AUTHENTICATE "PLAIN" "'), kept);
      // The lab's annotator reads the engine's transcript: literals as data, each answer to its command.
      const answers = annotateSession(h.events)
        .filter((e) => e.type === 'out' && /^(OK|NO|BYE)\b/.test(e.text))
        .map((e) => e.annotation?.answers?.command ?? null);
      assert.deepEqual(answers, [
        'connection',
        'AUTHENTICATE',
        'AUTHENTICATE',
        'PUTSCRIPT',
        'GETSCRIPT',
        'LISTSCRIPTS',
        'LOGOUT',
      ]);
    });
  });
});

describe('managesieve: hostile clients are bounded', () => {
  test('a huge literal announcement ends the session unread, before and after login', async () => {
    await withServer({}, async (h) => {
      await h.account(USER, PASS);
      const before = await h.connect();
      await before.response();
      before.write('AUTHENTICATE "PLAIN" {1000000+}\r\n');
      const bye = await before.response();
      assert.equal(bye.status, 'BYE');
      assert.match(bye.text, /Literal of 1000000 octets is too large/);
      await before.closedByServer();
      const after = await loggedIn(h);
      after.write('PUTSCRIPT "x" {999999999999+}\r\n');
      const bye2 = await after.response();
      assert.equal(bye2.status, 'BYE');
      assert.match(bye2.text, /too large/);
      await after.closedByServer();
    });
  });

  test('a line longer than the limit ends the session', async () => {
    await withServer({}, async (h) => {
      const c = await h.connect();
      await c.response();
      c.write(`NOOP "${'a'.repeat(20_000)}"\r\n`);
      const bye = await c.response();
      assert.equal(bye.status, 'BYE');
      assert.match(bye.text, /Line too long/);
      await c.closedByServer();
    });
  });

  test('a literal count with leading zeros is read; one too large to read ends the session', async () => {
    await withServer({}, async (h) => {
      const c = await h.connect();
      await c.response();
      c.write('NOOP {00000000000000000000001+}\r\nx\r\n');
      assert.equal((await c.response()).status, 'OK');
      // Its bytes could not be skipped, and would be read as commands: BYE, not a desynchronised stream.
      c.write('NOOP {99999999999999999999+}\r\nA B\r\n');
      const bye = await c.response();
      assert.equal(bye.status, 'BYE');
      assert.match(bye.text, /more octets than can be read/);
      await c.closedByServer();
    });
  });

  test('errors are counted: BYE after max_errors', async () => {
    await withServer({ settings: { maxErrors: 3 } }, async (h) => {
      const c = await h.connect();
      await c.response();
      assert.match((await c.cmd('FROB')).text, /Unknown command "FROB"; valid now: CAPABILITY STARTTLS AUTHENTICATE/);
      assert.match((await c.cmd('NOOP "unclosed')).text, /not closed/);
      const bye = await c.cmd('HAVESPACE');
      assert.equal(bye.status, 'NO');
      assert.equal((await c.response()).status, 'BYE');
      await c.closedByServer();
    });
  });

  test('a client that sends commands and never reads stalls only itself and is dropped', async () => {
    await withServer({ settings: { idleTimeoutMs: 500, maxScriptBytes: 1024 * 1024 } }, async (h) => {
      await h.account(USER, PASS);
      const c = await loggedIn(h);
      const big = `# ${'y'.repeat(1_000_000)}\r\nkeep;\r\n`;
      assert.equal((await c.putScript('big', big)).status, 'OK');
      c.socket.pause();
      const sent = 2000;
      c.write('GETSCRIPT "big"\r\n'.repeat(sent));
      await until('the stalled session to end', () => h.logs.some((l) => l.msg === 'session'), 30_000);
      const summary = h.logs.find((l) => l.msg === 'session');
      // Bounded by the unsent output (256 KiB) and the sockets' buffers: a few commands of 1 MB each,
      // not 2000 (2 GB).
      assert.ok(typeof summary?.commands === 'number' && summary.commands < 100, JSON.stringify(summary));
    });
  });
});
