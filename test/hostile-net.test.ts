/**
 * Hostile clients at the network layer, against a real server process with the web lab on: clients
 * that never read their replies, a COMPRESS=DEFLATE bomb, clients that trickle bytes, and connections
 * of one protocol that must not lock an address out of the others. Each test asserts a bound (the
 * server's memory from /proc, the answers, other clients still served), not a duration.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { ImapClient } from './harness/imap-client.js';
import { LineClient } from './harness/line-client.js';
import { cpuSeconds, memory, resetPeak } from './harness/proc-memory.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const until = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's peak RSS over a few seconds while an attack is under way (work may lag behind input). */
async function peakDuring(pid: number, ms = 3000): Promise<number> {
  let peak = 0;
  for (let t = 0; t < ms; t += 100) {
    peak = Math.max(peak, memory(pid).peak);
    await until(100);
  }
  return Math.max(peak, memory(pid).peak);
}

/**
 * Connects and writes `payload` without ever reading; resolves once the server has taken all of it
 * or nothing more was taken for `stallMs` (the server stopped reading: backpressure).
 */
async function floodWithoutReading(port: number, payload: Buffer, stallMs = 1500): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.pause(); // never read: replies pile up on the server's side unless it stops
  socket.write(payload);
  let last = socket.writableLength;
  let still = 0;
  while (socket.writableLength > 0 && !socket.destroyed && still < stallMs) {
    await until(100);
    if (socket.writableLength === last) still += 100;
    else still = 0;
    last = socket.writableLength;
  }
  return socket;
}

/** An IMAP connection that sends `commands` after the greeting, waits for `ready`, then reads nothing more. */
async function imapThenDeaf(port: number, commands: string, ready: RegExp): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  let text = '';
  const onText = (d: Buffer) => {
    text += d.toString('latin1');
  };
  socket.on('data', onText);
  for (let i = 0; i < 200 && !/^\* OK/.test(text); i++) await until(25);
  socket.write(commands);
  for (let i = 0; i < 400 && !ready.test(text); i++) await until(25);
  assert.match(text, ready);
  socket.off('data', onText);
  socket.pause();
  return socket;
}

/** An SMTP session that must be served while attackers are busy. */
async function smtpServed(port: number): Promise<void> {
  const c = await LineClient.connect(port);
  assert.match(await c.reply(), /^220 /);
  assert.match(await c.cmd('EHLO bystander.example'), /^250/);
  assert.match(await c.cmd('QUIT'), /^221/);
}

