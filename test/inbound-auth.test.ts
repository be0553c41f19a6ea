/**
 * Inbound checks between two postbode instances on loopback, with DNS from the loopback DNS server:
 * A (a.test) signs with DKIM and publishes SPF and DMARC p=reject; a user on A submits on 587 to a
 * user on B, who reads the message by POP3 and IMAP with B's `Authentication-Results: mx.b.test` showing
 * spf, dkim and dmarc pass. Then raw SMTP straight to B's port 25: a forged From a.test from an IP that
 * SPF does not allow is refused after DATA with 550 5.7.1 naming DMARC; with p=quarantine it lands in
 * Junk; with the DNS server not answering it is accepted with temperror, within the time budget.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DnsRecords, type DnsServer, startDnsServer } from './harness/dns-server.js';
import { ImapClient } from './harness/imap-client.js';
import { LineClient } from './harness/line-client.js';
import { eventually, plain } from './harness/mail-flow.js';
import { popRetrieveAll } from './harness/pop3.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const message = (subject: string, extraHeaders = '') =>
  `${extraHeaders}From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@a.test>\r\n\r\nHello from A.\r\n`;

/** One SMTP transaction; returns the reply to the end of DATA and how long it took. */
async function send(
  port: number,
  data: string,
  opts: { auth?: boolean; helo?: string } = {},
): Promise<{ reply: string; ms: number }> {
  const c = await LineClient.connect(port);
  try {
    assert.match(await c.reply(), /^220 /);
    await c.cmd(`EHLO ${opts.helo ?? 'mx.a.test'}`);
    if (opts.auth) assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@a.test', 'secret')}`), /^235 /);
    assert.match(await c.cmd('MAIL FROM:<alice@a.test>'), /^250 /);
    assert.match(await c.cmd('RCPT TO:<bob@b.test>'), /^250 /);
    assert.match(await c.cmd('DATA'), /^354 /);
    const started = Date.now();
    c.write(`${data}.\r\n`);
    const reply = await c.reply(15_000);
    const ms = Date.now() - started;
    await c.cmd('QUIT');
    return { reply, ms };
  } finally {
    c.close();
  }
}

/** The header sections of the messages in `mailbox` whose Subject is `subject`, read over IMAP. */
async function imapHeaders(port: number, mailbox: string, subject: string): Promise<string[]> {
  const c = await ImapClient.connect(port);
  try {
    await c.login('bob@b.test', 'secret');
    await c.ok(`SELECT ${mailbox}`);
    const r = await c.ok('UID FETCH 1:* (FLAGS BODY.PEEK[HEADER])');
    await c.command('LOGOUT');
    return r.untagged.filter((u) => / FETCH /.test(u) && u.includes(`Subject: ${subject}\r\n`));
  } finally {
    c.close();
  }
}

const withSubject = (msgs: Buffer[], subject: string) =>
  msgs.map((m) => m.toString('latin1')).filter((m) => m.includes(`Subject: ${subject}\r\n`));

