/**
 * Password guessing against a real server over real sockets (issue 10 item 3), and the line after a
 * refused AUTH kept out of the lab's transcripts (item 6).
 *
 * Attackers use other loopback addresses (127.0.0.x via `localAddress`) than the owners (127.0.0.1), so
 * the limits per address and per account can be told apart. Counts, not times: a check is a "wrong
 * password" answer (and a `login failed` line in the server log); a refusal without a check is the
 * protocol's temporary error. With `auth.penalty_start_ms` 500 no address may get more than
 * `penalty_free_failures` + 1 + 2 per second of checks.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually, plain } from './harness/mail-flow.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const DOMAIN = 'example.test';
const PASSWORD = 'right-pw-1';
/** The accounts that log in; the others guessed at need not exist (the limits count names alike). */
const USERS = ['alice', 'frank', 'gina', 'ivy'];
const FREE = 2;
const START_MS = 500;
/** Checks one address may get in `seconds`: the free failures, one in flight, then one per START_MS. */
const bound = (seconds: number) => FREE + 1 + Math.ceil((seconds * 1000) / START_MS);

/** A line client bound to a chosen local (loopback) address. */
class Client {
  #buf = '';
  #waiters: (() => void)[] = [];
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, localAddress: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress });
      socket.once('connect', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** The next line, or null when the connection closed (or `ms` passed) first. */
  async line(ms = 10_000): Promise<string | null> {
    const end = Date.now() + ms;
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl).replace(/\r$/, '');
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      const left = end - Date.now();
      if (this.closed || left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Lines up to the first one matching `last` (an SMTP final reply line, an IMAP tagged line). */
  async until(last: RegExp, ms = 10_000): Promise<string | null> {
    for (;;) {
      const line = await this.line(ms);
      if (line === null || last.test(line)) return line;
    }
  }

  send(line: string): void {
    if (!this.closed) this.socket.write(`${line}\r\n`);
  }

  close(): void {
    this.socket.destroy();
  }
}

type Verdict = 'checked' | 'throttled' | 'ok' | 'closed';

/** One protocol's way of trying a password on an open connection. */
interface Guesser {
  port: () => number;
  /** Reads the greeting (and says hello); the APOP timestamp when there is one. */
  open(c: Client): Promise<string>;
  guess(c: Client, user: string, password: string, greeting: string): Promise<Verdict>;
}

let tagNo = 0;
const GUESSERS: Record<'imap' | 'pop3' | 'apop' | 'smtp', Guesser> = {
  imap: {
    port: () => pb.ports.imap,
    async open(c) {
      return (await c.line()) ?? '';
    },
    async guess(c, user, password) {
      const tag = `g${++tagNo}`;
      c.send(`${tag} LOGIN ${user}@${DOMAIN} ${password}`);
      const line = await c.until(new RegExp(`^${tag} `));
      if (line === null) return 'closed';
      if (/^\S+ OK /.test(line)) return 'ok';
      if (/\[AUTHENTICATIONFAILED\]/.test(line)) return 'checked';
      assert.match(line, /\[UNAVAILABLE\] Too many/);
      return 'throttled';
    },
  },
  pop3: {
    port: () => pb.ports.pop3,
    async open(c) {
      return (await c.line()) ?? '';
    },
    async guess(c, user, password) {
      c.send(`USER ${user}@${DOMAIN}`);
      if ((await c.line()) === null) return 'closed';
      c.send(`PASS ${password}`);
      return pop3Verdict(await c.line());
    },
  },
  apop: {
    port: () => pb.ports.pop3,
    async open(c) {
      return (await c.line()) ?? '';
    },
    async guess(c, user, password, greeting) {
      const timestamp = /<[^>]+>/.exec(greeting)?.[0] ?? '';
      const digest = createHash('md5')
        .update(timestamp + password)
        .digest('hex');
      c.send(`APOP ${user}@${DOMAIN} ${digest}`);
      return pop3Verdict(await c.line());
    },
  },
  smtp: {
    port: () => pb.ports.submission,
    async open(c) {
      await c.until(/^\d{3} /);
      c.send('EHLO attacker.test');
      await c.until(/^\d{3} /);
      return '';
    },
    async guess(c, user, password) {
      c.send(`AUTH PLAIN ${plain(`${user}@${DOMAIN}`, password)}`);
      const line = await c.until(/^\d{3} /);
      // 421: the hang-up after too many failures on this connection.
      if (line === null || line.startsWith('421 ')) return 'closed';
      if (line.startsWith('235 ')) return 'ok';
      if (line.startsWith('535 ')) return 'checked';
      assert.match(line, /^454 4\.7\.0 Too many/);
      return 'throttled';
    },
  },
};

function pop3Verdict(line: string | null): Verdict {
  if (line === null) return 'closed';
  if (line.startsWith('+OK')) return 'ok';
  if (line.startsWith('-ERR [AUTH]')) return 'checked';
  assert.match(line, /^-ERR \[SYS\/TEMP\] Too many/);
  return 'throttled';
}

interface Tally {
  checked: number;
  throttled: number;
  ok: number;
}

/**
 * `connections` parallel connections from `from`, each guessing wrong passwords for `user` until
 * `seconds` have passed (reconnecting when the server hangs up); counts the answers received in time.
 */
async function attack(
  protocols: (keyof typeof GUESSERS)[],
  from: string,
  user: string,
  seconds: number,
  connections = 8,
): Promise<Tally> {
  const tally: Tally = { checked: 0, throttled: 0, ok: 0 };
  const end = Date.now() + seconds * 1000;
  const open: Client[] = [];
  const worker = async (g: Guesser, n: number) => {
    let guess = 0;
    while (Date.now() < end) {
      const c = await Client.connect(g.port(), from);
      open.push(c);
      const greeting = await g.open(c);
      while (!c.closed && Date.now() < end) {
        const verdict = await Promise.race([
          g.guess(c, user, `wrong-${n}-${guess++}`, greeting),
          new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), Math.max(0, end - Date.now()))),
        ]);
        if (verdict === 'late' || Date.now() > end) break;
        if (verdict === 'closed') break;
        tally[verdict]++;
      }
      c.close();
    }
  };
  const workers: Promise<void>[] = [];
  for (const p of protocols) for (let i = 0; i < connections; i++) workers.push(worker(GUESSERS[p], i));
  await Promise.all(workers);
  for (const c of open) c.close();
  return tally;
}

