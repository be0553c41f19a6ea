/**
 * Classroom mode against a real server (`serve --classroom`): the web lab moves to all interfaces,
 * server-info says classroom mode is on, and a student sees the port-25 sessions that came from the
 * address their browser uses or that name them (MAIL FROM, HELO), and not another student's. Students
 * are played over loopback from different source addresses (127.0.0.2, 127.0.0.3, ...), which Linux
 * routes like any other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from './harness/browser.js';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASSWORD = 'class-pw-1';

interface Summary {
  id: string;
  remote: string;
  remotePort: number;
  user: string | null;
  active: boolean;
  helo: string | null;
  mailFrom: string | null;
}

/** A port-25 session from `from`: HELO, MAIL FROM, RCPT, RSET, QUIT; returns the client's port. */
async function port25(port: number, from: string, helo: string, mailFrom: string): Promise<number> {
  const c = await LineClient.connect(port, { localAddress: from });
  try {
    assert.match(await c.reply(), /^220 /);
    assert.match(await c.cmd(`HELO ${helo}`), /^250/);
    assert.match(await c.cmd(`MAIL FROM:<${mailFrom}>`), /^250/);
    assert.match(await c.cmd(`RCPT TO:<${ALICE}>`), /^250/);
    assert.match(await c.cmd('QUIT'), /^221/);
    return c.socket.localPort ?? 0;
  } finally {
    c.close();
  }
}

describe('classroom mode', () => {
  let pb: PostbodeProcess;
  let alice: Browser;
  let bob: Browser;

  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'pop3', 'http'], extraArgs: ['--classroom'] });
    for (const user of [ALICE, BOB]) {
      const r = pb.cli(['user', 'add', user, '--password', PASSWORD]);
      assert.equal(r.code, 0, r.stderr);
    }
    alice = new Browser(pb.ports.http, '127.0.0.2');
    bob = new Browser(pb.ports.http, '127.0.0.3');
    await alice.json('POST', '/api/login', { username: ALICE, password: PASSWORD });
    await bob.json('POST', '/api/login', { username: BOB, password: PASSWORD });
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
  });

  it('moves the web lab to all interfaces and says so in server-info', async () => {
    const started = pb.logs.find((l) => l.msg === 'postbode started');
    const httpListener = ((started?.listeners ?? []) as string[]).find((l) => l.startsWith('http='));
    assert.match(httpListener ?? '', /^http=\[?::\]?:\d+$/, 'http on [::], not 127.0.0.1');
    const info = await alice.json<{ classroom: boolean; plaintextNetworks: string[] }>('GET', '/api/server-info');
    assert.equal(info.classroom, true);
    for (const net of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', '127.0.0.0/8']) {
      assert.ok(info.plaintextNetworks.includes(net), net);
    }
  });

  it("shows a student the port-25 sessions from their own address, not another student's", async () => {
    const fromAlice = await port25(pb.ports.smtp, '127.0.0.2', 'pc-12', 'someone@elsewhere.test');
    const fromOther = await port25(pb.ports.smtp, '127.0.0.4', 'pc-14', 'nobody@elsewhere.test');
    const list = async (who: Browser) =>
      (await who.json<{ sessions: Summary[] }>('GET', '/api/sessions?proto=smtp')).sessions;
    // The session is listed once it opened (live) and stays listed once closed (history).
    const mine = (await list(alice)).find((s) => s.remotePort === fromAlice);
    assert.ok(mine, 'alice sees the session from her address');
    assert.equal(mine.user, null);
    assert.equal(mine.helo, 'pc-12');
    assert.equal(mine.mailFrom, 'someone@elsewhere.test');
    await alice.json('GET', `/api/sessions/${mine.id}`);
    assert.ok(!(await list(alice)).some((s) => s.remotePort === fromOther), 'not one from another address');
    assert.ok(!(await list(bob)).some((s) => s.remotePort === fromAlice), "bob does not see alice's");
    await bob.json('GET', `/api/sessions/${mine.id}`, undefined, 403);
  });

  it('shows a student the port-25 sessions that name them in MAIL FROM or HELO', async () => {
    const byMail = await port25(pb.ports.smtp, '127.0.0.5', 'pc-15', BOB);
    const byHelo = await port25(pb.ports.smtp, '127.0.0.6', 'BOB', 'x@elsewhere.test');
    const bobs = (await bob.json<{ sessions: Summary[] }>('GET', '/api/sessions')).sessions;
    assert.ok(bobs.some((s) => s.remotePort === byMail && s.mailFrom === BOB));
    assert.ok(bobs.some((s) => s.remotePort === byHelo && s.helo === 'bob'));
    const alices = (await alice.json<{ sessions: Summary[] }>('GET', '/api/sessions')).sessions;
    assert.ok(!alices.some((s) => s.remotePort === byMail || s.remotePort === byHelo));
  });

  it('allows a plaintext POP3 login over a real socket (loopback)', async () => {
    const c = await LineClient.connect(pb.ports.pop3, { localAddress: '127.0.0.2' });
    try {
      assert.match(await c.reply(), /^\+OK/);
      assert.match(await c.cmd(`USER ${ALICE}`), /^\+OK/);
      assert.match(await c.cmd(`PASS ${PASSWORD}`), /^\+OK/);
      assert.match(await c.cmd('QUIT'), /^\+OK/);
    } finally {
      c.close();
    }
  });
});