describe('inbound SPF/DKIM/DMARC checks between two servers', () => {
  let dns: DnsServer;
  let a: PostbodeProcess;
  let b: PostbodeProcess;
  let records: DnsRecords;

  before(async () => {
    dns = await startDnsServer({}, { zones: ['a.test', 'b.test'] });
    const dnsArg = `delivery.dns_servers=["${dns.server}"]`;
    b = await startPostbode({
      hostname: 'mx.b.test',
      domains: ['b.test'],
      // Loopback is trusted by default; here it plays the Internet.
      extraArgs: ['--set', dnsArg, '--set', 'checks.trusted_networks=[]', '--set', 'checks.dns_timeout=2'],
    });
    assert.equal(b.cli(['user', 'add', 'bob@b.test', '--password', 'secret']).code, 0);
    a = await startPostbode({
      hostname: 'mx.a.test',
      domains: ['a.test'],
      outbound: true,
      extraArgs: ['--set', dnsArg, '--set', `delivery.transport={"b.test":"127.0.0.1:${b.ports.smtp}"}`],
    });
    assert.equal(a.cli(['user', 'add', 'alice@a.test', '--password', 'secret']).code, 0);
    const keygen = a.cli(['dkim', 'keygen', 'a.test']);
    assert.equal(keygen.code, 0, keygen.stderr);
    const line = keygen.stdout.split('\n').find((l) => l.startsWith('postbode._domainkey.a.test. IN TXT '));
    assert.ok(line, keygen.stdout);
    const dkim = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]).join('');
    records = {
      'a.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.a.test': { TXT: ['v=DMARC1; p=reject'] },
      'postbode._domainkey.a.test': { TXT: [dkim] },
      'mx.a.test': { A: ['127.0.0.1'] },
      'b.test': { MX: [{ exchange: 'mx.b.test', preference: 10 }] },
    };
    dns.set(records);
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    await dns?.stop();
    removeDir(a.dataDir);
    removeDir(b.dataDir);
  });

  it('mail submitted on A arrives at B with spf, dkim and dmarc pass (POP3 and IMAP)', async () => {
    const sent = await send(a.ports.submission, message('signed'), { auth: true, helo: 'client.a.test' });
    assert.match(sent.reply, /^250 /);
    const [text] = await eventually('the message at B', async () => {
      const got = withSubject(await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret'), 'signed');
      return got.length > 0 ? got : undefined;
    });
    const ar = /^Authentication-Results: mx\.b\.test;\r\n((?:\t.*\r\n)+)/m.exec(text);
    assert.ok(ar, text);
    const results = ar[1].replace(/\r\n\t {2}/g, ' '); // unfold continuation lines
    assert.match(results, /\tspf=pass .*smtp\.mailfrom=alice@a\.test/);
    assert.match(results, /\tdkim=pass header\.i=@a\.test header\.s=postbode header\.a=rsa-sha256/);
    assert.match(results, /\tdmarc=pass \(p=REJECT/);
    assert.match(results, /\tarc=none/);
    // Ours is below Return-Path and our Received, above A's signature.
    assert.ok(text.indexOf('Received: from mx.a.test') < text.indexOf('Authentication-Results:'));
    assert.ok(text.indexOf('Authentication-Results:') < text.indexOf('DKIM-Signature:'));
    const imap = await imapHeaders(b.ports.imap, 'INBOX', 'signed');
    assert.equal(imap.length, 1);
    assert.match(imap[0], /Authentication-Results: mx\.b\.test;\r\n\tspf=pass [\s\S]*\tdkim=pass [\s\S]*\tdmarc=pass /);
    assert.ok(dns.queries.includes('TXT postbode._domainkey.a.test'), dns.queries.join(', '));
  });

  it('refuses a forged From a.test that fails SPF with 550 5.7.1 naming DMARC, and stores nothing', async () => {
    dns.set({ ...records, 'a.test': { TXT: ['v=spf1 -all'] } });
    const { reply } = await send(b.ports.smtp, message('forged'));
    assert.match(
      reply,
      /^550 5\.7\.1 DMARC policy of a\.test is reject and the message fails it \(SPF fail, no aligned DKIM signature\)/,
    );
    assert.equal(withSubject(await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret'), 'forged').length, 0);
    assert.equal((await imapHeaders(b.ports.imap, 'Junk', 'forged')).length, 0);
  });

  it('delivers a p=quarantine failure into Junk, with forged results claiming mx.b.test removed', async () => {
    dns.set({ ...records, 'a.test': { TXT: ['v=spf1 -all'] }, '_dmarc.a.test': { TXT: ['v=DMARC1; p=quarantine'] } });
    const forged = 'Authentication-Results: mx.b.test; spf=pass; dkim=pass; dmarc=pass header.from=a.test\r\n';
    const { reply } = await send(b.ports.smtp, message('quarantined', forged));
    assert.match(reply, /^250 /);
    const junk = await imapHeaders(b.ports.imap, 'Junk', 'quarantined');
    assert.equal(junk.length, 1);
    assert.match(junk[0], /FLAGS \([^)]*\$Junk/);
    assert.match(junk[0], /\tspf=fail /);
    assert.match(junk[0], /\tdmarc=fail \(p=QUARANTINE/);
    assert.equal(junk[0].match(/Authentication-Results: mx\.b\.test/g)?.length, 1);
    assert.doesNotMatch(junk[0], /dmarc=pass/);
    assert.equal(withSubject(await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret'), 'quarantined').length, 0);
  });

  it('accepts with temperror, within the DNS time budget, when the DNS server does not answer', async () => {
    dns.set({ ...records, 'a.test': { TXT: ['v=spf1 -all'] } });
    dns.drop(true);
    try {
      const { reply, ms } = await send(b.ports.smtp, message('dns-down'));
      assert.match(reply, /^250 /);
      assert.ok(ms < 4000, `the end of DATA took ${ms} ms (budget 2 s)`);
    } finally {
      dns.drop(false);
    }
    const [text] = withSubject(await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret'), 'dns-down');
    assert.ok(text, 'the message is in INBOX');
    assert.match(text, /\tspf=temperror /);
    assert.match(text, /\tdmarc=temperror/);
  });

  it('does not check authenticated mail on port 25', async () => {
    // SPF and DMARC of b.test would refuse this message from loopback if it were checked. The sender is the
    // login's own address: smtp.sender_login_match (on by default) refuses any other (test/sender-login.test.ts).
    dns.set({
      ...records,
      'b.test': { ...records['b.test'], TXT: ['v=spf1 -all'] },
      '_dmarc.b.test': { TXT: ['v=DMARC1; p=reject'] },
    });
    assert.equal(b.cli(['user', 'add', 'alice@b.test', '--password', 'secret']).code, 0);
    const c = await LineClient.connect(b.ports.smtp);
    try {
      assert.match(await c.reply(), /^220 /);
      await c.cmd('EHLO client.test');
      assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@b.test', 'secret')}`), /^235 /);
      assert.match(await c.cmd('MAIL FROM:<alice@b.test>'), /^250 /);
      assert.match(await c.cmd('RCPT TO:<bob@b.test>'), /^250 /);
      assert.match(await c.cmd('DATA'), /^354 /);
      c.write(`${message('authenticated').replace('From: Alice <alice@a.test>', 'From: Alice <alice@b.test>')}.\r\n`);
      assert.match(await c.reply(), /^250 /);
    } finally {
      c.close();
    }
    const [text] = withSubject(await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret'), 'authenticated');
    assert.ok(text);
    assert.doesNotMatch(text, /Authentication-Results/);
  });
});
