/**
 * SMTP and the storage quota, black-box: a real server process and real sockets. RCPT refuses a full
 * mailbox (452 4.2.2); DATA refuses, storing nothing, a message that fits none of the recipients
 * (552 5.2.2, decided by the store in the write); a message that fits one recipient is stored for all
 * (grace); two sessions racing for the last room cannot both get in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LineClient } from './harness/line-client.js';
import { popRetrieveAll } from './harness/pop3.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const HOST = 'mx.example.test';

/** A message of exactly `size` bytes as DATA carries it (CRLF lines, no dot at a line start). */
function body(subject: string, size: number): string {
  const head = `Subject: ${subject}\r\n\r\n`;
  const fill = size - head.length - 2;
  assert.ok(fill > 0);
  return `${head}${'y'.repeat(fill)}\r\n`;
}

describe('SMTP: storage quota', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ hostname: HOST });
    const users: [string, string | null][] = [
      ['small', '600'],
      ['roomy', null],
      ['race', '1500'],
    ];
    for (const [u, quota] of users) {
      const args = ['user', 'add', `${u}@example.test`, '--password', 'secret', ...(quota ? ['--quota', quota] : [])];
      assert.equal(pb.cli(args).code, 0);
    }
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  async function session(): Promise<LineClient> {
    const c = await LineClient.connect(pb.ports.smtp);
    assert.match(await c.reply(), /^220 /);
    assert.match(await c.cmd('EHLO client.example'), /^250/);
    return c;
  }

  /** MAIL, RCPTs (each must be accepted) and DATA up to the 354. */
  async function open(c: LineClient, rcpts: string[]): Promise<void> {
    assert.match(await c.cmd('MAIL FROM:<sender@b.example>'), /^250 /);
    for (const r of rcpts) assert.match(await c.cmd(`RCPT TO:<${r}>`), /^250 /, r);
    assert.match(await c.cmd('DATA'), /^354 /);
  }

  it('refuses at DATA a message that fits no recipient (552 5.2.2) and stores nothing', async () => {
    const c = await session();
    await open(c, ['small@example.test']);
    const data = body('too big', 700);
    c.write(`${data}.\r\n`);
    assert.equal(
      await c.reply(),
      `552 5.2.2 Mailbox full: the message (${data.length} bytes) does not fit the storage quota of small@example.test`,
    );
    assert.match(await c.cmd('NOOP'), /^250 /);
    c.close();
    assert.equal((await popRetrieveAll(pb.ports.pop3, 'small@example.test', 'secret')).length, 0);
  });

  it('stores a message for every recipient when one has room, then RCPT refuses the full one (452 4.2.2)', async () => {
    const c = await session();
    await open(c, ['small@example.test', 'roomy@example.test']);
    c.write(`${body('grace', 700)}.\r\n`);
    assert.match(await c.reply(), /^250 /);
    assert.match(await c.cmd('MAIL FROM:<sender@b.example>'), /^250 /);
    assert.equal(
      await c.cmd('RCPT TO:<small@example.test>'),
      '452 4.2.2 <small@example.test>: Mailbox full; try again later',
    );
    c.close();
    for (const u of ['small', 'roomy']) {
      const got = await popRetrieveAll(pb.ports.pop3, `${u}@example.test`, 'secret');
      assert.equal(got.filter((m) => m.includes('Subject: grace')).length, 1, u);
    }
  });

  it('lets only one of two sessions racing for the last room in (the check is part of the write)', async () => {
    // Each message fits the quota of 1500 bytes alone (with its trace headers), not both together.
    const [a, b] = [await session(), await session()];
    await open(a, ['race@example.test']);
    await open(b, ['race@example.test']);
    a.write(`${body('race a', 900)}.\r\n`);
    b.write(`${body('race b', 900)}.\r\n`);
    const replies = (await Promise.all([a.reply(), b.reply()])).map((r) => r.slice(0, 9)).sort();
    assert.deepEqual(replies, ['250 2.6.0', '552 5.2.2']);
    a.close();
    b.close();
    assert.equal((await popRetrieveAll(pb.ports.pop3, 'race@example.test', 'secret')).length, 1);
  });
});
