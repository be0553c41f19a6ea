/**
 * IMAP black-box tests against a real server process: several sessions on one mailbox (IDLE, NOOP,
 * the RFC 9051 §7.5.1 rule on EXPUNGE), changes by SMTP and POP3 reaching IMAP, the plaintext policy
 * (LOGINDISABLED, STARTTLS, IMAPS), mailbox names that try to leave the account, hostile input, and
 * kill -9 durability of APPEND/STORE/EXPUNGE.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ImapClient, smtpSend } from './harness/imap-client.js';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const FAST = ['--set', 'auth.failure_delay_ms=0'];

/** The `sessions N` count of `postbode status`, polled until it is 0 (or 10 s have passed). */
async function sessionCount(pb: PostbodeProcess): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const n = Number(/sessions (\d+)/.exec(pb.cli(['status']).stdout)?.[1]);
    if (n === 0 || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 100)); // poll interval of a bounded wait for the state
  }
}

/** Waits until what `c` received matches `re` or the server closed, and returns it; fails after `ms`. */
function receivedUntil(c: ImapClient, re: RegExp | null, what: string, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      c.socket.off('data', check);
      c.socket.off('close', check);
    };
    const timer = setTimeout(() => {
      done();
      reject(
        new Error(`${what}: no ${re ?? 'close'} in ${ms} ms; received ${JSON.stringify(c.pending.slice(0, 2000))}`),
      );
    }, ms);
    // The client's own listeners (registered first) have already taken the data or noted the close.
    function check(): void {
      if (!c.closed && !re?.test(c.pending)) return;
      done();
      resolve(c.pending);
    }
    c.socket.on('data', check);
    c.socket.on('close', check);
    check();
  });
}

async function loggedIn(port: number, user: string, pass: string, opts: { tls?: boolean } = {}) {
  const c = await ImapClient.connect(port, opts);
  await c.login(user, pass);
  return c;
}

