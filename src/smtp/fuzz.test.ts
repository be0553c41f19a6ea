/**
 * Fuzzing the SMTP engine (issue 10 item 7). Time-bounded (a few seconds each in `npm test`,
 * FUZZ_SECONDS in `npm run fuzz`), seeded: a failure prints FUZZ_SEED and FUZZ_ITERATION, which replay it
 * (test/harness/fuzz.ts).
 *
 * - The pure parsers: `parsePathArgument`, `mailboxError` and the SASL mechanisms never throw, give
 *   results of the promised shape and stay fast on long inputs.
 * - The command dispatch: random and mutated command lines (mixed line endings, NUL, bare CR, non-UTF-8,
 *   over-long lines, DATA and BDAT bodies, AUTH exchanges), pipelined to a real in-process listener
 *   (NetServer on 127.0.0.1:0) running the engine with an in-memory backend. Every reply must be a
 *   well-formed SMTP reply (RFC 5321 §4.2: a code, `-` or space, printable text; one code per multi-line
 *   reply; an enhanced code of the same class, RFC 3463), no command may end in a server fault (451 4.3.0
 *   and an error log line), and the session must still end cleanly on QUIT.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { fuzz, type Rand, timed } from '../../test/harness/fuzz.js';
import { createMechanism, type SaslContext } from '../auth/sasl.js';
import { decodeSaslResponse } from '../auth/sasl-exchange.js';
import type { Resolution } from '../delivery/delivery.js';
import { mailboxError } from '../mail/address-syntax.js';
import { NetServer } from '../net/listener.js';
import { TraceBus } from '../trace/bus.js';
import { parsePathArgument } from './address.js';
import { type SmtpBackend, type SmtpSettings, smtpHandler } from './index.js';

const INTERESTING = Buffer.from('<>:@,;."\\ =+-[]()\t\r\n\0\x7f\xff\xc3\xa9AaZz019FROMTO', 'latin1');

const PATHS = [
  'FROM:<fuzz@example.test>',
  'FROM:<> SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159',
  'from: <"a b>c"@example.test> AUTH=<>',
  'FROM:<@relay.example,@other.example:user@example.test> BODY=7BIT',
  'FROM: mannix@intecbrussel.intra',
  'TO:<someone@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;someone@remote.example',
  'TO:<postmaster>',
  'TO:<user@[192.0.2.1]>',
  'TO:<user@[IPv6:2001:db8::1]>',
  'TO:<jösé@exämple.test>',
];

describe('fuzz: SMTP parsers', () => {
  it('parsePathArgument and mailboxError never throw, keep their shape and stay fast', async () => {
    await fuzz('smtp-path', { seconds: 2, minIterations: 200 }, (rand) => {
      const base = Buffer.from(rand.pick(PATHS), 'utf8');
      let input = rand.chance(0.8) ? rand.mutate(base, INTERESTING, 6) : rand.bytes(rand.int(200), INTERESTING);
      if (rand.chance(0.05))
        input = Buffer.concat([input, Buffer.alloc(4000 + rand.int(4000), rand.pick(['<', ' ', '"', 'a', '@', '\\']))]);
      const text = input.toString(rand.chance(0.5) ? 'utf8' : 'latin1');
      for (const keyword of ['FROM', 'TO'] as const) {
        for (const strict of [false, true]) {
          const r = timed('parsePathArgument', 100, () => parsePathArgument(text, keyword, strict));
          if (!r.ok) {
            assert.equal(typeof r.message, 'string');
            assert.ok(r.message.startsWith('Syntax: '), r.message);
            continue;
          }
          const { address, params, tolerated } = r.value;
          assert.equal(typeof address, 'string');
          assert.ok(text.includes(address), 'the address is a part of the input');
          if (strict) assert.equal(tolerated, null, 'strict mode tolerates nothing');
          for (const [key, value] of params) {
            assert.match(key, /^[A-Z0-9][A-Z0-9-]*$/);
            assert.ok(value === null || typeof value === 'string');
          }
          for (const utf8 of [false, true]) {
            const problem = timed('mailboxError', 100, () => mailboxError(address, utf8));
            if (problem === null) {
              assert.ok(address.length <= 254 && address.lastIndexOf('@') > 0, address);
              if (!utf8) assert.doesNotMatch(address, /[^\x00-\x7f]/);
            } else assert.equal(typeof problem, 'string');
          }
        }
      }
    });
  });

  it('SASL PLAIN, LOGIN and SCRAM never throw on any response', async () => {
    const valid = [
      Buffer.from('\0fuzz@example.test\0pw').toString('base64'),
      Buffer.from('fuzz@example.test').toString('base64'),
      Buffer.from('n,,n=fuzz@example.test,r=abcdef').toString('base64'),
      Buffer.from('c=biws,r=abcdefxyz,p=AAAA').toString('base64'),
      '=',
      '*',
      'AAAA',
    ];
    const ctx: SaslContext<string> = {
      auth: {
        login: async () => ({ ok: false, reason: 'invalid' }),
        scram: {
          advertised: () => true,
          credentials: async (username) => ({ address: username, keys: null }),
          decoySalt: () => Buffer.alloc(16),
          guarded: async (_client, _account, check) => {
            const value = await check();
            return value === null ? { ok: false, reason: 'invalid' } : { ok: true, account: value };
          },
        },
      },
      client: { remoteAddress: '127.0.0.1', protocol: 'smtp' },
      conn: { secure: false, channelBinding: () => null },
    };
    await fuzz('smtp-sasl', { seconds: 1, minIterations: 200 }, async (rand) => {
      const name = rand.pick([
        'PLAIN',
        'LOGIN',
        'plain',
        'SCRAM-SHA-256',
        'SCRAM-SHA-256-PLUS',
        'CRAM-MD5',
        '',
        'PLAIN\0',
      ]);
      const mech = createMechanism(name, ctx);
      if (!mech) return;
      const gen = () => {
        const b = rand.chance(0.7)
          ? rand.mutate(Buffer.from(rand.pick(valid)), INTERESTING)
          : rand.bytes(rand.int(80), INTERESTING);
        return decodeSaslResponse(b.toString('latin1')) ?? b;
      };
      let step = await mech.start(rand.chance(0.3) ? null : gen());
      for (let k = 0; k < 4 && step.kind === 'challenge'; k++) {
        assert.ok(Buffer.isBuffer(step.data));
        step = await mech.next(gen());
      }
      if (step.kind === 'error') assert.equal(typeof step.message, 'string');
      if (step.kind === 'password') assert.ok(typeof step.username === 'string' && typeof step.password === 'string');
      if (step.kind === 'done') assert.equal(step.result.ok, false);
    });
  });
});

// ---- the engine over a real listener ----

const USER = 'fuzz@example.test';
const PASSWORD = 'pw';
const plain = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');

const COMMANDS = [
  'EHLO client.example.test',
  'HELO client',
  'EHLO',
  'MAIL FROM:<fuzz@example.test>',
  'MAIL FROM:<> SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=abc',
  'MAIL FROM:<other@example.test>',
  'MAIL FROM:<x@remote.example> AUTH=<> SIZE=99999999999',
  'mail from:fuzz@example.test',
  'MAIL FROM:<"a b"@example.test>',
  'MAIL FROM:<@a.example,@b.example:fuzz@example.test>',
  'RCPT TO:<fuzz@example.test>',
  'RCPT TO:<other@example.test> NOTIFY=NEVER',
  'RCPT TO:<someone@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;someone@remote.example',
  'RCPT TO:<postmaster>',
  'RCPT TO:<nobody@example.test>',
  'DATA',
  'BDAT 10',
  'BDAT 40 LAST',
  'BDAT 0 LAST',
  'RSET',
  'NOOP',
  'NOOP hello there',
  'VRFY fuzz',
  'EXPN list',
  'HELP',
  'HELP MAIL',
  `AUTH PLAIN ${plain}`,
  'AUTH PLAIN',
  plain,
  'AUTH LOGIN',
  Buffer.from(USER).toString('base64'),
  Buffer.from(PASSWORD).toString('base64'),
  'AUTH CRAM-MD5',
  'AUTH PLAIN =',
  'STARTTLS',
  '*',
  `From: Fuzz <${USER}>`,
  'From: Other <other@example.test>',
  'Subject: fuzz',
  '',
  '.',
  '..',
  '.\r\n.',
  'ETRN example.test',
  'TURN',
];

/** How a generated command line ends. */
const ENDINGS = ['\r\n', '\r\n', '\r\n', '\n', '\r', '\r\r\n', '\n\r'];

