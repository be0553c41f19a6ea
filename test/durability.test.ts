/**
 * "Nothing lost": a 250 after DATA and a +OK after POP3 QUIT mean the change is on disk. The server is
 * killed with SIGKILL the moment the reply arrives, restarted on the same data directory, and checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineClient } from './harness/line-client.js';
import { popRetrieveAll } from './harness/pop3.js';
import { removeDir, startPostbode } from './harness/server.js';

describe('durability across kill -9', () => {
  it('keeps every message acknowledged with 250, and every deletion acknowledged with +OK', async () => {
    let pb = await startPostbode({ listeners: ['smtp', 'pop3'] });
    const dataDir = pb.dataDir;
    try {
      assert.equal(pb.cli(['user', 'add', 'alice@example.test', '--password', 'pw']).code, 0);
      // Several sessions at once, so acknowledgements come out of one group commit.
      const acked: string[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, n) => {
          const c = await LineClient.connect(pb.ports.smtp);
          await c.reply();
          await c.cmd('EHLO k.example');
          for (let i = 0; i < 5; i++) {
            await c.cmd('MAIL FROM:<k@remote.example>');
            await c.cmd('RCPT TO:<alice@example.test>');
            await c.cmd('DATA');
            c.write(`Subject: durable ${n}-${i}\r\n\r\nbody\r\n.\r\n`);
            if (/^250 /.test(await c.reply())) acked.push(`durable ${n}-${i}`);
          }
          c.close();
        }),
      );
      await pb.kill9();
      pb = await startPostbode({ listeners: ['smtp', 'pop3'], dataDir });
      let msgs = await popRetrieveAll(pb.ports.pop3, 'alice@example.test', 'pw');
      for (const subject of acked)
        assert.ok(
          msgs.some((m) => m.includes(`Subject: ${subject}\r\n`)),
          `lost: ${subject}`,
        );
      assert.equal(acked.length, 40);

      // DELE + QUIT: the +OK means deleted for good.
      const p = await LineClient.connect(pb.ports.pop3);
      await p.line();
      await p.cmd('USER alice@example.test');
      await p.cmd('PASS pw');
      for (let i = 1; i <= 10; i++) assert.match(await p.cmd(`DELE ${i}`), /^\+OK/);
      p.send('QUIT');
      assert.match(await p.line(), /^\+OK/);
      await pb.kill9();
      pb = await startPostbode({ listeners: ['smtp', 'pop3'], dataDir });
      msgs = await popRetrieveAll(pb.ports.pop3, 'alice@example.test', 'pw');
      assert.equal(msgs.length, 30);
    } finally {
      await pb.stop();
      removeDir(dataDir);
    }
  });
});
