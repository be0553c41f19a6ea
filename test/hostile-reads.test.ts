/**
 * Hostile readers, against a real server process: many clients ask for a large message (IMAP FETCH
 * BODY[], POP3 RETR) and then stop reading. A large message is read from the store piece by piece as
 * it is written (IMAP deferred literals, POP3 chunks; the SQLite store keeps large blobs in pieces), so
 * the server's memory stays bounded by pieces, not by clients × message size, and others are served.
 * The bytes that do arrive are exactly the stored ones, for whole messages, sections and partials, and
 * for the web mail's raw download, which streams too.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ImapClient } from './harness/imap-client.js';
import { memory, resetPeak } from './harness/proc-memory.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { Api } from './harness/web-api-client.js';

const MiB = 1024 * 1024;
const until = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU ticks the process has used (utime + stime), to see when it has stopped working. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Waits until the server has done all it can (its CPU time stops moving), bounded by `ms`. */
async function settled(pid: number, ms = 60_000): Promise<void> {
  let last = cpuTicks(pid);
  let quiet = 0;
  for (let t = 0; t < ms && quiet < 5; t += 200) {
    await until(200);
    const now = cpuTicks(pid);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

/** A multipart message of about `size` bytes: a text part and a large base64 part, lines of 76. */
function bigMessage(size: number, subject: string): Buffer {
  const line = `${'QUJD'.repeat(19)}\r\n`;
  const head =
    `From: a@remote.example\r\nTo: ludo@example.test\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\n` +
    'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n' +
    '--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const lines = Math.ceil((size - head.length) / line.length);
  return Buffer.from(`${head}${line.repeat(lines)}--b--\r\n`);
}

/** A raw client that reads until it sees `re`, then can stop reading altogether. */
async function raw(port: number) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  // The first 8 KB since the last match and the last 4 KB: the test looks for short patterns at the
  // start of a response (before a large literal) or at the end, never in the body.
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    if (head.length < 8192) head = Buffer.concat([head, d.subarray(0, 8192 - head.length)]);
    tail = Buffer.concat([tail, d]).subarray(-4096);
  };
  socket.on('data', onData);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const text = () => `${head.toString('latin1')}\n${tail.toString('latin1')}`;
  const expect = async (re: RegExp, ms = 60_000) => {
    for (let t = 0; t < ms && !re.test(text()); t += 20) await until(20);
    assert.match(text(), re);
    head = Buffer.alloc(0);
    tail = Buffer.alloc(0);
  };
  /** Stops reading: the kernel buffers fill and the server's writes must wait. */
  const stall = () => {
    socket.off('data', onData);
    socket.pause();
  };
  return { socket, expect, stall, write: (s: string) => socket.write(s) };
}