const msg = (subject: string, body = 'body') =>
  `From: Sender <s@remote.example>\r\nTo: x@example.test\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

/** No stack traces, file paths, SQL or exception names in anything the server said. */
function assertNoLeak(text: string, where: string): void {
  assert.doesNotMatch(
    text,
    /\bat \S+ \(|node_modules|\/src\/|\.ts:\d|\.js:\d|SQLITE|sqlite|TypeError|RangeError|ReferenceError|Maximum call stack|SERVERBUG/,
    where,
  );
}

describe('IMAP: changes reach the other sessions', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'pop3', 'imap'], extraArgs: FAST });
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
    for (let i = 1; i <= 3; i++)
      await smtpSend(pb.ports.smtp, 's@remote.example', ['ludo@example.test'], msg(`before ${i}`));
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('SMTP delivery reaches IDLE as EXISTS within 1 s; STORE, EXPUNGE and POP3 DELE reach the other session', async () => {
    const a = await loggedIn(pb.ports.imap, 'ludo@example.test', 'sdf12345');
    const b = await loggedIn(pb.ports.imap, 'ludo@example.test', 'sdf12345');
    try {
      assert.ok((await a.ok('SELECT INBOX')).untagged.includes('* 3 EXISTS'));
      assert.ok((await b.ok('SELECT INBOX')).untagged.includes('* 3 EXISTS'));

      // 1. A message delivered on port 25 reaches the IDLE session at once.
      b.send('i1 IDLE');
      assert.match(await b.response(), /^\+ /);
      const t0 = Date.now();
      await smtpSend(pb.ports.smtp, 's@remote.example', ['ludo@example.test'], msg('during idle'));
      const seen = await b.waitFor(/^\* 4 EXISTS$/, 1000);
      assert.ok(Date.now() - t0 < 1000, `EXISTS after ${Date.now() - t0} ms`);
      assert.ok(!seen.some((r) => /EXPUNGE/.test(r)), JSON.stringify(seen));
      b.send('DONE');
      const idleEnd = await b.until('i1');
      assert.equal(idleEnd.status, 'OK', idleEnd.tagged);

      // A sees the new message on NOOP.
      assert.ok((await a.ok('NOOP')).untagged.includes('* 4 EXISTS'));

      // 2. STORE in A reaches B as FETCH FLAGS on NOOP (also with .SILENT: A is silent, B is not).
      // (\Recent: A selected first, and IMAP4rev1 sessions still see it.)
      const st = await a.ok('STORE 2 +FLAGS (\\Flagged)');
      assert.deepEqual(
        st.untagged.map((r) => r.replace('\\Recent ', '')),
        ['* 2 FETCH (FLAGS (\\Flagged))'],
      );
      assert.deepEqual((await a.ok('STORE 3 +FLAGS.SILENT (\\Answered)')).untagged, []);
      const noop = await b.ok('NOOP');
      assert.ok(
        noop.untagged.some((r) => /^\* 2 FETCH \(.*FLAGS \((\\Recent )?\\Flagged\)/.test(r)),
        JSON.stringify(noop.untagged),
      );
      assert.ok(
        noop.untagged.some((r) => /^\* 3 FETCH \(.*FLAGS \((\\Recent )?\\Answered\)/.test(r)),
        JSON.stringify(noop.untagged),
      );
      // Nothing twice.
      assert.deepEqual((await b.ok('NOOP')).untagged, []);

      // 3. EXPUNGE in A: never during B's FETCH, STORE or SEARCH; on B's NOOP.
      await a.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
      // Message 1 was \\Recent in A (it selected first): the new count follows (RFC 3501 §7.3.2).
      assert.deepEqual((await a.ok('EXPUNGE')).untagged, ['* 1 EXPUNGE', '* 2 RECENT']);
      // B still has 4 messages; the ones after the expunged one keep their numbers for now.
      const f = await b.command('FETCH 1:4 (FLAGS)');
      assert.ok(!f.untagged.some((r) => /EXPUNGE/.test(r)), `EXPUNGE during FETCH: ${JSON.stringify(f.untagged)}`);
      assert.ok(
        f.untagged.some((r) => /^\* 4 FETCH /.test(r)),
        JSON.stringify(f),
      );
      const s = await b.command('STORE 4 +FLAGS (\\Seen)');
      assert.ok(!s.untagged.some((r) => /EXPUNGE/.test(r)), `EXPUNGE during STORE: ${JSON.stringify(s.untagged)}`);
      assert.ok(
        s.untagged.some((r) => /^\* 4 FETCH \(.*FLAGS \((\\Recent )?\\Seen\)/.test(r)),
        JSON.stringify(s),
      );
      const se = await b.command('SEARCH ALL');
      assert.ok(!se.untagged.some((r) => /EXPUNGE/.test(r)), `EXPUNGE during SEARCH: ${JSON.stringify(se.untagged)}`);
      const n = await b.ok('NOOP');
      assert.ok(n.untagged.includes('* 1 EXPUNGE'), JSON.stringify(n.untagged));
      // Now the numbering moved: the message that was 4 is 3.
      const f2 = await b.ok('FETCH 3 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      assert.ok(
        f2.untagged.some((r) => /^\* 3 FETCH .*\\Seen.*Subject: during idle/s.test(r)),
        JSON.stringify(f2.untagged),
      );

      // 4. EXPUNGE in A reaches B during IDLE at once.
      b.send('i2 IDLE');
      assert.match(await b.response(), /^\+ /);
      await a.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
      await a.ok('EXPUNGE');
      await b.waitFor(/^\* 1 EXPUNGE$/, 1000);
      b.send('DONE');
      assert.equal((await b.until('i2')).status, 'OK');
      // Now 2 messages: "before 3" and "during idle".

      // 5. POP3 DELE + QUIT reaches the IMAP session as EXPUNGE.
      b.send('i3 IDLE');
      assert.match(await b.response(), /^\+ /);
      const p = await LineClient.connect(pb.ports.pop3);
      await p.line();
      await p.cmd('USER ludo@example.test');
      assert.match(await p.cmd('PASS sdf12345'), /^\+OK .*has 2 visible/);
      assert.match(await p.cmd('DELE 1'), /^\+OK/);
      assert.match(await p.cmd('QUIT'), /^\+OK/);
      p.close();
      await b.waitFor(/^\* 1 EXPUNGE$/, 1000);
      b.send('DONE');
      assert.equal((await b.until('i3')).status, 'OK');
      assert.ok((await a.ok('NOOP')).untagged.includes('* 1 EXPUNGE'));
      const left = await b.ok('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      assert.equal(left.untagged.length, 1, JSON.stringify(left.untagged));
      assert.match(left.untagged[0], /Subject: during idle/);
      await a.ok('LOGOUT');
      await b.ok('LOGOUT');
    } finally {
      a.close();
      b.close();
    }
  });

  it('UID FETCH/UID STORE/UID SEARCH in the other session still number messages as that session knows them', async () => {
    const a = await loggedIn(pb.ports.imap, 'ludo@example.test', 'sdf12345');
    const b = await loggedIn(pb.ports.imap, 'ludo@example.test', 'sdf12345');
    try {
      await smtpSend(pb.ports.smtp, 's@remote.example', ['ludo@example.test'], msg('uid one'));
      await smtpSend(pb.ports.smtp, 's@remote.example', ['ludo@example.test'], msg('uid two'));
      await a.ok('SELECT INBOX');
      const sel = await b.ok('SELECT INBOX');
      const exists = Number(/^\* (\d+) EXISTS$/m.exec(sel.untagged.join('\n'))?.[1]);
      assert.ok(exists >= 2);
      await a.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
      await a.ok('EXPUNGE');
      // Plain FETCH of all: B must answer in its own numbering (no EXPUNGE yet), and the count is unchanged.
      const f = await b.ok('FETCH 1:* (UID)');
      assert.ok(!f.untagged.some((r) => /EXPUNGE/.test(r)));
      const nums = f.untagged.filter((r) => /^\* \d+ FETCH/.test(r)).map((r) => Number(r.split(' ')[1]));
      assert.ok(Math.max(...nums) <= exists, JSON.stringify(f.untagged));
      await b.ok('CLOSE');
      await a.ok('LOGOUT');
      await b.ok('LOGOUT');
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('IMAP: QUOTA for an account without a quota', () => {
  it('names no quota root it cannot describe (RFC 9208 §4.3.2/§4.3.3)', async () => {
    const pb = await startPostbode({ listeners: ['imap'], extraArgs: FAST });
    try {
      assert.equal(pb.cli(['user', 'add', 'noquota@example.test', '--password', 'pw']).code, 0);
      const c = await loggedIn(pb.ports.imap, 'noquota@example.test', 'pw');
      const root = await c.ok('GETQUOTAROOT INBOX');
      const roots = (/^\* QUOTAROOT \S+((?: \S+)*)$/.exec(root.untagged[0] ?? '')?.[1] ?? '')
        .trim()
        .split(' ')
        .filter(Boolean);
      for (const r of roots) {
        assert.ok(
          root.untagged.some((l) => l.startsWith(`* QUOTA ${r} (`)),
          `root ${r} without a QUOTA response: ${JSON.stringify(root.untagged)}`,
        );
      }
      const q = await c.command('GETQUOTA ""');
      assert.ok(q.status !== 'OK' || q.untagged.some((l) => l.startsWith('* QUOTA "" (')), JSON.stringify(q));
      c.close();
    } finally {
      await pb.stop();
      removeDir(pb.dataDir);
    }
  });
});

describe('IMAP: plaintext policy, STARTTLS and IMAPS', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({
      listeners: ['imap', 'imaps'],
      extraArgs: [...FAST, '--set', 'plaintext_networks=[]'],
    });
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('advertises LOGINDISABLED and refuses LOGIN/AUTHENTICATE before STARTTLS on a non-plaintext network', async () => {
    const c = await ImapClient.connect(pb.ports.imap);
    try {
      assert.match(c.greeting, /^\* OK \[CAPABILITY [^\]]*\bLOGINDISABLED\b/);
      assert.match(c.greeting, /\bSTARTTLS\b/);
      assert.doesNotMatch(c.greeting, /AUTH=/);
      const cap = await c.ok('CAPABILITY');
      assert.match(cap.untagged[0], /^\* CAPABILITY .*\bLOGINDISABLED\b/);
      assert.doesNotMatch(cap.untagged[0], /AUTH=PLAIN/);
      const login = await c.command('LOGIN ludo@example.test sdf12345');
      assert.equal(login.status, 'NO', login.tagged);
      assert.match(login.tagged, /\[PRIVACYREQUIRED\]/);
      const auth = await c.command(
        `AUTHENTICATE PLAIN ${Buffer.from('\0ludo@example.test\0sdf12345').toString('base64')}`,
      );
      assert.notEqual(auth.status, 'OK', auth.tagged);

      // STARTTLS, with a command injected behind it in the same packet: that command must be discarded.
      c.write('s1 STARTTLS\r\ninj NOOP\r\n');
      const st = await c.until('s1');
      assert.equal(st.status, 'OK', st.tagged);
      await c.startTls();
      const cap2 = await c.ok('CAPABILITY');
      assert.doesNotMatch(cap2.untagged.join('\n'), /LOGINDISABLED|STARTTLS/);
      assert.match(cap2.untagged.join('\n'), /AUTH=PLAIN/);
      assert.ok(!cap2.untagged.some((r) => r.startsWith('inj ')), 'injected plaintext command ran');
      const ok = await c.login('ludo@example.test', 'sdf12345');
      assert.match(ok.tagged, /^t\d+ OK /);
      await c.ok('SELECT INBOX');
      const again = await c.command('STARTTLS');
      assert.notEqual(again.status, 'OK');
      await c.ok('LOGOUT');
      assert.ok(!/^inj /m.test(c.pending), 'injected command answered');
    } finally {
      c.close();
    }
  });

  it('IMAPS: TLS from the first byte, LOGIN allowed, no STARTTLS offered', async () => {
    const c = await ImapClient.connect(pb.ports.imaps, { tls: true });
    try {
      assert.match(c.greeting, /^\* OK /);
      const cap = (await c.ok('CAPABILITY')).untagged.join('\n');
      assert.match(cap, /AUTH=PLAIN/);
      assert.doesNotMatch(cap, /STARTTLS|LOGINDISABLED/);
      await c.login('ludo@example.test', 'sdf12345');
      const a = await c
        .ok(`AUTHENTICATE PLAIN ${Buffer.from('\0ludo@example.test\0sdf12345').toString('base64')}`)
        .catch((e: Error) => e);
      // Already authenticated: AUTHENTICATE is not valid in this state.
      assert.ok(a instanceof Error);
      await c.ok('LOGOUT');
    } finally {
      c.close();
    }
  });
});

describe('IMAP: mailbox names stay inside the account', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'imap'], extraArgs: FAST });
    for (const u of ['alice', 'bob'])
      assert.equal(pb.cli(['user', 'add', `${u}@example.test`, '--password', `pw-${u}`]).code, 0);
    await smtpSend(pb.ports.smtp, 's@remote.example', ['bob@example.test'], msg('bob secret'));
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('never shows or changes another account through ../, wildcards, absolute names or the other account name', async () => {
    const bob = await loggedIn(pb.ports.imap, 'bob@example.test', 'pw-bob');
    const alice = await loggedIn(pb.ports.imap, 'alice@example.test', 'pw-alice');
    const said: string[] = [];
    const run = async (c: ImapClient, cmd: string) => {
      const r = await c.command(cmd);
      said.push(r.tagged, ...r.untagged);
      return r;
    };
    try {
      await bob.ok('CREATE BobPrivate');
      const bobBefore = (await bob.ok('LIST "" "*"')).untagged.sort();
      const hostile = [
        '../bob@example.test',
        '../bob@example.test/INBOX',
        '../../bob@example.test/BobPrivate',
        'INBOX/../../bob@example.test',
        'bob@example.test/INBOX',
        'bob@example.test',
        '/bob@example.test/INBOX',
        '~bob/INBOX',
        '#shared/bob',
        '#user/bob/INBOX',
        'Other Users/bob',
        '..',
        '.',
        'a/../../x',
        '*',
        '%',
        'a*b',
        'a%b',
        'x/*',
        '\\\\server\\share',
      ];
      for (const name of hostile) {
        const q = `"${name.replace(/["\\]/g, (ch) => `\\${ch}`)}"`;
        await run(alice, `CREATE ${q}`);
        const sel = await run(alice, `SELECT ${q}`);
        if (sel.status === 'OK') {
          assert.ok(sel.untagged.includes('* 0 EXISTS'), `${name}: ${JSON.stringify(sel.untagged)}`);
          const f = await run(alice, 'FETCH 1:* (BODY.PEEK[])');
          assert.ok(!f.untagged.some((r) => r.includes('bob secret')), name);
        }
        const st = await run(alice, `STATUS ${q} (MESSAGES)`);
        if (st.status === 'OK') assert.match(st.untagged.join('\n'), /MESSAGES 0\)/, name);
        await run(alice, `APPEND ${q} {11+}\r\nFrom: alice`);
        await run(alice, `DELETE ${q}`);
        await run(alice, `RENAME ${q} "renamed"`);
        await run(alice, 'DELETE "renamed"');
        await run(alice, `SUBSCRIBE ${q}`);
      }
      for (const [ref, pat] of [
        ['', '*'],
        ['', '%'],
        ['../', '*'],
        ['..', '*'],
        ['/', '*'],
        ['bob@example.test/', '*'],
        ['', '../*'],
        ['', '../bob@example.test/*'],
        ['~bob', '*'],
        ['#shared', '*'],
        ['', '#*'],
        ['', '*Bob*'],
      ]) {
        for (const verb of ['LIST', 'LSUB']) {
          const r = await run(alice, `${verb} "${ref}" "${pat}"`);
          assert.ok(
            !r.untagged.some((l) => /BobPrivate/.test(l)),
            `${verb} "${ref}" "${pat}": ${JSON.stringify(r.untagged)}`,
          );
        }
      }
      const ext = await run(alice, 'LIST (SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES))');
      assert.ok(!ext.untagged.some((l) => /BobPrivate/.test(l)));
      // COPY/MOVE of Alice's own message to a name that points at Bob's INBOX.
      await alice.ok('SELECT INBOX');
      await alice.append('INBOX', msg('alice own'));
      await alice.ok('NOOP');
      await run(alice, 'COPY 1 "../bob@example.test/INBOX"');
      await run(alice, 'MOVE 1 "bob@example.test/INBOX"');

      // Bob's view: unchanged.
      const bobAfter = (await bob.ok('LIST "" "*"')).untagged.sort();
      assert.deepEqual(bobAfter, bobBefore);
      const lsub = (await bob.ok('LSUB "" "*"')).untagged;
      assert.ok(!lsub.some((l) => /\.\.|#|~|renamed/.test(l)), JSON.stringify(lsub));
      const st = await bob.ok('STATUS INBOX (MESSAGES)');
      assert.match(st.untagged[0], /MESSAGES 1\)/);
      const sel = await bob.ok('SELECT INBOX');
      assert.ok(sel.untagged.includes('* 1 EXISTS'));
      const f = await bob.ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      assert.match(f.untagged[0], /bob secret/);
      for (const line of said) assertNoLeak(line, line);
      await alice.ok('LOGOUT');
      await bob.ok('LOGOUT');
    } finally {
      alice.close();
      bob.close();
    }
  });
});

