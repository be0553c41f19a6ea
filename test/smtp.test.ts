/**
 * SMTP black-box tests: a real server process, real sockets, every reply and error path of the
 * core issue (lab and strict modes, smuggling, limits, AUTH, STARTTLS, BDAT, relay control).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LineClient } from './harness/line-client.js';
import { popRetrieveAll } from './harness/pop3.js';
import { type PostbodeProcess, ROOT, removeDir, startPostbode } from './harness/server.js';
import { replayTranscript } from './harness/transcript.js';

const HOST = 'mx.example.test';
const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');

describe('SMTP (lab mode, the default)', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({
      hostname: HOST,
      extraArgs: [
        '--set',
        'smtp.max_message_size=20000',
        '--set',
        'smtp.max_recipients=3',
        '--set',
        'limits.max_errors=8',
      ],
    });
    for (const u of ['milarepa', 'alice', 'bob'])
      assert.equal(pb.cli(['user', 'add', `${u}@example.test`, '--password', 'secret']).code, 0);
    assert.equal(pb.cli(['alias', 'add', 'team@example.test', 'alice@example.test', 'bob@example.test']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  const connect = async () => {
    const c = await LineClient.connect(pb.ports.smtp);
    assert.match(await c.reply(), /^220 mx\.example\.test ESMTP postbode [\d.]+ ready$/);
    return c;
  };

  it('replays the seed transcript exactly and delivers the message', async () => {
    const c = await LineClient.connect(pb.ports.smtp);
    await replayTranscript(c, path.join(ROOT, 'test/transcripts/smtp/seed.txt'), { host: HOST });
    await c.closedByServer();
    const msgs = await popRetrieveAll(pb.ports.pop3, 'milarepa@example.test', 'secret');
    assert.equal(msgs.length, 1);
    const text = msgs[0].toString('latin1');
    assert.match(text, /^Return-Path: <mannix@intecbrussel\.intra>\r\nReceived: from \[127\.0\.0\.1\] /);
    assert.ok(
      text.endsWith('\r\n\r\nDit is de body van ons mailbericht.\r\n') ||
        text.endsWith('Dit is de body van ons mailbericht.\r\n'),
    );
  });

  it('lists the ESMTP extensions on EHLO', async () => {
    const c = await connect();
    const r = await c.cmd('EHLO client.example.org');
    const lines = r.split('\n');
    assert.match(lines[0], /^250-mx\.example\.test Hello client\.example\.org \[127\.0\.0\.1\]/);
    for (const ext of [
      'PIPELINING',
      'SIZE 20000',
      '8BITMIME',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
      'CHUNKING',
      'DSN',
      'STARTTLS',
      'AUTH PLAIN LOGIN SCRAM-SHA-256',
    ]) {
      assert.ok(
        lines.some((l) => l.slice(4) === ext),
        `missing ${ext} in ${r}`,
      );
    }
    assert.match(lines.at(-1)!, /^250 /);
    c.close();
  });

  it('accepts lowercase commands and says what lab mode tolerated', async () => {
    const c = await connect();
    assert.match(await c.cmd('helo'), /^250 .*lab mode: HELO without a name accepted/);
    assert.match(await c.cmd('mail from:a@b.example'), /^250 2\.1\.0 .*lab mode: address without angle brackets/);
    assert.match(await c.cmd('rcpt to:<alice@example.test>'), /^250 2\.1\.5 /);
    assert.match(await c.cmd('rset'), /^250 2\.0\.0/);
    assert.match(await c.cmd('noop'), /^250 2\.0\.0/);
    assert.match(await c.cmd('quit'), /^221 2\.0\.0/);
    c.close();
  });

  it('answers bad sequences with 503 5.5.1 and syntax errors with 501', async () => {
    const c = await connect();
    assert.match(await c.cmd('MAIL FROM:<a@b.example>'), /^503 5\.5\.1 Send HELO or EHLO first/);
    assert.match(await c.cmd('EHLO x.example'), /^250-/);
    assert.match(await c.cmd('RCPT TO:<alice@example.test>'), /^503 5\.5\.1 /);
    assert.match(await c.cmd('DATA'), /^503 5\.5\.1 /);
    assert.match(await c.cmd('MAIL TO:<a@b.example>'), /^501 5\.5\.4 /);
    assert.match(await c.cmd('MAIL FROM:<a@b.example>'), /^250 /);
    assert.match(await c.cmd('MAIL FROM:<a@b.example>'), /^503 5\.5\.1 /);
    assert.match(await c.cmd('DATA'), /^554 5\.5\.1 No valid recipients/);
    assert.match(await c.cmd('FOO bar'), /^500 5\.5\.2 /);
    c.close();
  });

  it('rejects unknown local users with 550 5.1.1 and relaying with 554 5.7.1', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<>');
    assert.match(await c.cmd('RCPT TO:<nobody@example.test>'), /^550 5\.1\.1 /);
    // RFC 5322 §3.2.4: "alice" quoted is alice (Postfix agrees); a quoted name that needs its quotes is not.
    assert.match(await c.cmd('RCPT TO:<"alice"@example.test>'), /^250 2\.1\.5 /);
    assert.match(await c.cmd('RCPT TO:<"ali ce"@example.test>'), /^550 5\.1\.1 /);
    assert.match(await c.cmd('RCPT TO:<someone@elsewhere.example>'), /^554 5\.7\.1 .*Relay access denied/);
    c.close();
  });

  it('accepts RCPT TO:<Postmaster> without a domain when the hostname is no mail domain (RFC 5321 §4.5.1)', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<>');
    // mx.example.test is the hostname, not a local domain: the bare name goes to example.test's postmaster.
    assert.match(await c.cmd('RCPT TO:<Postmaster>'), /^250 2\.1\.5 Recipient <postmaster@mx\.example\.test> OK$/);
    assert.match(await c.cmd('RCPT TO:<postmaster@mx.example.test>'), /^250 2\.1\.5 /);
    assert.match(await c.cmd('RCPT TO:<postmaster@elsewhere.example>'), /^554 5\.7\.1 /);
    await c.cmd('RSET');
    c.close();
  });

  it('limits recipients with 452 4.5.3 and delivers an alias to every target', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<sender@remote.example>');
    assert.match(await c.cmd('RCPT TO:<team@example.test>'), /^250 /);
    assert.match(await c.cmd('RCPT TO:<alice@example.test>'), /^250 /);
    assert.match(await c.cmd('RCPT TO:<bob@example.test>'), /^250 /);
    assert.match(await c.cmd('RCPT TO:<milarepa@example.test>'), /^452 4\.5\.3 /);
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write('Subject: alias\r\n\r\nhello team\r\n.\r\n');
    assert.match(await c.reply(), /^250 2\.6\.0 /);
    await c.cmd('QUIT');
    // alice and bob each get one copy, though named twice (alias + direct).
    const alice = await popRetrieveAll(pb.ports.pop3, 'alice@example.test', 'secret');
    assert.equal(alice.filter((m) => m.includes('hello team')).length, 1);
    const bob = await popRetrieveAll(pb.ports.pop3, 'bob@example.test', 'secret');
    assert.equal(bob.filter((m) => m.includes('hello team')).length, 1);
  });

  it('refuses a declared or actual size over the limit with 552 and stores nothing', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    assert.match(await c.cmd('MAIL FROM:<a@b.example> SIZE=999999'), /^552 5\.3\.4 /);
    assert.match(await c.cmd('MAIL FROM:<a@b.example> SIZE=100'), /^250 /);
    await c.cmd('RCPT TO:<bob@example.test>');
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write(`Subject: big\r\n\r\n${'x'.repeat(100)}\r\n`.repeat(300));
    c.write('.\r\n');
    assert.match(await c.reply(), /^552 5\.3\.4 /);
    // The session goes on.
    assert.match(await c.cmd('NOOP'), /^250 /);
    c.close();
    const bob = await popRetrieveAll(pb.ports.pop3, 'bob@example.test', 'secret');
    assert.ok(!bob.some((m) => m.includes('Subject: big')));
  });

  it('removes dot-stuffing and keeps the message byte-exact', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<a@b.example>');
    await c.cmd('RCPT TO:<milarepa@example.test>');
    await c.cmd('DATA');
    const body = 'Subject: dots\r\nX-Bytes: caf\xe9\r\n\r\n..leading dot\r\n...two\r\n.\r\n';
    c.write(Buffer.from(body.replace('.\r\n', '') + '.\r\n', 'latin1'));
    assert.match(await c.reply(), /^250 /);
    c.close();
    const msgs = await popRetrieveAll(pb.ports.pop3, 'milarepa@example.test', 'secret');
    const m = msgs.find((x) => x.includes('Subject: dots'))!;
    assert.ok(m.toString('latin1').endsWith('Subject: dots\r\nX-Bytes: caf\xe9\r\n\r\n.leading dot\r\n..two\r\n'));
  });

  it('never ends DATA on <LF>.<CR><LF> or <LF>.<LF> in a CRLF session (no smuggling)', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<a@b.example>');
    await c.cmd('RCPT TO:<bob@example.test>');
    await c.cmd('DATA');
    c.write(
      'Subject: smuggle\r\n\r\nbody\n.\r\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\n.\nmore\r\n.\r\n',
    );
    assert.match(await c.reply(), /^250 2\.6\.0 /);
    assert.match(await c.cmd('NOOP'), /^250 2\.0\.0 Ok$/);
    c.close();
    const alice = await popRetrieveAll(pb.ports.pop3, 'alice@example.test', 'secret');
    assert.ok(!alice.some((m) => m.toString().startsWith('Return-Path: <evil')));
    const bob = await popRetrieveAll(pb.ports.pop3, 'bob@example.test', 'secret');
    assert.ok(bob.some((m) => m.includes('Subject: smuggle') && m.includes('MAIL FROM:<evil@b.example>')));
  });

  it('accepts a bare-LF session from nc, ending DATA with a lone "." line', async () => {
    const c = await connect();
    c.write('HELO nc.example\n');
    assert.match(await c.reply(), /^250 /);
    c.write('MAIL FROM:<a@b.example>\nRCPT TO:<alice@example.test>\nDATA\n');
    assert.match(await c.reply(), /^250 /);
    assert.match(await c.reply(), /^250 /);
    assert.match(await c.reply(), /^354 .*lab mode: bare LF/);
    c.write('Subject: nc\n\nfrom netcat\n.\n');
    assert.match(await c.reply(), /^250 2\.6\.0 /);
    c.close();
    const alice = await popRetrieveAll(pb.ports.pop3, 'alice@example.test', 'secret');
    const m = alice.find((x) => x.includes('Subject: nc'))!;
    assert.ok(m.toString().endsWith('Subject: nc\r\n\r\nfrom netcat\r\n'), 'stored with CRLF line endings');
  });

  it('answers pipelined commands in order', async () => {
    const c = await connect();
    c.write(
      'EHLO p.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n',
    );
    assert.match(await c.reply(), /^250-/);
    assert.match(await c.reply(), /^250 2\.1\.0/);
    assert.match(await c.reply(), /^250 2\.1\.5/);
    assert.match(await c.reply(), /^550 5\.1\.1/);
    assert.match(await c.reply(), /^354 /);
    c.write('Subject: piped\r\n\r\nx\r\n.\r\nQUIT\r\n');
    assert.match(await c.reply(), /^250 2\.6\.0/);
    assert.match(await c.reply(), /^221 /);
    await c.closedByServer();
  });

  it('takes BDAT chunks (CHUNKING)', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<a@b.example>');
    await c.cmd('RCPT TO:<bob@example.test>');
    const part1 = 'Subject: chunks\r\n\r\n';
    const part2 = 'first\r\n.second\r\n';
    c.write(`BDAT ${part1.length}\r\n${part1}`);
    assert.match(await c.reply(), /^250 2\.0\.0 \d+ octets received/);
    c.write(`BDAT ${part2.length} LAST\r\n${part2}`);
    assert.match(await c.reply(), /^250 2\.6\.0 /);
    assert.match(await c.cmd('DATA'), /^503 5\.5\.1 /);
    c.close();
    const bob = await popRetrieveAll(pb.ports.pop3, 'bob@example.test', 'secret');
    assert.ok(bob.some((m) => m.toString().endsWith('Subject: chunks\r\n\r\nfirst\r\n.second\r\n')));
  });

  it('stops reading a message past twice the limit, and a chunk larger than the limit, and closes', async () => {
    // DATA: up to twice the limit the rest is read and dropped (above); past it the reader gives up.
    const c = await connect();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<a@b.example>');
    await c.cmd('RCPT TO:<bob@example.test>');
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write(`${'y'.repeat(998)}\r\n`.repeat(41));
    assert.match(await c.reply(), /^552 5\.3\.4 .*closing the connection/);
    await c.closedByServer();
    // BDAT: a chunk announced larger than a whole message is not read at all.
    const d = await connect();
    await d.cmd('EHLO x.example');
    await d.cmd('MAIL FROM:<a@b.example>');
    await d.cmd('RCPT TO:<bob@example.test>');
    assert.match(await d.cmd('BDAT 999999999999999 LAST'), /^552 5\.3\.4 A chunk of 999999999999999 bytes .*closing/);
    await d.closedByServer();
  });

  it('completes a BDAT message without a final line break, so that POP3 sizes are exact', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<a@b.example>');
    await c.cmd('RCPT TO:<milarepa@example.test>');
    const data = 'Subject: no final crlf\r\n\r\nnoe';
    c.write(`BDAT ${data.length} LAST\r\n${data}`);
    assert.match(await c.reply(), /^250 2\.6\.0 /);
    c.close();
    const stored = (await popRetrieveAll(pb.ports.pop3, 'milarepa@example.test', 'secret')).find((m) =>
      m.toString().includes('Subject: no final crlf'),
    );
    assert.ok(stored?.toString().endsWith('\r\n\r\nnoe\r\n'));
    // RFC 1939 §5, §7: LIST and RETR give the exact size of what RETR sends (before stuffing).
    const pop = await LineClient.connect(pb.ports.pop3);
    await pop.reply();
    await pop.cmd('USER milarepa@example.test');
    assert.match(await pop.cmd('PASS secret'), /^\+OK/);
    assert.match(await pop.cmd('LIST'), /^\+OK/);
    const sizes = (await pop.multiline()).map((l) => Number(l.split(' ')[1]));
    const all = await (async () => {
      await pop.cmd('QUIT');
      return popRetrieveAll(pb.ports.pop3, 'milarepa@example.test', 'secret');
    })();
    assert.deepEqual(
      all.map((m) => m.length),
      sizes,
    );
  });

  it('writes UTF8SMTP in the Received header of an SMTPUTF8 transaction (RFC 6531 §3.7.3)', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    assert.match(await c.cmd('MAIL FROM:<jörg@remote.example> SMTPUTF8'), /^250 /);
    await c.cmd('RCPT TO:<bob@example.test>');
    await c.cmd('DATA');
    c.write('Subject: utf8 receipt\r\n\r\nhällo\r\n.\r\n');
    assert.match(await c.reply(), /^250 2\.6\.0 /);
    c.close();
    const bob = await popRetrieveAll(pb.ports.pop3, 'bob@example.test', 'secret');
    const m = bob.map((b) => b.toString()).find((t) => t.includes('Subject: utf8 receipt'));
    assert.match(m ?? '', /\r\n\tby mx\.example\.test \([^)]*\) with UTF8SMTP id /);
  });

  it('refuses an IPv4 address literal with a number over 255 (RFC 5321 §4.1.3)', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    assert.match(await c.cmd('MAIL FROM:<a@[1.2.3.999]>'), /^501 5\.1\.7 .*over 255/);
    assert.match(await c.cmd('MAIL FROM:<a@[192.0.2.1]>'), /^250 /);
    c.close();
  });

  it('answers a too-long line with 500 5.5.6 and goes on', async () => {
    const c = await connect();
    c.send(`NOOP ${'x'.repeat(5000)}`);
    assert.match(await c.reply(), /^500 5\.5\.6 /);
    assert.match(await c.cmd('NOOP'), /^250 /);
    c.close();
  });

  it('hangs up with 421 after too many errors', async () => {
    const c = await connect();
    for (let i = 0; i < 7; i++) assert.match(await c.cmd('BOGUS'), /^500 /);
    c.send('BOGUS');
    assert.match(await c.reply(), /^500 /);
    assert.match(await c.reply(), /^421 4\.7\.0 /);
    await c.closedByServer();
  });

  it('offers STARTTLS and resets the session after it', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    assert.match(await c.cmd('STARTTLS'), /^220 2\.0\.0 /);
    await c.upgradeTls();
    assert.match(await c.cmd('MAIL FROM:<a@b.example>'), /^503 5\.5\.1 /);
    const ehlo = await c.cmd('EHLO x.example');
    assert.ok(!ehlo.includes('STARTTLS'));
    assert.match(await c.cmd('STARTTLS'), /^503 5\.5\.1 /);
    c.close();
  });

  it('authenticates with AUTH PLAIN and LOGIN and relays for authenticated users into the queue', async () => {
    const c = await connect();
    await c.cmd('EHLO x.example');
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.test', 'wrong')}`), /^535 5\.7\.8 /);
    // RFC 4954 §8: an empty challenge is "334" SP, the space included; "*" cancels with 501.
    assert.equal(await c.cmd('AUTH PLAIN'), '334 ');
    assert.match(await c.cmd('*'), /^501 5\.0\.0 /);
    assert.match(await c.cmd('AUTH LOGIN'), /^334 VXNlcm5hbWU6$/);
    assert.match(await c.cmd(Buffer.from('alice@example.test').toString('base64')), /^334 UGFzc3dvcmQ6$/);
    assert.match(await c.cmd(Buffer.from('secret').toString('base64')), /^235 2\.7\.0 /);
    await c.cmd('MAIL FROM:<alice@example.test>');
    assert.match(await c.cmd('RCPT TO:<friend@elsewhere.example>'), /^250 2\.1\.5 .*queued for remote delivery/);
    await c.cmd('DATA');
    c.write('Subject: out\r\n\r\nto the world\r\n.\r\n');
    assert.match(await c.reply(), /^250 2\.6\.0 /);
    c.close();
    const q = pb.cli(['queue', 'list']);
    assert.match(q.stdout, /from <alice@example\.test>\s+to friend@elsewhere\.example/);
  });

  it('adds the Date and Message-ID a submitted message lacks (RFC 6409 §8.1, §8.3), and keeps those it has', async () => {
    const c = await LineClient.connect(pb.ports.submission);
    await c.reply();
    await c.cmd('EHLO x.example');
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.test', 'secret')}`), /^235 /);
    for (const [subject, header] of [
      ['bare submission', ''],
      ['dated submission', 'Date: Mon, 07 Dec 2026 10:00:00 +0100\r\nMessage-ID: <kept@client.example>\r\n'],
    ]) {
      await c.cmd('MAIL FROM:<alice@example.test>');
      await c.cmd('RCPT TO:<bob@example.test>');
      await c.cmd('DATA');
      c.write(`From: alice@example.test\r\n${header}Subject: ${subject}\r\n\r\nhi\r\n.\r\n`);
      assert.match(await c.reply(), /^250 2\.6\.0 /);
    }
    c.close();
    const texts = (await popRetrieveAll(pb.ports.pop3, 'bob@example.test', 'secret')).map((b) => b.toString());
    const bare = texts.find((t) => t.includes('Subject: bare submission')) ?? '';
    const [head] = bare.split('\r\n\r\n');
    assert.match(
      head,
      /\r\nSubject: bare submission\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r\nMessage-ID: <[^@>\s]+@mx\.example\.test>$/,
    );
    const dated = texts.find((t) => t.includes('Subject: dated submission')) ?? '';
    assert.equal(dated.match(/^Date:/gm)?.length, 1);
    assert.equal(dated.match(/^Message-ID:/gim)?.length, 1);
    assert.match(dated, /\r\nMessage-ID: <kept@client\.example>\r\n/);
  });

  it('sends a delivered DSN for a local recipient with NOTIFY=SUCCESS (RFC 3461 §4.1, RFC 3464)', async () => {
    const c = await LineClient.connect(pb.ports.submission);
    await c.reply();
    await c.cmd('EHLO x.example');
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.test', 'secret')}`), /^235 /);
    assert.match(await c.cmd('MAIL FROM:<alice@example.test> RET=HDRS ENVID=env-success-1'), /^250 /);
    assert.match(
      await c.cmd('RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.test'),
      /^250 /,
    );
    assert.match(await c.cmd('RCPT TO:<milarepa@example.test>'), /^250 /);
    await c.cmd('DATA');
    c.write('From: alice@example.test\r\nSubject: report me\r\n\r\nsecret body\r\n.\r\n');
    assert.match(await c.reply(), /^250 2\.6\.0 /);
    c.close();
    let report: string | undefined;
    for (let i = 0; i < 50 && report === undefined; i++) {
      const mail = (await popRetrieveAll(pb.ports.pop3, 'alice@example.test', 'secret')).map((b) => b.toString());
      report = mail.find((t) => t.includes('Original-Envelope-Id: env-success-1'));
      if (report === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(report, 'a delivery report reaches the sender');
    assert.match(report, /^Return-Path: <>\r\n/);
    assert.match(report, /\r\nSubject: Successful Mail Delivery Report\r\n/);
    assert.match(report, /\r\nFinal-Recipient: rfc822; ?bob@example\.test\r\nAction: delivered\r\nStatus: 2\.0\.0\r\n/);
    assert.match(report, /\r\nOriginal-Recipient: rfc822; ?bob@example\.test\r\n/);
    assert.doesNotMatch(report, /milarepa/, 'only the recipient that asked for it');
    assert.doesNotMatch(report, /secret body/, 'RET=HDRS: the header only');
  });

  it('requires AUTH on the submission port', async () => {
    const c = await LineClient.connect(pb.ports.submission);
    await c.reply();
    await c.cmd('EHLO x.example');
    assert.match(await c.cmd('MAIL FROM:<alice@example.test>'), /^530 5\.7\.0 /);
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.test', 'secret')}`), /^235 /);
    assert.match(await c.cmd('MAIL FROM:<alice@example.test>'), /^250 /);
    c.close();
  });

  it('speaks implicit TLS on the submissions port', async () => {
    const c = await LineClient.connect(pb.ports.submissions, { tls: true });
    assert.match(await c.reply(), /^220 /);
    const ehlo = await c.cmd('EHLO x.example');
    assert.ok(ehlo.includes('AUTH PLAIN LOGIN') && !ehlo.includes('STARTTLS'));
    c.close();
  });

  it('keeps serving others while one client misbehaves', async () => {
    const bad = await connect();
    bad.write(Buffer.alloc(200_000, 0x41)); // a huge line without an end
    const good = await connect();
    assert.match(await good.cmd('NOOP'), /^250 /);
    good.close();
    bad.close();
  });
});

describe('SMTP (strict mode)', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ hostname: HOST, extraArgs: ['--strict'], listeners: ['smtp'] });
    pb.cli(['user', 'add', 'alice@example.test', '--password', 'secret']);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('refuses bare HELO, addresses without brackets and bare LF with 501', async () => {
    const c = await LineClient.connect(pb.ports.smtp);
    await c.reply();
    assert.match(await c.cmd('HELO'), /^501 5\.5\.4 /);
    assert.match(await c.cmd('HELO client.example'), /^250 /);
    assert.match(await c.cmd('MAIL FROM: a@b.example'), /^501 5\.5\.4 .*angle brackets/);
    assert.match(await c.cmd('MAIL FROM: <a@b.example>'), /^250 /);
    c.write('RCPT TO:<alice@example.test>\n');
    assert.match(await c.reply(), /^501 5\.5\.2 /);
    c.close();
  });
});

describe('SMTP idle timeout', () => {
  it('closes an idle session with 421 4.4.2', async () => {
    const pb = await startPostbode({ listeners: ['smtp'], extraArgs: ['--set', 'smtp.idle_timeout=1'] });
    try {
      const c = await LineClient.connect(pb.ports.smtp);
      await c.reply();
      assert.match(await c.reply(3000), /^421 4\.4\.2 /);
      await c.closedByServer();
    } finally {
      await pb.stop();
      removeDir(pb.dataDir);
    }
  });

  it('cuts off a client that stalls the STARTTLS handshake (within the idle timeout)', async () => {
    const pb = await startPostbode({ listeners: ['smtp'], extraArgs: ['--set', 'smtp.idle_timeout=1'] });
    try {
      const c = await LineClient.connect(pb.ports.smtp);
      await c.reply();
      await c.cmd('EHLO x.example');
      assert.match(await c.cmd('STARTTLS'), /^220 /);
      // The header of a TLS record announcing 512 bytes, and then nothing.
      c.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
      await c.closedByServer(5000);
    } finally {
      await pb.stop();
      removeDir(pb.dataDir);
    }
  });
});