/** `login failed` lines the server logged for one client address. */
function loggedFailures(from: string): Record<string, unknown>[] {
  return pb.logs.filter((l) => l.msg === 'login failed' && l.remote === from);
}

let pb: PostbodeProcess;

before(async () => {
  pb = await startPostbode({
    listeners: ['submission', 'pop3', 'imap', 'http'],
    extraArgs: [
      '--set',
      'auth.failure_delay_ms=100',
      '--set',
      `auth.penalty_start_ms=${START_MS}`,
      '--set',
      `auth.penalty_free_failures=${FREE}`,
      '--set',
      'auth.penalty_max_ms=1000',
      '--set',
      'auth.account_failures=10',
    ],
  });
  const r = pb.cli(['admin', 'add', 'teacher', '--password', PASSWORD]);
  assert.equal(r.code, 0, r.stderr);
  // The users through the admin API (one CLI process each would cost a second apiece).
  const base = `http://127.0.0.1:${pb.ports.http}`;
  const login = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'teacher', password: PASSWORD }),
  });
  const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
  for (const u of USERS) {
    const res = await fetch(`${base}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ address: `${u}@${DOMAIN}`, password: PASSWORD }),
    });
    assert.equal(res.status, 201, await res.text());
  }
});

after(async () => {
  await pb?.stop();
  if (pb) removeDir(pb.dataDir);
});

describe('login limits against password guessing', () => {
  it('gives one address at most ~2 password checks a second, per protocol and across protocols', async () => {
    const seconds = 4;
    const started = Date.now();
    const [imap, pop3, apop, smtp, mixed] = await Promise.all([
      attack(['imap'], '127.0.0.11', 'alice', seconds),
      attack(['pop3'], '127.0.0.12', 'bob', seconds),
      attack(['apop'], '127.0.0.13', 'carol', seconds),
      attack(['smtp'], '127.0.0.14', 'dave', seconds),
      // One address on all four at once shares one penalty.
      attack(['imap', 'pop3', 'apop', 'smtp'], '127.0.0.15', 'erin', seconds, 3),
    ]);
    for (const [name, t, from] of [
      ['imap', imap, '127.0.0.11'],
      ['pop3', pop3, '127.0.0.12'],
      ['apop', apop, '127.0.0.13'],
      ['smtp', smtp, '127.0.0.14'],
      ['all four', mixed, '127.0.0.15'],
    ] as const) {
      const what = `${name}: ${JSON.stringify(t)}`;
      assert.equal(t.ok, 0, what);
      assert.ok(t.checked >= FREE, `the free failures are checked (${what})`);
      assert.ok(t.checked <= bound(seconds), `at most ${bound(seconds)} checks in ${seconds} s (${what})`);
      assert.ok(t.throttled > 0, `parallel attempts beyond the short line are refused unchecked (${what})`);
      // The server's own count: every check it logged from that address, at any time so far.
      await eventually(`the log lines of ${name}`, async () =>
        loggedFailures(from).length >= t.checked ? true : undefined,
      );
      const logged = loggedFailures(from).length;
      const since = (Date.now() - started) / 1000;
      assert.ok(logged <= bound(since + 1), `${logged} checks logged in ${since} s (${what})`);
    }
  });

  it('lets the owner in from a usual address while many addresses guess at the account', async () => {
    // The owner logs in once from 127.0.0.1: that address is now known for the account.
    const owner = await Client.connect(pb.ports.imap, '127.0.0.1');
    await GUESSERS.imap.open(owner);
    assert.equal(await GUESSERS.imap.guess(owner, 'frank', PASSWORD, ''), 'ok');
    owner.close();

    // 20 addresses, two guesses each, all at once: more than the account's 10 free failures.
    const verdicts: Promise<Verdict>[] = [];
    const clients: Client[] = [];
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 2; j++) {
        const c = await Client.connect(pb.ports.imap, `127.0.0.${40 + i}`);
        clients.push(c);
        await GUESSERS.imap.open(c);
        verdicts.push(GUESSERS.imap.guess(c, 'frank', `wrong-${i}-${j}`, ''));
      }
    }
    const settled: Verdict[] = [];
    for (const v of verdicts) void v.then((x) => settled.push(x));
    await eventually(
      'the account gate to refuse guesses',
      async () => (settled.filter((v) => v === 'throttled').length >= 20 ? true : undefined),
      10_000,
    );
    const checkedSoFar = settled.filter((v) => v === 'checked').length;
    assert.ok(checkedSoFar <= 10 + 1, `the account's free failures and no more were checked: ${checkedSoFar}`);

    // The owner, from the usual address, is not held behind the attackers' line (which is full: a
    // stranger would be refused or wait for seconds).
    const again = await Client.connect(pb.ports.imap, '127.0.0.1');
    await GUESSERS.imap.open(again);
    const tag = `o${++tagNo}`;
    again.send(`${tag} LOGIN frank@${DOMAIN} ${PASSWORD}`);
    const answer = await again.until(new RegExp(`^${tag} `), 3000);
    assert.match(answer ?? 'no answer within 3 s', /^\S+ OK /);
    again.close();

    const all = await Promise.all(verdicts);
    assert.equal(all.filter((v) => v === 'ok').length, 0);
    assert.ok(all.filter((v) => v === 'checked').length <= 10 + 6, `checks at the account: ${JSON.stringify(all)}`);
    for (const c of clients) c.close();
  });

  it("a success on the guesser's own account does not reset the other account's counts", async () => {
    const from = '127.0.0.60';
    const c = await Client.connect(pb.ports.imap, from);
    await GUESSERS.imap.open(c);
    // Wrong, wrong (free), then gina's own password: the hang-up after 3 failures is avoided.
    assert.equal(await GUESSERS.imap.guess(c, 'hank', 'wrong-1', ''), 'checked');
    assert.equal(await GUESSERS.imap.guess(c, 'hank', 'wrong-2', ''), 'checked');
    c.close();
    const own = await Client.connect(pb.ports.imap, from);
    await GUESSERS.imap.open(own);
    assert.equal(await GUESSERS.imap.guess(own, 'gina', PASSWORD, ''), 'ok');
    own.close();
    const next = await Client.connect(pb.ports.imap, from);
    await GUESSERS.imap.open(next);
    assert.equal(await GUESSERS.imap.guess(next, 'hank', 'wrong-3', ''), 'checked');
    next.close();
    const last = await eventually('the log line of the third guess', async () => loggedFailures(from)[2]);
    assert.equal(last.user, `hank@${DOMAIN}`);
    assert.equal(last.addressFailures, 3, 'the address keeps its failures on hank');
    assert.equal(last.accountFailures, 3, "hank's count is not reset");
    assert.equal(last.nextDelayMs, 2 * START_MS);
  });

  it('checks only a few of 300 parallel web logins from one address; a user cannot push out other sessions', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100, localAddress: '127.0.0.70' });
    const login = (username: string, password: string) =>
      new Promise<{ status: number; body: string; cookie: string }>((resolve, reject) => {
        const body = JSON.stringify({ username, password });
        const req = http.request(
          {
            agent,
            host: '127.0.0.1',
            port: pb.ports.http,
            method: 'POST',
            path: '/api/login',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              text += d;
            });
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: text, cookie: (res.headers['set-cookie'] ?? [''])[0] }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => login('teacher', `guess-${i}`)));
    const count = (s: number) => results.filter((r) => r.status === s).length;
    assert.equal(count(200), 0);
    assert.ok(count(401) >= FREE && count(401) <= FREE + 1 + 4 + 1, `checked: ${count(401)}`);
    assert.equal(count(401) + count(429), 300, `only 401 and 429: ${JSON.stringify(results.slice(0, 3))}`);
    assert.match(results.find((r) => r.status === 429)?.body ?? '', /Too many login attempts from your address/);
    agent.destroy();

    // The teacher's session survives many logins of one student (who keeps at most 20).
    const base = `http://127.0.0.1:${pb.ports.http}`;
    const post = (username: string) =>
      fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: PASSWORD }),
      });
    const teacher = (await post('teacher')).headers.get('set-cookie')?.split(';')[0] ?? '';
    const me = async (cookie: string) => {
      const res = await fetch(`${base}/api/me`, { headers: { cookie } });
      return res.status === 200 ? await res.json() : res.status;
    };
    const first = (await post(`ivy@${DOMAIN}`)).headers.get('set-cookie')?.split(';')[0] ?? '';
    for (let i = 0; i < 25; i++) assert.equal((await post(`ivy@${DOMAIN}`)).status, 200);
    assert.deepEqual(await me(teacher), { name: 'teacher', role: 'admin' });
    assert.equal(await me(first), 401, "the student's own oldest session went");
  });
});

