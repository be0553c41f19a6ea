/**
 * Fuzzing the POP3 engine (issue 10 item 7). Time-bounded (a few seconds each in `npm test`,
 * FUZZ_SECONDS in `npm run fuzz`), seeded: a failure prints FUZZ_SEED and FUZZ_ITERATION, which replay it
 * (test/harness/fuzz.ts).
 *
 * - The command parser (wire.ts `parseCommandLine`, `parseNumber`, `printable`; commands/args.ts): never
 *   throws, and its results keep their promised shape.
 * - The session: random and mutated command lines (NUL, bare CR, non-UTF-8, over-long lines, SASL
 *   exchanges, DELE/RSET/RETR/TOP on a real maildrop), pipelined to a real listener with the real
 *   AuthService and a store (test/harness/store.ts) for a temporary directory. Every line out must be
 *   one clean line (no control characters), the greeting `+OK`, no command may end in a server fault (`-ERR [SYS/TEMP]`
 *   and an error log line), and the session must end with a status line after QUIT.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { fuzz, type Rand } from '../../test/harness/fuzz.js';
import { openTestStore } from '../../test/harness/store.js';
import { SecretBox } from '../auth/secret.js';
import { AuthService } from '../auth/service.js';
import { parseMessage } from '../mail/parse.js';
import { NetServer } from '../net/listener.js';
import type { JsonValue, Store } from '../store/types.js';
import { TraceBus } from '../trace/bus.js';
import { messageNumber, optionalMessageNumber } from './commands/args.js';
import { type Pop3Settings, pop3Handler } from './index.js';
import { MAX_ARGUMENT, parseCommandLine, parseNumber, printable } from './wire.js';

const INTERESTING = Buffer.from(' \t\r\n\0\x7f\xff\xc3\xa9<>@.*=+/0123456789-AaZzUSERPASTOPLI', 'latin1');

const USER = 'fuzz@example.test';
const PASSWORD = 'pw';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const COMMANDS = [
  `USER ${USER}`,
  `PASS ${PASSWORD}`,
  'PASS wrong password with spaces',
  'USER',
  `APOP ${USER} c4c9334bac560ecc979e58001b3e22fb`,
  'AUTH',
  `AUTH PLAIN ${b64(`\0${USER}\0${PASSWORD}`)}`,
  'AUTH PLAIN',
  b64(`\0${USER}\0${PASSWORD}`),
  'AUTH LOGIN',
  b64(USER),
  b64(PASSWORD),
  'AUTH CRAM-MD5',
  '*',
  'STLS',
  'CAPA',
  'STAT',
  'LIST',
  'LIST 1',
  'LIST 99',
  'LIST 0',
  'LIST 4294967296',
  'RETR 1',
  'RETR 2',
  'TOP 1 0',
  'TOP 2 3',
  'TOP 3 99999999999',
  'DELE 1',
  'DELE 3',
  'RSET',
  'NOOP',
  'UIDL',
  'UIDL 2',
  '',
  'list  1 ',
  'retr\t1',
];

describe('fuzz: POP3 command parser', () => {
  it('parseCommandLine, parseNumber, printable and the message-number parsers never throw', async () => {
    await fuzz('pop3-parse', { seconds: 2, minIterations: 200 }, (rand) => {
      const base = Buffer.from(rand.pick(COMMANDS), 'utf8');
      let bytes = rand.chance(0.8) ? rand.mutate(base, INTERESTING, 6) : rand.bytes(rand.int(120), INTERESTING);
      if (rand.chance(0.05))
        bytes = Buffer.concat([bytes, Buffer.alloc(2000 + rand.int(4000), rand.pick([' ', '\t', '1', 'a']))]);
      const text = bytes.toString('utf8');
      const line = parseCommandLine(text);
      assert.equal(line.verb, line.verb.toUpperCase());
      assert.doesNotMatch(line.verb, /[ \t]/);
      assert.ok(text.startsWith(line.verb) || text.toUpperCase().startsWith(line.verb), 'the verb starts the line');
      for (const a of line.args) {
        assert.ok(a.length > 0 && !/[ \t]/.test(a), `argument ${JSON.stringify(a)}`);
        assert.ok(line.rest.includes(a));
      }
      const shown = printable(text, MAX_ARGUMENT);
      assert.doesNotMatch(shown, /[\x00-\x1f\x7f]/);
      assert.ok(shown.length <= MAX_ARGUMENT + 3);
      for (const a of [...line.args, text, line.rest]) {
        const n = parseNumber(a);
        if (n !== null) {
          assert.ok(Number.isSafeInteger(n) && n >= 0 && n < 1e10, `${a} → ${n}`);
          assert.match(a, /^[0-9]+$/);
        }
      }
      for (const parse of [messageNumber(line.verb), optionalMessageNumber(line.verb)]) {
        const r = parse(line);
        if (r.ok) assert.ok(r.args === null || Number.isSafeInteger(r.args));
        else assert.match(r.error, /^Syntax: /);
      }
    });
  });
});

/** A random batch of command lines, often after a login that works. */
function commandBatch(rand: Rand): Buffer {
  const lines: Buffer[] = [];
  const ending = rand.pick(['\r\n', '\r\n', '\r\n', '\n']);
  if (rand.chance(0.6)) {
    const login = rand.chance(0.7)
      ? [`USER ${USER}`, `PASS ${PASSWORD}`]
      : [`AUTH PLAIN ${b64(`\0${USER}\0${PASSWORD}`)}`];
    for (const l of login) lines.push(Buffer.from(l), Buffer.from(ending));
  }
  const n = rand.int(30);
  for (let k = 0; k < n; k++) {
    let line: Buffer;
    const kind = rand.next();
    if (kind < 0.55) line = Buffer.from(rand.pick(COMMANDS), 'utf8');
    else if (kind < 0.9) line = rand.mutate(Buffer.from(rand.pick(COMMANDS), 'utf8'), INTERESTING);
    else if (kind < 0.97) line = rand.bytes(rand.int(100), INTERESTING);
    else line = Buffer.alloc(500 + rand.int(2000), rand.pick(['a', ' ', '1']));
    if (rand.chance(0.02)) line = Buffer.from('QUIT');
    lines.push(line, Buffer.from(rand.chance(0.9) ? ending : rand.pick(['\r', '\n', '\r\r\n', '\n\r'])));
  }
  return Buffer.concat(lines);
}