/** A transaction that gets far (login, sender, recipient, message), for the random edits to start from. */
function scenario(rand: Rand): string[] {
  const lines = [rand.chance(0.8) ? 'EHLO client.example.test' : rand.pick(['HELO client', 'LHLO x'])];
  if (rand.chance(0.6)) lines.push(rand.chance(0.8) ? `AUTH PLAIN ${plain}` : `AUTH PLAIN ${plain.slice(2)}`);
  const from = rand.pick(['fuzz@example.test', 'alias@example.test', 'other@example.test', '', 'x@remote.example']);
  lines.push(`MAIL FROM:<${from}>${rand.chance(0.3) ? ' BODY=8BITMIME SIZE=300' : ''}`);
  lines.push(`RCPT TO:<${rand.chance(0.7) ? USER : rand.pick(['someone@remote.example', 'nobody@example.test'])}>`);
  const header = `From: ${rand.pick(['Fuzz <fuzz@example.test>', 'alias@example.test', 'other@example.test', 'undisclosed', 'a@b, c@d', 'G: fuzz@example.test;'])}`;
  const message = [header, 'Subject: fuzz', '', 'body', '.dot', ''].join('\r\n');
  if (rand.chance(0.7))
    lines.push(
      'DATA',
      ...message
        .split('\r\n')
        .slice(0, -1)
        .map((l) => (l.startsWith('.') ? `.${l}` : l)),
      '.',
    );
  else lines.push(`BDAT ${Buffer.byteLength(message)} LAST\r\n${message}`);
  return lines;
}

