/**
 * Hostile clients and message bodies, against a real server process: many clients each sending a
 * large message (SMTP DATA and BDAT, IMAP APPEND) that never ends or all ending at once, and
 * unauthenticated IMAP clients sending many literals. Bodies in flight go to the spool and are loaded
 * for delivery under one memory budget (src/net/spool.ts): the server's memory must stay bounded while
 * every completed message is stored and other clients are served.
 */
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapClient } from './harness/imap-client.js';
import { LineClient } from './harness/line-client.js';
import { memory, resetPeak } from './harness/proc-memory.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const until = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

/** A message of about `size` bytes with CRLF lines of 76 characters. */
function bigMessage(size: number, subject: string): Buffer {
  const line = `${'x'.repeat(76)}\r\n`;
  const head = `From: a@remote.example\r\nTo: ludo@example.test\r\nSubject: ${subject}\r\n\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil(size / line.length)));
}

/** Opens a raw connection, reads its greeting and returns it with a function that reads until `re`. */
async function raw(port: number) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  const expect = async (re: RegExp, ms = 60_000) => {
    for (let t = 0; t < ms && !re.test(text); t += 20) await until(20);
    assert.match(text, re);
    const m = re.exec(text)!;
    text = text.slice(m.index + m[0].length);
    return m[0];
  };
  await new Promise<void>((r) => socket.once('connect', () => r()));
  /** Writes and resolves once the kernel took the bytes (or the socket closed). */
  const write = (data: Buffer | string) =>
    new Promise<void>((r) => {
      if (socket.write(data)) r();
      else {
        socket.once('drain', () => r());
        socket.once('close', () => r());
      }
    });
  return { socket, expect, write };
}

async function imapMessages(port: number): Promise<number> {
  const c = await ImapClient.connect(port);
  await c.login('ludo@example.test', 'sdf12345');
  const r = await c.ok('STATUS INBOX (MESSAGES)');
  await c.ok('LOGOUT');
  return Number(/MESSAGES (\d+)/.exec(r.untagged.join(' '))?.[1]);
}

describe('hostile clients: message bodies in bounded memory', () => {
  let pb: PostbodeProcess;
  let pid: number;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'imap'], extraArgs: ['--set', 'auth.failure_delay_ms=0'] });
    pid = pb.child.pid!;
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('16 unfinished SMTP DATA, 16 BDAT and 16 IMAP APPEND of 16 MB each: the bytes wait on disk, not in memory', async () => {
    resetPeak(pid);
    const start = memory(pid).rss;
    const body = bigMessage(16 * MiB, 'never ends');
    const clients = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const smtp = await raw(pb.ports.smtp);
        await smtp.expect(/^220 .*\r\n/m);
        await smtp.write(
          `EHLO c${i}.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<ludo@example.test>\r\nDATA\r\n`,
        );
        await smtp.expect(/^354 .*\r\n/m);
        const bdat = await raw(pb.ports.smtp);
        await bdat.expect(/^220 .*\r\n/m);
        await bdat.write(`EHLO b${i}.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<ludo@example.test>\r\n`);
        await bdat.expect(/^250 2\.1\.5.*\r\n/m);
        await bdat.write(`BDAT ${body.length} LAST\r\n`);
        const imap = await raw(pb.ports.imap);
        await imap.expect(/^\* OK.*\r\n/m);
        await imap.write(`a LOGIN ludo@example.test sdf12345\r\nb APPEND INBOX {${body.length}+}\r\n`);
        await imap.expect(/^a OK.*\r\n/m);
        // All but the last byte of each message: none of them ever ends.
        await Promise.all([smtp.write(body), bdat.write(body.subarray(1)), imap.write(body.subarray(1))]);
        return [smtp, bdat, imap];
      }),
    );
    // Spooled bodies are unlinked at once: the files exist only as open handles of the server process.
    const spooled = readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return path.basename(readlinkFd(pid, fd)).endsWith('.body (deleted)');
      } catch {
        return false;
      }
    });
    assert.ok(spooled.length >= 40, `only ${spooled.length} bodies are spooled`);
    assert.equal(await imapMessages(pb.ports.imap), 0);
    const grown = memory(pid).peak - start;
    for (const c of clients.flat()) c.socket.destroy();
    assert.ok(grown < 200, `peak RSS grew by ${Math.round(grown)} MiB for 768 MB of unfinished messages`);
  });

  it('8 SMTP clients end 20 MB messages at once: all stored, loaded for delivery in turns under the budget', async () => {
    const before = await imapMessages(pb.ports.imap);
    resetPeak(pid);
    const start = memory(pid).rss;
    const body = bigMessage(20 * MiB, 'big');
    const clients = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const c = await raw(pb.ports.smtp);
        await c.expect(/^220 .*\r\n/m);
        await c.write(`EHLO c${i}.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<ludo@example.test>\r\nDATA\r\n`);
        await c.expect(/^354 .*\r\n/m);
        await c.write(body);
        return c;
      }),
    );
    await Promise.all(clients.map((c) => c.write('.\r\n')));
    for (const c of clients) await c.expect(/^250 2\.6\.0 .*\r\n/m, 120_000);
    const grown = memory(pid).peak - start;
    for (const c of clients) c.socket.destroy();
    assert.equal(await imapMessages(pb.ports.imap), before + 8);
    assert.ok(grown < 200, `peak RSS grew by ${Math.round(grown)} MiB to deliver 8 × 20 MB`);
  });

  it('40 unauthenticated IMAP clients sending many literals are refused at 64 KB each', async () => {
    resetPeak(pid);
    const start = memory(pid).rss;
    const literal = Buffer.alloc(8000, 0x61);
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const c = await raw(pb.ports.imap);
        await c.expect(/^\* OK.*\r\n/m);
        await c.write('a LOGIN {8000+}\r\n');
        // 950 literals of 8 KB (7.6 MB) in one unfinished command; the server holds at most 64 KB of it.
        for (let i = 0; i < 950 && !c.socket.destroyed; i++) {
          await c.write(literal);
          await c.write(' {8000+}\r\n');
        }
        peak = Math.max(peak, memory(pid).peak);
        await c.write(Buffer.concat([literal, Buffer.from('\r\n')])); // the command ends: now it is answered
        const answer = await c.expect(/^a (BAD|NO) .*\r\n/m);
        c.socket.destroy();
        return answer;
      }),
    );
    for (const a of results) assert.match(a, /TOOBIG.*65536 bytes/);
    const grown = Math.max(peak, memory(pid).peak) - start;
    assert.ok(grown < 100, `peak RSS grew by ${Math.round(grown)} MiB`);
    const ok = await LineClient.connect(pb.ports.smtp);
    assert.match(await ok.reply(), /^220 /);
    ok.socket.destroy();
  });
});

function readlinkFd(pid: number, fd: string): string {
  return readlinkSync(`/proc/${pid}/fd/${fd}`);
}