/** After the batch: end any SASL exchange, then QUIT (more than once: a SASL step may take one). */
const UNSTICK = Buffer.from('*\r\nQUIT\r\nQUIT\r\nQUIT\r\n');

/** Writes `input` in pieces and collects everything until the server closes, or fails after `ms`. */
async function converse(port: number, input: Buffer, ms: number): Promise<Buffer> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `the server did not close within ${ms} ms; output so far:\n${Buffer.concat(chunks).toString('latin1')}`,
        ),
      );
    }, ms);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.on('connect', () => {
      let at = 0;
      const send = () => {
        if (at >= input.length || socket.destroyed) return;
        const size = 1 + Math.floor(Math.random() * 1024);
        socket.write(input.subarray(at, at + size), () => setImmediate(send));
        at += size;
      };
      send();
    });
  });
}

/** The messages in the maildrop: plain text lines, some starting with "." (dot-stuffed on the wire). */
const MESSAGES = [
  'From: a@example.test\r\nSubject: one\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\nlast\r\n',
  'Subject: two\r\n\r\n' + 'body line of some length\r\n'.repeat(40),
  'Subject: three, no final CRLF\r\n\r\nend',
];

describe('fuzz: POP3 sessions over a real listener', () => {
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const server = new NetServer({
    bus: new TraceBus(),
    log,
    limits: { connectionsPerIp: 1000, maxConnections: 1000 },
    tlsContext: () => {
      throw new Error('no TLS in this test');
    },
  });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-pop3-fuzz-'));
  let store: Store;
  let accountId = 0;
  const ports: number[] = [];

  /** Puts the INBOX back to the three messages (sessions delete some with DELE + QUIT). */
  async function refill(): Promise<void> {
    const inbox = await store.mailboxes.get(accountId, 'INBOX');
    assert.ok(inbox);
    const count = (await store.messages.list(inbox.id)).length;
    for (let k = count; k < MESSAGES.length; k++) {
      const raw = Buffer.from(MESSAGES[k]);
      await store.deliver({
        raw,
        meta: parseMessage(raw) as unknown as JsonValue,
        local: [{ accountId, mailbox: 'INBOX' }],
      });
    }
  }

  before(async () => {
    store = await openTestStore({ dataDir });
    const auth = new AuthService(store, {
      secretBox: SecretBox.open(dataDir),
      plaintextNetworks: ['127.0.0.0/8', '::1/128'],
      scryptLogN: 4,
      apop: true,
    });
    await store.domains.add('example.test');
    accountId = (await store.accounts.create({ address: USER, ...(await auth.passwordFields(PASSWORD)) })).id;
    await refill();
    for (const strict of [false, true]) {
      const settings: Pop3Settings = {
        hostname: 'pop.example.test',
        version: '0.0.0',
        showVersion: false,
        strict,
        idleTimeoutMs: 30_000,
        // High, so that random lines rarely end the session before the final QUIT is read.
        maxErrors: 1000,
        maxAuthFailures: 3,
        tlsContext: null,
      };
      const handler = pop3Handler(settings, { auth, store }, log);
      ports.push((await server.listen({ name: 'pop3', host: '127.0.0.1', port: 0, implicitTls: false, handler })).port);
    }
  });
  after(async () => {
    await server.close();
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('random command lines get clean lines, no server fault, and an end after QUIT', async (t) => {
    const seen = new Map<string, number>();
    const report = await fuzz('pop3-session', { seconds: 3, minIterations: 30 }, async (rand) => {
      await refill();
      const input = Buffer.concat([commandBatch(rand), UNSTICK]);
      const before = logs.length;
      const output = await converse(rand.pick(ports), input, 10_000);
      const text = output.toString('utf8');
      const context = `input: ${JSON.stringify(input.toString('latin1'))}\noutput:\n${text}`;
      try {
        assert.ok(text.endsWith('\r\n'), 'the output ends with CRLF');
        const lines = text.slice(0, -2).split('\r\n');
        assert.match(lines[0], /^\+OK /, 'the greeting');
        for (const line of lines) {
          // One clean line each: no bare CR or LF, no other control character (the messages have none).
          assert.doesNotMatch(line, /[\x00-\x08\x0a-\x1f\x7f]/, `control character in ${JSON.stringify(line)}`);
          assert.ok(!line.startsWith('-ERR [SYS/TEMP]'), `server fault: ${line}`);
          const status = /^(\+OK|-ERR|\+ )/.exec(line)?.[1];
          if (status) seen.set(status, (seen.get(status) ?? 0) + 1);
          if (/^\+OK .* has \d+ visible messages/.test(line)) seen.set('login', (seen.get('login') ?? 0) + 1);
        }
        // The session ended on a QUIT (+OK), too many failed logins or errors (-ERR).
        assert.match(lines[lines.length - 1], /^(\+OK|-ERR) /, 'the last line is a status line');
        const logged = logs.slice(before).filter((e) => Number(e.level) >= 50);
        assert.deepEqual(logged, [], 'no error was logged');
      } catch (err) {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n${context}`);
      }
    });
    t.diagnostic(`${report.iterations} sessions in ${report.seconds.toFixed(1)} s`);
    t.diagnostic(`lines: ${[...seen].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  });
});