/** A random batch of command lines; BDAT sizes are kept under 301 so the final QUITs are never eaten. */
function commandBatch(rand: Rand): Buffer {
  const lines: Buffer[] = [];
  const ending = rand.pick(ENDINGS.slice(0, 4));
  if (rand.chance(0.5)) {
    for (const l of scenario(rand)) {
      const bytes = Buffer.from(l, 'utf8');
      lines.push(rand.chance(0.05) ? rand.mutate(bytes, INTERESTING, 2) : bytes, Buffer.from(ending));
    }
  }
  const n = rand.int(30);
  for (let k = 0; k < n; k++) {
    let line: Buffer;
    const kind = rand.next();
    if (kind < 0.5) line = Buffer.from(rand.pick(COMMANDS), 'utf8');
    else if (kind < 0.85) line = rand.mutate(Buffer.from(rand.pick(COMMANDS), 'utf8'), INTERESTING);
    else if (kind < 0.95) line = rand.bytes(rand.int(100), INTERESTING);
    else line = Buffer.alloc(3000 + rand.int(3000), rand.pick(['a', ' ', '<', '.']));
    if (rand.chance(0.02)) line = Buffer.from('QUIT');
    // Keep every BDAT chunk small (as the server reads it: UTF-8, \s as in bdat.ts).
    const text = line.toString('utf8');
    const bdat = /^(bdat[ \t][\s]*)(\d+)/i.exec(text);
    if (bdat && Number(bdat[2]) > 300)
      line = Buffer.from(text.replace(/^(bdat[ \t][\s]*)(\d+)/i, `$1${Number(bdat[2]) % 301}`));
    lines.push(line, Buffer.from(rand.chance(0.9) ? ending : rand.pick(ENDINGS)));
  }
  return Buffer.concat(lines);
}

/**
 * After the batch: bytes that end whatever the session is in (a BDAT chunk under 301 bytes, DATA, an
 * AUTH exchange), then QUITs. A session that reads them must answer a QUIT and close.
 */
const UNSTICK = Buffer.from(`${'x'.repeat(400)}\r\n\r\n.\r\n*\r\nQUIT\r\nQUIT\r\nQUIT\r\n`);

const REPLY_LINE = /^([2-5][0-5]\d)(?:([ -])(.*))?$/s;

/** Checks a whole transcript of server output; returns the replies as [code, lines]. */
function checkReplies(output: string): { code: string; lines: string[] }[] {
  assert.ok(output === '' || output.endsWith('\r\n'), 'output ends with CRLF');
  const lines = output === '' ? [] : output.slice(0, -2).split('\r\n');
  const replies: { code: string; lines: string[] }[] = [];
  let open: { code: string; lines: string[] } | null = null;
  for (const line of lines) {
    const m = REPLY_LINE.exec(line);
    assert.ok(m, `not an SMTP reply line: ${JSON.stringify(line)}`);
    const [, code, sep = ' ', text = ''] = m;
    // RFC 5321 §4.2: textstring is HT and printable characters (UTF-8 allowed, RFC 6531); no bare CR or LF.
    assert.doesNotMatch(text, /[\x00-\x08\x0a-\x1f\x7f]/, `control character in ${JSON.stringify(line)}`);
    const enhanced = /^(\d)\.(\d{1,3})\.(\d{1,3})(?: |$)/.exec(text);
    if (enhanced) assert.equal(enhanced[1], code[0], `enhanced code class differs: ${line}`);
    if (open && open.code !== code)
      assert.fail(`multi-line reply changes code: ${JSON.stringify(open.lines)} then ${line}`);
    open ??= { code, lines: [] };
    open.lines.push(line);
    if (sep === ' ') {
      replies.push(open);
      open = null;
    }
  }
  assert.equal(open, null, 'an unfinished multi-line reply');
  return replies;
}

