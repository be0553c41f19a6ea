/**
 * The capability explainer against a real server: every keyword postbode advertises (before TLS, after
 * STARTTLS, after login; ManageSieve's and the Sieve extensions too) must have a real entry, so a new
 * capability without an explanation fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LineClient } from '../../../test/harness/line-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from '../../../test/harness/server.js';
import { explainCapabilities, isExplained, probeAdvertised } from './capabilities.js';

describe('explainCapabilities', () => {
  it('keeps the advertised order, keeps parameters and explains them', () => {
    const out = explainCapabilities({
      smtp: ['PIPELINING', 'SIZE 26214400', 'AUTH PLAIN LOGIN'],
      pop3: ['SASL PLAIN LOGIN', 'IMPLEMENTATION postbode-0.1.0', 'EXPIRE NEVER'],
      imap: ['IMAP4rev2', 'AUTH=PLAIN', 'THREAD=REFERENCES', 'APPENDLIMIT=1000'],
    });
    assert.deepEqual(
      out.smtp.map((c) => c.keyword),
      ['PIPELINING', 'SIZE 26214400', 'AUTH PLAIN LOGIN'],
    );
    assert.equal(out.smtp[0].rfc, 'RFC 2920');
    assert.equal(out.smtp[0].url, 'https://www.rfc-editor.org/rfc/rfc2920');
    assert.match(out.smtp[1].effect, /26,214,400 bytes/);
    assert.match(out.smtp[2].effect, /PLAIN, LOGIN/);
    assert.match(out.pop3[0].effect, /PLAIN, LOGIN/);
    assert.equal(out.pop3[1].rfc, 'RFC 2449 §6.9');
    assert.match(out.imap[1].effect, /Mechanism: PLAIN/);
    assert.match(out.imap[2].effect, /Algorithm: REFERENCES/);
    assert.ok(out.imap.every((c) => c.example.length > 0 && c.summary && c.rfc.startsWith('RFC ')));
  });

  it('gives an unknown keyword a generic entry instead of failing', () => {
    const out = explainCapabilities({ smtp: ['XFROBNICATE 3'], pop3: [''], imap: ['X-UNKNOWN=1'] });
    assert.equal(out.smtp[0].keyword, 'XFROBNICATE 3');
    assert.equal(out.smtp[0].rfc, '');
    assert.match(out.smtp[0].effect, /XFROBNICATE 3/);
    assert.equal(out.imap[0].rfc, '');
    assert.equal(isExplained('imap', 'X-UNKNOWN=1'), false);
  });

  it('says that logins appear after STARTTLS when the list was read before TLS', () => {
    const out = explainCapabilities({
      smtp: ['PIPELINING', 'STARTTLS'],
      pop3: ['STLS'],
      imap: ['STARTTLS', 'LOGINDISABLED'],
    });
    assert.match(out.smtp[1].effect, /AUTH\) are offered only after it/);
    assert.match(out.pop3[0].effect, /offered only after it/);
  });
});

describe('every keyword the running server advertises is explained', () => {
  let pb: PostbodeProcess;
  before(async () => {
    // Plain-text logins only after TLS, as in production: the pre-TLS lists then carry STARTTLS/STLS.
    pb = await startPostbode({
      listeners: ['smtp', 'submission', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps', 'managesieve'],
      extraArgs: ['--set', 'plaintext_networks=[]'],
    });
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('probeAdvertised reads EHLO, CAPA and CAPABILITY (a 0.0.0.0 listener is reached on loopback)', async () => {
    const listeners = [
      { name: 'smtp', host: '0.0.0.0', port: pb.ports.smtp },
      { name: 'submission', host: '127.0.0.1', port: pb.ports.submission },
      { name: 'pop3', host: '127.0.0.1', port: pb.ports.pop3 },
      { name: 'imap', host: '127.0.0.1', port: pb.ports.imap },
      { name: 'imaps', host: '127.0.0.1', port: pb.ports.imaps },
    ];
    const advertised = await probeAdvertised(listeners);
    assert.ok(advertised.smtp.includes('PIPELINING'), JSON.stringify(advertised.smtp));
    assert.ok(advertised.smtp.some((k) => /^SIZE \d+$/.test(k)));
    assert.ok(advertised.pop3.includes('UIDL'), JSON.stringify(advertised.pop3));
    assert.ok(advertised.imap.includes('IMAP4rev2'), JSON.stringify(advertised.imap));
    for (const proto of ['smtp', 'pop3', 'imap'] as const) {
      for (const keyword of advertised[proto])
        assert.ok(isExplained(proto, keyword), `${proto} ${keyword} has no entry`);
    }
    const explained = explainCapabilities(advertised);
    assert.deepEqual(
      explained.imap.map((c) => c.keyword),
      advertised.imap,
    );
  });

  it('probeAdvertised reads the ManageSieve greeting; every capability and Sieve extension is explained', async () => {
    const advertised = await probeAdvertised([{ name: 'managesieve', host: '127.0.0.1', port: pb.ports.managesieve }]);
    assert.ok(
      advertised.managesieve.some((k) => /^SIEVE .*\bfileinto\b/.test(k)),
      JSON.stringify(advertised.managesieve),
    );
    assert.ok(advertised.managesieve.includes('STARTTLS'), JSON.stringify(advertised.managesieve));
    const explained = explainCapabilities(advertised);
    assert.deepEqual(
      explained.managesieve.filter((c) => c.rfc === '').map((c) => c.keyword),
      [],
      'every ManageSieve capability has an entry',
    );
    assert.ok(explained.sieve.length >= 15, JSON.stringify(explained.sieve.map((c) => c.keyword)));
    assert.deepEqual(
      explained.sieve.filter((c) => c.rfc === '').map((c) => c.keyword),
      [],
      'every Sieve extension the server offers has an entry in capabilities.ts',
    );
    assert.equal(explained.sieve.find((c) => c.keyword === 'vacation')?.rfc, 'RFC 5230');
    // Before TLS with no plaintext network, SASL is empty and STARTTLS says that logins come after it.
    assert.ok(advertised.managesieve.includes('SASL'), JSON.stringify(advertised.managesieve));
    assert.match(explained.managesieve.find((c) => c.keyword === 'STARTTLS')?.effect ?? '', /offered only after it/);
  });

  it('the lists after STARTTLS and after login are explained too', async () => {
    const smtp = await LineClient.connect(pb.ports.submission);
    await smtp.reply();
    await smtp.cmd('EHLO lab.example');
    await smtp.cmd('STARTTLS');
    await smtp.upgradeTls();
    const ehlo = (await smtp.cmd('EHLO lab.example')).split('\n').slice(1);
    smtp.send('QUIT');
    const smtpKeywords = ehlo.map((l) => l.slice(4));
    assert.ok(smtpKeywords.some((k) => k.startsWith('AUTH ')));

    const pop = await LineClient.connect(pb.ports.pop3s, { tls: true });
    await pop.line();
    pop.send('CAPA');
    await pop.line();
    const popKeywords = await pop.multiline();
    pop.send('QUIT');
    assert.ok(
      popKeywords.some((k) => k.startsWith('SASL ')),
      JSON.stringify(popKeywords),
    );

    const imap = await LineClient.connect(pb.ports.imaps, { tls: true });
    await imap.line();
    imap.send('a1 LOGIN ludo@example.test sdf12345');
    imap.send('a2 CAPABILITY');
    let line = '';
    let imapKeywords: string[] = [];
    while (!line.startsWith('a2 ')) {
      line = await imap.line();
      if (line.startsWith('* CAPABILITY ')) imapKeywords = line.slice(13).split(' ');
    }
    imap.send('a3 LOGOUT');
    assert.ok(imapKeywords.length > 30, JSON.stringify(imapKeywords));

    const missing = [
      ...smtpKeywords.filter((k) => !isExplained('smtp', k)).map((k) => `smtp ${k}`),
      ...popKeywords.filter((k) => !isExplained('pop3', k)).map((k) => `pop3 ${k}`),
      ...imapKeywords.filter((k) => !isExplained('imap', k)).map((k) => `imap ${k}`),
    ];
    assert.deepEqual(missing, [], 'add an entry in src/web/lab/capabilities.ts for each of these');
  });
});