describe('the line after a refused AUTH is not recorded', () => {
  const SECRET = plain(`alice@${DOMAIN}`, 'the-secret-password');
  let admin = '';
  let base = '';

  before(async () => {
    base = `http://127.0.0.1:${pb.ports.http}`;
    const res = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'teacher', password: PASSWORD }),
    });
    assert.equal(res.status, 200);
    admin = res.headers.get('set-cookie')?.split(';')[0] ?? '';
  });

  /** The recorded events of the (closed) session from `localPort`. */
  async function recorded(localPort: number): Promise<{ id: string; events: { type: string; text?: string }[] }> {
    const get = async (p: string) => (await fetch(base + p, { headers: { cookie: admin } })).json();
    const summary = await eventually('the recorded session', async () => {
      const { sessions } = (await get('/api/sessions?limit=50')) as {
        sessions: { id: string; remotePort: number; active: boolean }[];
      };
      return sessions.find((s) => s.remotePort === localPort && !s.active);
    });
    const detail = (await get(`/api/sessions/${summary.id}`)) as { events: { type: string; text?: string }[] };
    return { id: summary.id, events: detail.events };
  }

  async function assertHidden(localPort: number, readable: string): Promise<void> {
    const { id, events } = await recorded(localPort);
    const texts = events.map((e) => e.text ?? '');
    assert.ok(!texts.some((t) => t.includes(SECRET.slice(0, 12))), `credentials in: ${JSON.stringify(texts)}`);
    assert.ok(texts.includes('<redacted>'), `the line is shown as <redacted>: ${JSON.stringify(texts)}`);
    assert.ok(texts.includes(readable), `the next command stays readable: ${JSON.stringify(texts)}`);
    const pcap = Buffer.from(
      await (await fetch(`${base}/api/sessions/${id}/capture.pcap`, { headers: { cookie: admin } })).arrayBuffer(),
    );
    assert.ok(pcap.length > 0 && !pcap.includes(SECRET.slice(0, 12)), 'not in the pcap either');
  }

  it('SMTP: after 504 and 503 to AUTH', async () => {
    const c = await Client.connect(pb.ports.submission, '127.0.0.1');
    const port = c.socket.localPort ?? 0;
    await c.until(/^\d{3} /);
    c.send('AUTH PLAIN');
    assert.match((await c.until(/^\d{3} /)) ?? '', /^503 /);
    c.send(SECRET);
    assert.match((await c.until(/^\d{3} /)) ?? '', /^500 5\.5\.2 Command not recognized/);
    c.send('EHLO client.test');
    await c.until(/^\d{3} /);
    c.send('AUTH CRAM-MD5');
    // The refusal names the mechanisms this connection offers.
    assert.match((await c.until(/^\d{3} /)) ?? '', /^504 5\.5\.4 .*CRAM-MD5; use PLAIN, LOGIN or SCRAM-SHA-256$/);
    c.send(SECRET);
    await c.until(/^\d{3} /);
    c.send('QUIT');
    await c.until(/^221 /);
    c.close();
    await assertHidden(port, 'QUIT');
  });

  it('IMAP: after NO to AUTHENTICATE', async () => {
    const c = await Client.connect(pb.ports.imap, '127.0.0.1');
    const port = c.socket.localPort ?? 0;
    await c.line();
    c.send('a1 AUTHENTICATE CRAM-MD5');
    assert.match((await c.until(/^a1 /)) ?? '', /^a1 NO \[CANNOT\] .*CRAM-MD5; use PLAIN, LOGIN or SCRAM-SHA-256$/);
    c.send(SECRET);
    const bad = await c.line();
    assert.match(bad ?? '', /^\* BAD /, 'answered without echoing the line as a tag');
    c.send('a2 LOGOUT');
    await c.until(/^a2 /);
    c.close();
    await assertHidden(port, 'a2 LOGOUT');
  });

  it('POP3: after -ERR to AUTH', async () => {
    const c = await Client.connect(pb.ports.pop3, '127.0.0.1');
    const port = c.socket.localPort ?? 0;
    await c.line();
    c.send('AUTH CRAM-MD5');
    assert.match((await c.line()) ?? '', /^-ERR /);
    c.send(SECRET);
    assert.match((await c.line()) ?? '', /^-ERR Unknown command;/);
    c.send('QUIT');
    await c.line();
    c.close();
    await assertHidden(port, 'QUIT');
  });
});
