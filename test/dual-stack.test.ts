/**
 * The default listeners are `[::]:PORT`: one socket for IPv6 and IPv4. An IPv4 client arrives as
 * `::ffff:a.b.c.d` on it and must be treated as the IPv4 address it is: plaintext login from loopback,
 * per-address limits and the trace all see `127.0.0.1`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImapClient } from './harness/imap-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

describe('dual-stack listeners ([::])', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp'], extraArgs: ['--listen', 'imap=[::]:0'] });
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  for (const host of ['127.0.0.1', '::1']) {
    it(`takes ${host} and allows a plaintext login from it (loopback)`, async () => {
      const c = await ImapClient.connect(pb.ports.imap, { host });
      try {
        const r = await c.login('ludo@example.test', 'sdf12345');
        assert.equal(r.status, 'OK', r.tagged);
        await c.ok('LOGOUT');
      } finally {
        c.close();
      }
    });
  }

  it('shows an IPv4 client by its IPv4 address', async () => {
    const status = pb.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /imap\s+:::\d+/);
    const c = await ImapClient.connect(pb.ports.imap, { host: '127.0.0.1' });
    try {
      const r = await c.ok('ID NIL');
      assert.equal(r.status, 'OK');
    } finally {
      c.close();
    }
    const sessions = pb.logs.filter((l) => l.listener === 'imap' && typeof l.remote === 'string');
    assert.ok(sessions.length > 0, 'session log lines with the remote address');
    assert.ok(
      sessions.every((l) => !String(l.remote).startsWith('::ffff:')),
      JSON.stringify(sessions.map((l) => l.remote)),
    );
  });
});