describe('IMAP: hostile input', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'imap', 'imaps'], extraArgs: FAST });
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
    await smtpSend(pb.ports.smtp, 's@remote.example', ['ludo@example.test'], msg('still here'));
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  /**
   * How `hit` knows the server has answered all of the hostile input: 'noop' sends a NOOP (after a CRLF
   * that ends any half line) and reads up to its tagged reply, or to the close; anything the input made
   * the server say arrives before that reply. 'end' half-closes, for a client that goes away in
   * the middle of something (a literal, a SASL exchange, IDLE), and reads to the server's close: all it
   * said came before. (Not for input still being worked on: the server's reply could be cut off by the
   * close.) 'none' drops the connection at once (what the case is about).
   */
  type Probe = 'noop' | 'end' | 'none';
  const PROBE_REPLY = /(^|\n)zz (OK|NO|BAD)[ \r]/;

  /** Sends `data` on a fresh connection (after login when asked), reads until the probe says all came, drops it. */
  async function hit(name: string, data: (string | Buffer)[], opts: HitOptions = {}): Promise<string> {
    const c = await ImapClient.connect(pb.ports.imap);
    if (opts.login) await c.login('ludo@example.test', 'sdf12345');
    if (opts.select) await c.ok('SELECT INBOX');
    for (const d of data) c.write(d);
    const probe = opts.probe ?? 'noop';
    let text: string;
    if (probe === 'none') text = c.pending;
    else if (probe === 'end') {
      c.socket.end();
      text = await receivedUntil(c, null, name);
    } else {
      c.write('\r\nzz NOOP\r\n');
      text = await receivedUntil(c, PROBE_REPLY, name);
    }
    c.close();
    return text;
  }
  interface HitOptions {
    login?: boolean;
    select?: boolean;
    probe?: Probe;
    /** What the server answers to the hostile input itself: shows the read saw that answer. */
    answer?: RegExp;
  }

  it('survives garbage, half commands and abrupt disconnects without leaking internals', async () => {
    const random = Buffer.alloc(8192);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 256;
    const deep = `d1 SEARCH ${'('.repeat(20000)}ALL${')'.repeat(20000)}\r\n`;
    const ors = `o1 SEARCH ${'OR '.repeat(15000)}${'ALL '.repeat(15001)}\r\n`;
    const nots = `n1 SEARCH ${'NOT '.repeat(30000)}ALL\r\n`;
    const deepFetch = `f1 FETCH 1 ${'('.repeat(20000)}\r\n`;
    const bodyDeep = `f2 FETCH 1 BODY[${'1.'.repeat(5000)}1]\r\n`;
    const tlsHello = Buffer.from('16030100c8010000c40303' + '00'.repeat(190), 'hex');
    const outputs: string[] = [];
    const cases: [string, (string | Buffer)[], HitOptions][] = [
      ['random bytes', [random], {}],
      ['TLS ClientHello on the plain port', [tlsHello], {}],
      ['half LOGIN literal', ['a1 LOGIN {10}\r\n'], { probe: 'end', answer: /^\+ /m }],
      ['half LOGIN literal with some bytes', ['a1 LOGIN {10}\r\nabc'], { probe: 'end', answer: /^\+ /m }],
      ['unterminated quote', ['a1 LOGIN "ludo\r\n'], { answer: /^a1 BAD /m }],
      ['NUL in a command', ['a1 NO\0OP\r\n', 'a2 LOGIN "a\0b" c\r\n'], {}],
      ['no CRLF, long', ['a1 LOGIN ' + 'x'.repeat(200_000)], {}],
      ['too long line', ['a1 NOOP ' + 'x'.repeat(200_000) + '\r\na2 NOOP\r\n'], { answer: /^\* BAD Line longer/m }],
      ['huge literal before login', ['a1 LOGIN {4294967296}\r\n'], {}],
      ['huge literal+ before login', ['a1 LOGIN {99999999999+}\r\nxx'], { probe: 'end' }],
      [
        'AUTHENTICATE cancelled and garbage',
        ['a1 AUTHENTICATE PLAIN\r\n', '*\r\n', 'a2 AUTHENTICATE PLAIN\r\n', '!!!!\r\n'],
        {},
      ],
      ['AUTHENTICATE half', ['a1 AUTHENTICATE LOGIN\r\n'], { probe: 'end', answer: /^\+ /m }],
      ['APPEND huge', ['a1 APPEND INBOX {99999999999}\r\n'], { login: true }],
      ['APPEND half literal', ['a1 APPEND INBOX {100}\r\nFrom: x\r\n'], { login: true, probe: 'end' }],
      ['APPEND half literal+', ['a1 APPEND INBOX {100+}\r\nFrom: x\r\n'], { login: true, probe: 'end' }],
      ['MULTIAPPEND half', ['a1 APPEND INBOX {5+}\r\nhello {100+}\r\nab'], { login: true, probe: 'end' }],
      ['IDLE then drop', ['a1 IDLE\r\n'], { login: true, select: true, probe: 'end', answer: /^\+ idling/m }],
      ['IDLE then garbage', ['a1 IDLE\r\n', 'garbage\r\n', random], { login: true, select: true }],
      [
        'FETCH then drop',
        ['a1 FETCH 1:* (BODY[] BODYSTRUCTURE ENVELOPE)\r\n'],
        { login: true, select: true, probe: 'none' },
      ],
      ['deep SEARCH parens', [deep], { login: true, select: true, answer: /^d1 /m }],
      ['long SEARCH OR chain', [ors], { login: true, select: true, answer: /^\* BAD Line longer/m }],
      ['long SEARCH NOT chain', [nots], { login: true, select: true, answer: /^\* BAD Line longer/m }],
      ['deep FETCH parens', [deepFetch], { login: true, select: true, answer: /^f1 /m }],
      ['deep section part', [bodyDeep], { login: true, select: true, answer: /^f2 /m }],
      [
        'odd sequence sets',
        [
          'a1 FETCH 0 FLAGS\r\na2 FETCH 4294967296 FLAGS\r\na3 FETCH *:* FLAGS\r\na4 FETCH 1:4294967295 FLAGS\r\na5 UID FETCH 1:99999999999 FLAGS\r\na6 FETCH 1,,2 FLAGS\r\na7 STORE 4294967295 +FLAGS (\\Seen)\r\na8 FETCH $ FLAGS\r\na9 COPY 1:* ""\r\n',
        ],
        { login: true, select: true, answer: /^a9 /m },
      ],
      [
        'odd partials and sections',
        [
          'b1 FETCH 1 BODY.PEEK[]<4294967296.1>\r\nb2 FETCH 1 BODY.PEEK[]<0.0>\r\nb3 FETCH 1 BINARY.PEEK[99]\r\nb4 FETCH 1 BODY.PEEK[HEADER.FIELDS ()]\r\nb5 FETCH 1 BODY.PEEK[0]\r\nb6 FETCH 1 BODY.PEEK[1.MIME]\r\nb7 FETCH 1 (BODY.PEEK[]<99999999999999999999.1>)\r\n',
        ],
        { login: true, select: true, answer: /^b7 /m },
      ],
      [
        'bad mailbox names',
        [
          'c1 CREATE "&AGE"\r\nc2 CREATE "&-&"\r\nc3 CREATE "&Jjo!"\r\nc4 CREATE {3+}\r\na\0b\r\nc5 CREATE "\xff\xfe"\r\nc6 SELECT ""\r\n',
        ],
        { login: true, answer: /^c6 /m },
      ],
      ['COMPRESS then garbage', ['z1 COMPRESS DEFLATE\r\n', random], { login: true, answer: /^z1 OK /m }],
      [
        'literal8 where not allowed',
        ['l1 SEARCH ~{5}\r\nhello\r\nl2 LOGIN ~{3}\r\nabc x\r\n'],
        { login: true, select: true },
      ],
      [
        'ENABLE and ID junk',
        ['e1 ENABLE ' + 'X '.repeat(5000) + '\r\ne2 ID (' + '"a" '.repeat(1000) + ')\r\n'],
        { login: true },
      ],
      ['command storm', [Array.from({ length: 40 }, (_, i) => `x${i} FOO\r\n`).join('')], { answer: /^\* BYE /m }],
    ];
    for (const [name, data, opts] of cases) {
      const out = await hit(name, data, opts);
      outputs.push(out);
      if (opts.answer) assert.match(out, opts.answer, `${name}: the answer to the input itself was read`);
      assertNoLeak(out, `${name}: ${out.slice(0, 2000)}`);
      assert.equal(pb.child.exitCode, null, `server died after: ${name}`);
    }
    // 40 unknown commands in a row end the session with BYE (maxErrors).
    assert.match(outputs.at(-1) ?? '', /^\* BYE /m);

    // Over TLS too: garbage after the handshake.
    const t = await ImapClient.connect(pb.ports.imaps, { tls: true });
    t.write(random);
    t.write('\r\nzz NOOP\r\n');
    const overTls = await receivedUntil(t, PROBE_REPLY, 'garbage over TLS');
    assertNoLeak(overTls, `garbage over TLS: ${overTls.slice(0, 2000)}`);
    t.close();

    // A normal session still works and status answers.
    const c = await loggedIn(pb.ports.imap, 'ludo@example.test', 'sdf12345');
    const sel = await c.ok('SELECT INBOX');
    // Half-sent APPENDs stored nothing.
    assert.ok(sel.untagged.includes('* 1 EXISTS'), JSON.stringify(sel.untagged));
    const f = await c.ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    assert.match(f.untagged[0], /Subject: still here/);
    await c.ok('LOGOUT');
    c.close();
    const status = pb.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /postbode is running/);
    assert.equal(pb.child.exitCode, null);
    // Every dropped session is gone (no leak).
    assert.equal(await sessionCount(pb), 0, 'sessions left open after their clients went away');
    const errors = pb.logs.filter((l) => Number(l.level) >= 50);
    assert.deepEqual(errors, [], 'error log lines');
  });
});