/** Writes `input` and collects everything until the server closes, or fails after `ms`. */
async function converse(port: number, input: Buffer, ms: number): Promise<string> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `the server did not close within ${ms} ms; output so far:\n${Buffer.concat(chunks).toString('utf8')}`,
        ),
      );
    }, ms);
    socket.on('error', () => {}); // a reset after the server's close: the output is what counts
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('connect', () => {
      // In a few pieces, as a network would deliver them.
      let at = 0;
      const send = () => {
        if (at >= input.length || socket.destroyed) return;
        const size = 1 + Math.floor(Math.random() * 2048);
        socket.write(input.subarray(at, at + size), () => setImmediate(send));
        at += size;
      };
      send();
    });
  });
}

describe('fuzz: SMTP sessions over a real listener', () => {
  const errors: Record<string, unknown>[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
  const server = new NetServer({
    bus: new TraceBus(),
    log,
    limits: { connectionsPerIp: 1000, maxConnections: 1000 },
    tlsContext: () => {
      throw new Error('no TLS in this test');
    },
  });
  const ports: number[] = [];

  const backend: SmtpBackend = {
    plaintextAllowed: () => true,
    async login(_client, user, pass) {
      return user === USER && pass === PASSWORD ? { ok: true, account: USER } : { ok: false, reason: 'invalid' };
    },
    async resolve(address: string): Promise<Resolution> {
      const lower = address.toLowerCase();
      if (!lower.endsWith('@example.test')) return { kind: 'remote' };
      const local = lower.slice(0, -'@example.test'.length);
      if (!['fuzz', 'other', 'postmaster'].includes(local)) return { kind: 'unknown-user' };
      return { kind: 'local', accounts: [{ id: 1, address: lower, quota: null }], remote: [] };
    },
    async deliver(msg) {
      assert.ok(Buffer.isBuffer(msg.data));
      return { id: 'fuzz', localCopies: 1, queueId: null };
    },
    async senderOwners(address: string) {
      return address === 'alias@example.test' ? [USER] : [];
    },
  };

  before(async () => {
    const settings = (role: 'mx' | 'submission', strict: boolean): SmtpSettings => ({
      hostname: 'mx.example.test',
      product: 'postbode fuzz',
      showVersion: false,
      strict,
      role,
      maxMessageSize: 16 * 1024,
      maxRecipients: 5,
      maxLineLength: 4096,
      idleTimeoutMs: 30_000,
      // High, so that random lines rarely end the session before the final QUITs are read.
      maxErrors: 1000,
      maxAuthFailures: 3,
      authOnMx: true,
      tlsContext: null,
    });
    for (const [role, strict] of [
      ['mx', false],
      ['mx', true],
      ['submission', false],
    ] as const) {
      const handler = smtpHandler(settings(role, strict), backend, log);
      ports.push((await server.listen({ name: 'smtp', host: '127.0.0.1', port: 0, implicitTls: false, handler })).port);
    }
  });
  after(() => server.close());

  it('random command lines get well-formed replies, no server fault, and a clean end', async (t) => {
    /** Replies seen (code and enhanced code), to show how deep the sessions went. */
    const seen = new Map<string, number>();
    const report = await fuzz('smtp-session', { seconds: 3, minIterations: 30 }, async (rand) => {
      const port = rand.pick(ports);
      const input = Buffer.concat([commandBatch(rand), UNSTICK]);
      const before = errors.length;
      const output = await converse(port, input, 10_000);
      const context = `input: ${JSON.stringify(input.toString('latin1'))}\noutput:\n${output}`;
      try {
        const replies = checkReplies(output);
        for (const r of replies) {
          const key = /^\d{3}(?:[ -]\d\.\d{1,3}\.\d{1,3})?/.exec(r.lines[0])?.[0].replace('-', ' ') ?? r.code;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        assert.ok(replies.length >= 2, 'a greeting and at least one answer');
        assert.equal(replies[0].code, '220');
        for (const r of replies) assert.ok(!/^451 4\.3\.0 /.test(r.lines[0]), `server fault: ${r.lines[0]}`);
        const last = replies[replies.length - 1];
        // The session ended on a QUIT (ours or a random one), on too many failed logins, or too many errors.
        assert.ok(last.code === '221' || last.code === '421', `ended with ${last.lines.join(' / ')}`);
        const logged = errors.slice(before).filter((e) => Number(e.level) >= 50);
        assert.deepEqual(logged, [], 'no error was logged');
      } catch (err) {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n${context}`);
      }
    });
    t.diagnostic(`${report.iterations} sessions in ${report.seconds.toFixed(1)} s`);
    const depth = ['235 2.7.0', '354', '250 2.6.0', '550 5.7.1', '553 5.7.1', '552 5.3.4'];
    t.diagnostic(`replies: ${depth.map((k) => `${k} ×${seen.get(k) ?? 0}`).join(', ')}`);
  });
});
