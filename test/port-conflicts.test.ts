/**
 * `postbode serve` reports every listener it cannot bind in one go (issue 11), so that fixing a
 * configuration does not take one start per taken port.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { removeDir, runCli } from './harness/server.js';

async function blocker(): Promise<{ port: number; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

describe('postbode serve with several ports taken', () => {
  it('names every taken port in one report and exits 1', async () => {
    const taken = await Promise.all([blocker(), blocker(), blocker()]);
    const [smtp, imap, http] = taken.map((b) => b.port);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-ports-'));
    try {
      const listen = {
        smtp: `127.0.0.1:${smtp}`,
        submission: 'off',
        submissions: 'off',
        pop3: '127.0.0.1:0',
        pop3s: 'off',
        imap: `127.0.0.1:${imap}`,
        imaps: 'off',
        managesieve: 'off',
        http: `127.0.0.1:${http}`,
      };
      const args = ['serve', '--data-dir', dataDir, '--set', 'delivery.enabled=false'];
      for (const [name, value] of Object.entries(listen)) args.push('--listen', `${name}=${value}`);
      const r = runCli(args);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 3, r.stderr);
      assert.match(
        lines[0],
        new RegExp(`^postbode: cannot listen for smtp on 127\\.0\\.0\\.1:${smtp}: the port is already in use`),
      );
      assert.match(
        lines[1],
        new RegExp(`^cannot listen for imap on 127\\.0\\.0\\.1:${imap}: the port is already in use`),
      );
      assert.match(lines[2], new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${http} for http: the port is in use`));
    } finally {
      for (const b of taken) b.close();
      removeDir(dataDir);
    }
  });
});