describe('IMAP: a client that drops before the TLS handshake on imaps', () => {
  it('does not leave a session behind nor hold up shutdown', async () => {
    const pb = await startPostbode({ listeners: ['imaps'] });
    try {
      for (const bytes of [Buffer.alloc(0), Buffer.from('16030100c8010000c40303', 'hex')]) {
        const raw = net.connect({ port: pb.ports.imaps, host: '127.0.0.1' });
        await new Promise((r) => raw.once('connect', r));
        if (bytes.length) raw.write(bytes);
        raw.destroy();
      }
      assert.equal(await sessionCount(pb), 0, 'sessions left after the clients went away');
      const stopped = await Promise.race([
        pb.stop().then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
      ]);
      assert.ok(stopped, 'SIGTERM shutdown took over 3 s');
    } finally {
      if (pb.child.exitCode === null && pb.child.signalCode === null) await pb.kill9();
      removeDir(pb.dataDir);
    }
  });
});

describe('IMAP: durability across kill -9', () => {
  it('keeps APPEND, STORE and EXPUNGE acknowledged with OK', async () => {
    const listeners = ['imap'];
    let pb = await startPostbode({ listeners, extraArgs: FAST });
    const dataDir = pb.dataDir;
    const restart = async () => {
      await pb.kill9();
      pb = await startPostbode({ listeners, extraArgs: FAST, dataDir });
    };
    try {
      assert.equal(pb.cli(['user', 'add', 'alice@example.test', '--password', 'pw']).code, 0);
      // Several sessions appending at once, so OKs come out of one group commit; kill at the last OK.
      const acked: string[] = [];
      await Promise.all(
        Array.from({ length: 6 }, async (_, n) => {
          const c = await loggedIn(pb.ports.imap, 'alice@example.test', 'pw');
          for (let i = 0; i < 3; i++) {
            const r = await c.append('INBOX', msg(`durable ${n}-${i}`), '\\Seen');
            if (r.status === 'OK') acked.push(`durable ${n}-${i}`);
          }
          c.close();
        }),
      );
      const c0 = await loggedIn(pb.ports.imap, 'alice@example.test', 'pw');
      assert.equal((await c0.ok('CREATE Kept')).status, 'OK');
      const last = await c0.append('Kept', msg('last one'), '\\Flagged');
      assert.equal(last.status, 'OK');
      await restart();
      assert.equal(acked.length, 18);
      let c = await loggedIn(pb.ports.imap, 'alice@example.test', 'pw');
      let sel = await c.ok('SELECT INBOX');
      assert.ok(sel.untagged.includes('* 18 EXISTS'), JSON.stringify(sel.untagged));
      const subjects = (await c.ok('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])')).untagged.join('\n');
      for (const s of acked) assert.ok(subjects.includes(`Subject: ${s}\r\n`), `lost: ${s}`);
      const kept = await c.ok('SELECT Kept');
      assert.ok(kept.untagged.includes('* 1 EXISTS'));
      assert.match((await c.ok('FETCH 1 (FLAGS)')).untagged[0], /\\Flagged/);

      // STORE: kill right after the OK.
      await c.ok('SELECT INBOX');
      const st = await c.ok('STORE 1:5 FLAGS (\\Answered $Custom)');
      assert.equal(st.status, 'OK');
      await c.ok('UID STORE 1:* +FLAGS.SILENT (\\Flagged)');
      await restart();
      c = await loggedIn(pb.ports.imap, 'alice@example.test', 'pw');
      await c.ok('SELECT INBOX');
      const flags = (await c.ok('FETCH 1:* (FLAGS)')).untagged;
      assert.equal(flags.length, 18);
      for (const [i, l] of flags.entries()) {
        assert.match(l, /\\Flagged/, l);
        if (i < 5) assert.match(l, /^\* \d+ FETCH \(FLAGS \((?=.*\\Answered)(?=.*\$Custom)(?!.*\\Seen)/, l);
        else assert.match(l, /\\Seen/, l);
      }

      // EXPUNGE: kill right after the OK.
      await c.ok('STORE 1:10 +FLAGS.SILENT (\\Deleted)');
      const ex = await c.ok('EXPUNGE');
      assert.equal(ex.untagged.filter((l) => /EXPUNGE$/.test(l)).length, 10);
      await restart();
      c = await loggedIn(pb.ports.imap, 'alice@example.test', 'pw');
      sel = await c.ok('SELECT INBOX');
      assert.ok(sel.untagged.includes('* 8 EXISTS'), JSON.stringify(sel.untagged));
      assert.deepEqual((await c.ok('SEARCH DELETED')).untagged, ['* SEARCH']);

      // MOVE: kill right after the OK; the message is in exactly one place.
      await c.ok('MOVE 1 Kept');
      await restart();
      c = await loggedIn(pb.ports.imap, 'alice@example.test', 'pw');
      assert.match((await c.ok('STATUS INBOX (MESSAGES)')).untagged[0], /MESSAGES 7\)/);
      assert.match((await c.ok('STATUS Kept (MESSAGES)')).untagged[0], /MESSAGES 2\)/);
      c.close();
    } finally {
      await pb.stop();
      removeDir(dataDir);
    }
  });
});
