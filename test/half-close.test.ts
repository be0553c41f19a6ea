/**
 * A client that shuts down its sending side after its commands (`nc`, `printf ... | nc`, scripts) still
 * gets every reply, including the one a failed login gets after the failure delay (issue 11).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const ALICE = 'alice@example.test';

/** Sends `input`, half-closes, and returns everything the server sent until it closed. */
function halfClosed(port: number, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      out += d;
    });
    s.once('connect', () => s.end(input));
    s.once('error', reject);
    s.once('close', () => resolve(out));
  });
}

describe('half-closed connections', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'pop3', 'imap'] });
    assert.equal(pb.cli(['user', 'add', ALICE, '--password', 'correct horse battery']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('POP3: a failed PASS is answered', async () => {
    const out = await halfClosed(pb.ports.pop3, `USER ${ALICE}\r\nPASS wrong\r\n`);
    assert.match(out, /\r\n\+OK [^\r\n]*\r\n-ERR \[AUTH\] [^\r\n]*\r\n$/);
  });

  it('IMAP: a failed LOGIN is answered', async () => {
    const out = await halfClosed(pb.ports.imap, `a1 LOGIN ${ALICE} wrong\r\n`);
    assert.match(out, /\r\na1 NO \[AUTHENTICATIONFAILED\] [^\r\n]*\r\n$/);
  });

  it('SMTP: a failed AUTH and the commands before it are answered', async () => {
    const plain = Buffer.from(`\0${ALICE}\0wrong`).toString('base64');
    const out = await halfClosed(pb.ports.smtp, `EHLO client.test\r\nAUTH PLAIN ${plain}\r\n`);
    assert.match(out, /\r\n250 [^\r\n]*\r\n535 5\.7\.8 [^\r\n]*\r\n$/);
  });
});