describe('hostile clients: output backpressure and COMPRESS', () => {
  let pb: PostbodeProcess;
  let pid: number;
  before(async () => {
    pb = await startPostbode({
      listeners: ['smtp', 'pop3', 'imap', 'http'],
      extraArgs: ['--set', 'auth.failure_delay_ms=0'],
    });
    pid = pb.child.pid!;
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  for (const [proto, line] of [
    ['smtp', 'EHLO x\r\n'],
    ['pop3', 'CAPA\r\n'],
    ['imap', 'a CAPABILITY\r\n'],
  ] as const) {
    it(`${proto}: 10 MB of "${line.trim()}" never read: memory stays bounded and others are served`, async () => {
      resetPeak(pid);
      const before = memory(pid);
      const attacker = await floodWithoutReading(pb.ports[proto], Buffer.from(line.repeat((10 << 20) / line.length)));
      await smtpServed(pb.ports.smtp);
      const c = await ImapClient.connect(pb.ports.imap);
      await c.login('ludo@example.test', 'sdf12345');
      await c.ok('LOGOUT');
      const peak = await peakDuring(pid);
      attacker.destroy();
      assert.ok(peak - before.rss < 150, `peak RSS grew by ${Math.round(peak - before.rss)} MiB`);
    });
  }

  for (const [proto, greeting, answer] of [
    ['smtp', /^220 /, /^500 5\.5\.6 Line too long/],
    ['pop3', /^\+OK/, /^-ERR Line too long/],
    ['imap', /^\* OK/, /^\* BAD Line longer than/],
  ] as const) {
    it(`${proto}: a line that never ends is answered and the connection closed, not read on`, async () => {
      const c = await LineClient.connect(pb.ports[proto]);
      assert.match(await c.line(), greeting);
      // 4 MiB without a line feed, in steps: before, the server read on until the idle timeout.
      const junk = Buffer.alloc(64 * 1024, 'x');
      for (let i = 0; i < 64 && !c.closed; i++) {
        c.write(junk);
        await until(5);
      }
      assert.match(await c.line(10_000), answer);
      await c.closedByServer(10_000);
      await smtpServed(pb.ports.smtp);
    });
  }

  it('IMAP COMPRESS=DEFLATE bomb: 150 KB of compressed NOOPs expand no further than the session reads', async () => {
    const socket = net.connect({ port: pb.ports.imap, host: '127.0.0.1' });
    socket.on('error', () => {});
    let text = '';
    const onText = (d: Buffer) => {
      text += d.toString('latin1');
    };
    socket.on('data', onText);
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 100 && !re.test(text); i++) await until(50);
      assert.match(text, re);
    };
    await waitFor(/^\* OK/);
    socket.write('a LOGIN ludo@example.test sdf12345\r\nb COMPRESS DEFLATE\r\n');
    await waitFor(/b OK/);
    socket.off('data', onText);
    socket.pause(); // from now on, never read the (compressed) replies
    resetPeak(pid);
    const before = memory(pid);
    // About 1000:1: 150 KB of compressed input is ~150 MB of "n NOOP" lines.
    const deflate = zlib.createDeflateRaw({ level: 9 });
    const chunk = Buffer.from('n NOOP\r\n'.repeat(8192));
    let compressed = 0;
    deflate.on('data', (d: Buffer) => {
      compressed += d.length;
      socket.write(d);
    });
    for (let i = 0; i < 2400 && compressed < 150_000; i++) {
      deflate.write(chunk);
      if (i % 64 === 0) await new Promise<void>((r) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    }
    await new Promise<void>((r) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    for (let i = 0; i < 20 && socket.writableLength > 0; i++) await until(100);
    await smtpServed(pb.ports.smtp);
    const peak = await peakDuring(pid);
    socket.destroy();
    assert.ok(peak - before.rss < 150, `peak RSS grew by ${Math.round(peak - before.rss)} MiB`);
    // Once the attacker is gone the server is not left inflating its input: others are served at once.
    await smtpServed(pb.ports.smtp);
  });
  it('IMAP COMPRESS=DEFLATE: five clients whose NOOPs expand ~700:1 and who never read cost the server little', async () => {
    // Their replies compress as well as their commands, so the kernel's socket buffers (which the
    // unsent-output check cannot see) hold gigabytes of them: without pacing, 40 KB of input each
    // kept both cores busy for minutes. With it, each such session runs 320 commands a second.
    const attackers: net.Socket[] = [];
    for (let k = 0; k < 5; k++) {
      const login = 'a LOGIN ludo@example.test sdf12345\r\nb COMPRESS DEFLATE\r\n';
      const socket = await imapThenDeaf(pb.ports.imap, login, /b OK/);
      const deflate = zlib.createDeflateRaw({ level: 9 });
      deflate.on('data', (d: Buffer) => socket.write(d));
      const chunk = Buffer.from('n NOOP\r\n'.repeat(8192));
      for (let i = 0; i < 600; i++) deflate.write(chunk);
      await new Promise<void>((r) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      attackers.push(socket);
    }
    await until(1000);
    const cpuBefore = cpuSeconds(pid);
    await until(4000);
    const used = cpuSeconds(pid) - cpuBefore;
    await smtpServed(pb.ports.smtp);
    for (const s of attackers) s.destroy();
    assert.ok(used < 1, `the server used ${used.toFixed(2)} s of CPU in 4 s for five paced sessions`);
  });
  it('IMAP: 40 sessions in IDLE that never read, and STORE 1:* on 20,000 messages: memory bounded, others served', async () => {
    const owner = await ImapClient.connect(pb.ports.imap);
    await owner.login('ludo@example.test', 'sdf12345');
    await owner.ok('CREATE Bulk');
    // 20 MULTIAPPENDs of 1,000 small messages each.
    for (let k = 0; k < 20; k++) {
      const parts: Buffer[] = [Buffer.from(`m${k} APPEND Bulk`)];
      for (let i = 0; i < 1000; i++) {
        const body = Buffer.from(`Subject: bulk ${k}.${i}\r\n\r\nb\r\n`);
        parts.push(Buffer.from(` {${body.length}+}\r\n`), body);
      }
      parts.push(Buffer.from('\r\n'));
      owner.write(Buffer.concat(parts));
      await owner.until(`m${k}`, 30_000);
    }
    const idlers: net.Socket[] = [];
    for (let k = 0; k < 40; k++) {
      const commands = 'a LOGIN ludo@example.test sdf12345\r\nb SELECT Bulk\r\nc IDLE\r\n';
      idlers.push(await imapThenDeaf(pb.ports.imap, commands, /\+ idling/));
    }
    resetPeak(pid);
    const before = memory(pid);
    await owner.ok('SELECT Bulk', 30_000);
    // Four STOREs of every message, pipelined: 80,000 flag changes for each session in IDLE.
    for (let k = 0; k < 4; k++) owner.send(`s${k} STORE 1:* ${k % 2 ? '-' : '+'}FLAGS.SILENT (\\Flagged)`);
    for (let k = 0; k < 4; k++) assert.match((await owner.until(`s${k}`, 60_000)).tagged, /OK/);
    await smtpServed(pb.ports.smtp);
    const peak = await peakDuring(pid, 2000);
    for (const s of idlers) s.destroy();
    await owner.ok('LOGOUT');
    // Before, each change chained a promise per session in IDLE, held until announced: +650 MiB here.
    // Now what remains is the transient garbage of building and tracing 3.2 million FETCH lines.
    assert.ok(peak - before.rss < 500, `peak RSS grew by ${Math.round(peak - before.rss)} MiB`);
  });
  it('IMAP: pipelined FETCH 1:* of a 20,000-message mailbox, read as fast as it comes, does not hold the others', async () => {
    // The Bulk mailbox of the test above. Each FETCH is store reads that resolve at once and writes the
    // kernel takes at once (this client reads): without a turn for the others, a NOOP from another
    // session, or an SMTP greeting, waited until all of them ended.
    const other = await ImapClient.connect(pb.ports.imap);
    await other.login('ludo@example.test', 'sdf12345');
    const heavy = net.connect({ port: pb.ports.imap, host: '127.0.0.1' });
    heavy.on('error', () => {});
    let seen = '';
    let fetched = false;
    let finished = false;
    heavy.on('data', (d: Buffer) => {
      // Keep only the end: the answers are megabytes.
      seen = (seen + d.toString('latin1')).slice(-200);
      if (!fetched && /\* \d+ FETCH/.test(seen)) fetched = true;
      if (/\r\nh3 OK[^\r]*\r\n$/.test(seen)) finished = true;
    });
    heavy.write('a LOGIN ludo@example.test sdf12345\r\nb EXAMINE Bulk\r\n');
    const storm = ['h0', 'h1', 'h2', 'h3'].map((t) => `${t} FETCH 1:* (ENVELOPE BODYSTRUCTURE)\r\n`).join('');
    heavy.write(storm);
    for (let i = 0; i < 2000 && !fetched; i++) await until(5);
    assert.ok(fetched, 'the FETCHes started');
    await other.ok('NOOP', 60_000);
    assert.equal(finished, false, 'another session was answered only after the whole storm');
    await smtpServed(pb.ports.smtp);
    assert.equal(finished, false, 'an SMTP client was served only after the whole storm');
    for (let i = 0; i < 12_000 && !finished; i++) await until(10);
    assert.ok(finished, 'the storm ends with h3 OK');
    heavy.destroy();
    await other.ok('LOGOUT');
  });

  it('IMAP IDLE: a client that stops reading while flag changes pour in is dropped; memory stays bounded', async () => {
    const changer = await ImapClient.connect(pb.ports.imap);
    await changer.login('ludo@example.test', 'sdf12345');
    await changer.ok('CREATE Pour');
    for (let i = 0; i < 400; i++) await changer.append('Pour', `Subject: m${i}\r\n\r\nbody ${i}\r\n`);
    await changer.ok('SELECT Pour');
    const idler = await ImapClient.connect(pb.ports.imap);
    await idler.login('ludo@example.test', 'sdf12345');
    await idler.ok('SELECT Pour');
    idler.send('i1 IDLE');
    await idler.waitFor(/^\+ /);
    idler.socket.pause(); // from now on, read nothing
    resetPeak(pid);
    const before = memory(pid);
    // Each round announces ~400 FETCH responses of ~350 bytes to the idler (~140 KB).
    const keywords = Array.from({ length: 10 }, (_, k) => `keyword-number-${k}-${'x'.repeat(16)}`).join(' ');
    const dropped = () => pb.logs.some((l) => /IDLE client does not read/.test(String(l.msg)));
    let rounds = 0;
    for (; rounds < 600 && !dropped(); rounds++) {
      await changer.ok(`STORE 1:* ${rounds % 2 ? '-' : '+'}FLAGS.SILENT (${keywords})`);
    }
    const peak = memory(pid).peak;
    assert.ok(dropped(), `the idler was not dropped after ${rounds} rounds of changes`);
    assert.ok(peak - before.rss < 100, `peak RSS grew by ${Math.round(peak - before.rss)} MiB`);
    // The changer was served throughout, and the idler's connection ends with no tagged answer.
    await changer.ok('NOOP');
    idler.socket.resume();
    await idler.closedByServer(10_000);
    assert.doesNotMatch(idler.pending, /^i1 /m);
    await changer.ok('LOGOUT');
  });
});

describe('hostile clients: tricklers and per-protocol address limits', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({
      listeners: ['smtp', 'pop3', 'imap'],
      extraArgs: [
        '--set',
        'smtp.idle_timeout=2',
        '--set',
        'imap.idle_timeout=2',
        '--set',
        'limits.min_data_rate=1000',
        '--set',
        'limits.connections_per_ip.smtp=5',
      ],
    });
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  /** Sends one byte of `text` every `everyMs` until the server closes; returns what the server said. */
  async function trickle(port: number, prologue: string, text: string, everyMs: number): Promise<string> {
    const c = await LineClient.connect(port);
    let said = '';
    said += `${await c.line()}\n`;
    for (const line of prologue.split('\n').filter(Boolean)) {
      c.send(line);
      said += `${await c.reply()}\n`;
    }
    // Far more bytes than the deadline allows: only the server's cut-off ends this loop early.
    for (let i = 0; i < text.length && !c.closed; i++) {
      c.write(text[i]);
      await until(everyMs);
    }
    assert.ok(c.closed, 'the server kept a trickling client beyond its deadline');
    try {
      for (;;) said += `${await c.line(100)}\n`;
    } catch {
      // closed
    }
    return said;
  }

  it('SMTP: a command line trickled a byte at a time is cut off at the idle timeout of its first byte', async () => {
    const said = await trickle(pb.ports.smtp, '', `EHLO ${'x'.repeat(200)}`, 100);
    assert.match(said, /421 4\.4\.2 .*timeout/);
  });

  it('SMTP DATA below the minimum rate is cut off with 421 and nothing is stored', async () => {
    const said = await trickle(
      pb.ports.smtp,
      'EHLO a.example\nMAIL FROM:<a@remote.example>\nRCPT TO:<ludo@example.test>\nDATA',
      `Subject: slow\r\n\r\n${'y'.repeat(400)}`,
      50,
    );
    assert.match(said, /354 /);
    assert.match(said, /421 4\.4\.2 .*timeout/);
    const c = await ImapClient.connect(pb.ports.imap);
    await c.login('ludo@example.test', 'sdf12345');
    const status = await c.ok('STATUS INBOX (MESSAGES)');
    assert.match(status.untagged.join('\n'), /MESSAGES 0/);
    await c.ok('LOGOUT');
  });

  it('IMAP: a literal trickled below the minimum rate is cut off', async () => {
    const c = await LineClient.connect(pb.ports.imap);
    await c.line();
    c.send('a LOGIN ludo@example.test sdf12345');
    assert.match(await c.line(), /^a OK/);
    c.send('b APPEND INBOX {100000}');
    assert.match(await c.line(), /^\+/);
    for (let i = 0; i < 100_000 && !c.closed; i++) {
      c.write('z');
      await until(50);
    }
    assert.ok(c.closed);
  });

  it('SMTP connections from one address do not lock it out of IMAP and POP3', async () => {
    const held: LineClient[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await LineClient.connect(pb.ports.smtp);
      assert.match(await c.reply(), /^220 /);
      held.push(c);
    }
    const refused = await LineClient.connect(pb.ports.smtp);
    assert.match(await refused.reply(), /^421 4\.7\.0 .*Too many connections from your address/);
    const imap = await ImapClient.connect(pb.ports.imap);
    await imap.login('ludo@example.test', 'sdf12345');
    await imap.ok('LOGOUT');
    const pop = await LineClient.connect(pb.ports.pop3);
    assert.match(await pop.line(), /^\+OK/);
    pop.send('QUIT');
    assert.match(await pop.line(), /^\+OK/);
    for (const c of held) c.socket.destroy();
  });
});
