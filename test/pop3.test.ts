/** POP3 black-box: the seed transcript against a real server process, and POP3 seeing SMTP deliveries. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, ROOT, removeDir, startPostbode } from './harness/server.js';
import { replayTranscript } from './harness/transcript.js';

const HOST = 'mx.example.test';

describe('POP3 against a real server', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ hostname: HOST, listeners: ['smtp', 'pop3', 'pop3s'] });
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('replays the seed transcript exactly', async () => {
    const c = await LineClient.connect(pb.ports.pop3);
    await replayTranscript(c, path.join(ROOT, 'test/transcripts/pop3/seed.txt'), { host: HOST });
    await c.closedByServer();
  });

  it('shows a message delivered by SMTP with exact octet counts, and deletes only at QUIT', async () => {
    const s = await LineClient.connect(pb.ports.smtp);
    await s.reply();
    await s.cmd('HELO x');
    await s.cmd('MAIL FROM:<a@b.example>');
    await s.cmd('RCPT TO:<ludo@example.test>');
    await s.cmd('DATA');
    s.write('Subject: pop me\r\n\r\n..dot line\r\nlast\r\n.\r\n');
    assert.match(await s.reply(), /^250 /);
    s.close();

    const p = await LineClient.connect(pb.ports.pop3s, { tls: true });
    assert.match(await p.line(), /^\+OK .*<[^>]+>$/);
    await p.cmd('USER ludo@example.test');
    assert.match(await p.cmd('PASS sdf12345'), /^\+OK ludo@example\.test has 1 visible messages/);
    const stat = await p.cmd('STAT');
    const size = Number(stat.split(' ')[2]);
    p.send('RETR 1');
    assert.equal(await p.line(), `+OK ${size} octets`);
    const lines = await p.multiline();
    const raw = `${lines.map((l) => (l.startsWith('..') ? l.slice(1) : l)).join('\r\n')}\r\n`;
    assert.equal(Buffer.byteLength(raw, 'latin1'), size);
    assert.ok(lines.includes('..dot line'), 'byte-stuffed');
    assert.match(await p.cmd('DELE 1'), /^\+OK/);
    assert.match(await p.cmd('STAT'), /^\+OK 0 0$/);
    p.close(); // dropped without QUIT: nothing is deleted

    const q = await LineClient.connect(pb.ports.pop3);
    await q.line();
    await q.cmd('USER ludo@example.test');
    assert.match(await q.cmd('PASS sdf12345'), /has 1 visible/);
    const second = await LineClient.connect(pb.ports.pop3);
    await second.line();
    await second.cmd('USER ludo@example.test');
    assert.match(await second.cmd('PASS sdf12345'), /^-ERR \[IN-USE\] /);
    second.close();
    await q.cmd('DELE 1');
    assert.match(await q.cmd('QUIT'), /^\+OK /);
    await q.closedByServer();

    const r = await LineClient.connect(pb.ports.pop3);
    await r.line();
    await r.cmd('USER ludo@example.test');
    assert.match(await r.cmd('PASS sdf12345'), /has 0 visible/);
    r.close();
  });
});
