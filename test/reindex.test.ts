/**
 * `postbode reindex` beside a running server (whose background indexer works on the same pending
 * list): it indexes what is pending (and everything again with `--all`), reports counts, and SEARCH
 * BODY/TEXT over IMAP gives the same answers before and after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImapClient, smtpSend } from './harness/imap-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

describe('postbode reindex', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'imap'] });
    assert.equal(pb.cli(['user', 'add', 'idx@example.test', '--password', 'pw']).code, 0);
    for (let i = 0; i < 12; i++) {
      const body =
        i % 3 === 0
          ? 'Content-Transfer-Encoding: quoted-printable\n\nA Gr=C3=BC=C3=9Fe zebra=\ncrossing'
          : `\nnothing ${i}`;
      await smtpSend(
        pb.ports.smtp,
        'a@remote.example',
        ['idx@example.test'],
        `Subject: m${i}\nContent-Type: text/plain; charset=utf-8\n${body}\n`,
      );
    }
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  async function searches(): Promise<string[]> {
    const c = await ImapClient.connect(pb.ports.imap);
    try {
      await c.ok('LOGIN idx@example.test pw');
      await c.ok('SELECT INBOX');
      const out: string[] = [];
      for (const q of [
        'BODY "zebracrossing"',
        'BODY "GRÜßE"',
        'TEXT "subject: m1"',
        'BODY "nothing"',
        'NOT BODY "zeb"',
      ]) {
        const r = await c.ok(`SEARCH CHARSET UTF-8 ${q}`);
        out.push(r.untagged.find((l) => l.startsWith('* SEARCH')) ?? '');
      }
      return out;
    } finally {
      c.socket.destroy();
    }
  }

  it('indexes pending messages while the server runs; searches answer the same', async () => {
    const expected = [
      '* SEARCH 1 4 7 10',
      '* SEARCH 1 4 7 10',
      '* SEARCH 2 11 12',
      '* SEARCH 2 3 5 6 8 9 11 12',
      '* SEARCH 2 3 5 6 8 9 11 12',
    ];
    assert.deepEqual(await searches(), expected);
    // The server's background indexer may have taken some or all of them already.
    const first = pb.cli(['reindex']);
    assert.equal(first.code, 0, first.stderr);
    const counts = /^(\d+) messages indexed, (\d+) to index$/m.exec(first.stdout);
    assert.ok(counts, first.stdout);
    assert.equal(Number(counts[1]) + Number(counts[2]), 12);
    assert.match(first.stdout, /^indexed \d+ messages in [\d.]+ s; 12 in the index, 0 left$/m);
    const all = pb.cli(['reindex', '--all', '--batch', '5']);
    assert.equal(all.code, 0, all.stderr);
    // All 12 marked again; the server's indexer may take some between the mark and the count (the
    // window is the CLI's commit and fsync, long on a loaded machine).
    const again = /^12 messages indexed, (\d+) to index$/m.exec(all.stdout);
    assert.ok(again && Number(again[1]) <= 12, all.stdout);
    assert.match(all.stdout, /^indexed \d+ messages in [\d.]+ s; 12 in the index, 0 left$/m);
    assert.deepEqual(await searches(), expected);
  });

  it('refuses a bad batch size as a usage error', () => {
    const r = pb.cli(['reindex', '--batch', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--batch must be a whole number/);
  });
});