describe('hostile readers: large messages are read in pieces', () => {
  let pb: PostbodeProcess;
  let pid: number;
  const users = ['ludo', 'mia', 'noor', 'otto', 'pim'];
  const big = bigMessage(24 * MiB, 'large');

  before(async () => {
    pb = await startPostbode({
      listeners: ['smtp', 'imap', 'pop3', 'http'],
      extraArgs: ['--set', 'auth.failure_delay_ms=0'],
    });
    pid = pb.child.pid!;
    for (const u of users) assert.equal(pb.cli(['user', 'add', `${u}@example.test`, '--password', 'sdf12345']).code, 0);
    for (const u of users) {
      const c = await ImapClient.connect(pb.ports.imap);
      await c.login(`${u}@example.test`, 'sdf12345');
      await c.append('INBOX', big, '', 120_000);
      await c.ok('LOGOUT');
    }
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('30 IMAP FETCH BODY[] and 5 POP3 RETR of a 24 MB message that are never read: memory bounded, others served', async () => {
    await settled(pid);
    resetPeak(pid);
    const start = memory(pid).rss;
    const stalled = await Promise.all([
      ...Array.from({ length: 30 }, async () => {
        const c = await raw(pb.ports.imap);
        await c.expect(/^\* OK.*\r\n/m);
        c.write('a LOGIN ludo@example.test sdf12345\r\nb EXAMINE INBOX\r\nc FETCH 1 BODY.PEEK[]\r\n');
        await c.expect(/\* 1 FETCH \(BODY\[\] \{\d+\}\r\n/);
        c.stall();
        return c;
      }),
      ...users.map(async (u) => {
        const c = await raw(pb.ports.pop3);
        await c.expect(/^\+OK.*\r\n/m);
        c.write(`USER ${u}@example.test\r\nPASS sdf12345\r\nRETR 1\r\n`);
        await c.expect(/\+OK \d+ octets\r\n/);
        c.stall();
        return c;
      }),
    ]);
    try {
      await settled(pid);
      const grown = memory(pid).peak - start;

      // Others are served meanwhile, and a reader that reads gets the stored bytes exactly.
      const reader = await fetcher(pb.ports.imap, 'mia@example.test');
      const got = await reader.fetch('BODY.PEEK[]');
      assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(big).digest('hex'));
      reader.close();
      assert.ok(grown < 150, `peak RSS grew by ${Math.round(grown)} MiB for 35 stalled reads of 24 MB`);
    } finally {
      for (const c of stalled) c.socket.destroy();
    }
  });

  it('sections and partials of a streamed message are the stored bytes', async () => {
    const c = await fetcher(pb.ports.imap, 'noor@example.test');
    const header = big.indexOf('\r\n\r\n') + 4;
    const part2 = big.indexOf('base64\r\n\r\n') + 'base64\r\n\r\n'.length;
    const part2End = big.lastIndexOf('\r\n--b--');
    const cases: [string, Buffer][] = [
      ['BODY.PEEK[]<300000.2000000>', big.subarray(300_000, 2_300_000)],
      ['BODY.PEEK[TEXT]', big.subarray(header)],
      ['BODY.PEEK[2]', big.subarray(part2, part2End)],
      ['BODY.PEEK[2]<1048570.20>', big.subarray(part2 + 1_048_570, part2 + 1_048_590)],
      ['RFC822.TEXT', big.subarray(header)],
      ['BODY.PEEK[]<30000000.10>', Buffer.alloc(0)],
    ];
    for (const [item, want] of cases) {
      const got = await c.fetch(item);
      assert.equal(got.length, want.length, item);
      assert.ok(got.equals(want), `${item}: bytes differ`);
    }
    c.close();

    // The web mail's raw download streams the same bytes.
    const web = await Api.login(`http://127.0.0.1:${pb.ports.http}`, 'noor@example.test', 'sdf12345');
    const boxes = await web.json<{ mailboxes: { id: number; name: string }[] }>('GET', '/api/mail/me/mailboxes');
    const inbox = boxes.mailboxes.find((b) => b.name === 'INBOX');
    assert.ok(inbox);
    const res = await web.req('GET', `/api/mail/me/mailboxes/${inbox.id}/messages/1/raw`);
    assert.equal(res.status, 200);
    const downloaded = Buffer.from(await res.arrayBuffer());
    assert.equal(downloaded.length, big.length);
    assert.ok(downloaded.equals(big), 'the raw download differs from the stored message');
  });

  it('SEARCH BODY that must read every message holds a bounded number of bytes, not the mailbox', async () => {
    // 40 text messages of 2 MB, each with the word at its end: the index cannot rule any out, so every
    // one is read and compared. Three searches at once held ~3 × 80 MB of bytes (and their decoded
    // text) when a search kept every message it had read until its end.
    const c = await ImapClient.connect(pb.ports.imap);
    await c.login('pim@example.test', 'sdf12345');
    await c.ok('CREATE Texts');
    const line = `${'lorem ipsum dolor sit amet '.repeat(3)}\r\n`;
    for (let i = 0; i < 40; i++) {
      const body = `From: a@remote.example\r\nSubject: text ${i}\r\n\r\n${line.repeat(Math.ceil((2 * MiB) / line.length))}needle${i}\r\n`;
      await c.append('Texts', body, '', 60_000);
    }
    await c.ok('SELECT Texts');
    await settled(pid);
    resetPeak(pid);
    const start = memory(pid).rss;
    const searchers = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const s = await ImapClient.connect(pb.ports.imap);
        await s.login('pim@example.test', 'sdf12345');
        await s.ok('EXAMINE Texts');
        return s;
      }),
    );
    const results = await Promise.all(searchers.map((s) => s.ok('SEARCH BODY "ipsum dolor"', 120_000)));
    const grown = memory(pid).peak - start;
    for (const r of results) {
      const hits = r.untagged.find((l) => l.startsWith('* SEARCH'))?.split(' ').length ?? 0;
      assert.equal(hits - 2, 40, 'every message matches');
    }
    const one = await c.ok('SEARCH BODY needle17');
    assert.ok(one.untagged.includes('* SEARCH 18'), JSON.stringify(one.untagged));
    for (const s of searchers) s.close();
    c.close();
    assert.ok(
      grown < 200,
      `peak RSS grew by ${Math.round(grown)} MiB for three searches of an 80 MB mailbox (460 before the bound)`,
    );
  });
});

/**
 * A client for one large literal at a time: `fetch(item)` sends `FETCH 1 (item)` and returns the
 * literal's bytes (collected as chunks, not re-concatenated per packet).
 */
async function fetcher(port: number, user: string) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  let wake: (() => void) | null = null;
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    wake?.();
  });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let tag = 0;
  /** Reads until the tagged reply of `t`; returns everything received, in one buffer. */
  const until = async (t: string): Promise<Buffer> => {
    const done = new RegExp(`(^|\r\n)${t} (OK|NO|BAD)[^\r]*\r\n$`);
    for (;;) {
      const all = Buffer.concat(chunks);
      chunks.length = 0;
      chunks.push(all);
      if (done.test(all.subarray(-4000).toString('latin1'))) {
        chunks.length = 0;
        return all;
      }
      await new Promise<void>((r, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply to ${t}`)), 120_000);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          r();
        };
      });
    }
  };
  const command = async (text: string) => {
    const t = `t${++tag}`;
    socket.write(`${t} ${text}\r\n`);
    const reply = await until(t);
    assert.match(reply.subarray(-4000).toString('latin1'), new RegExp(`${t} OK`));
    return reply;
  };
  await command(`LOGIN ${user} sdf12345`);
  await command('EXAMINE INBOX');
  return {
    async fetch(item: string): Promise<Buffer> {
      const reply = await command(`FETCH 1 (${item})`);
      const head = /\* 1 FETCH \([^{]*\{(\d+)\}\r\n/.exec(reply.subarray(0, 1000).toString('latin1'));
      assert.ok(head, `no literal in the reply to ${item}: ${reply.subarray(0, 200).toString('latin1')}`);
      const from = head.index + head[0].length;
      return reply.subarray(from, from + Number(head[1]));
    },
    close: () => socket.destroy(),
  };
}
