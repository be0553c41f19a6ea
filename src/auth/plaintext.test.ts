import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openTestStore } from '../../test/harness/store.js';
import { parseConfig } from '../config/load.js';
import type { Store } from '../store/types.js';
import { SecretBox } from './secret.js';
import { AuthService } from './service.js';

describe('plaintext login policy', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-plaintext-'));
  const stores: Store[] = [];
  after(async () => {
    for (const store of stores) await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const serviceFor = async (classroom: boolean) => {
    const config = parseConfig({ lab: { classroom } });
    const store = await openTestStore({ dataDir });
    stores.push(store);
    return new AuthService(store, {
      secretBox: SecretBox.open(dataDir),
      plaintextNetworks: config.plaintext_networks,
      scryptLogN: 4,
      apop: false,
    });
  };
  const clear = (remoteAddress: string) => ({ secure: false, remoteAddress });

  it('classroom mode allows the private networks and loopback, not public addresses', async () => {
    const auth = await serviceFor(true);
    for (const a of [
      '127.0.0.1',
      '::1',
      '10.1.2.3',
      '172.20.0.9',
      '192.168.1.50',
      '::ffff:192.168.1.50',
      'fc00::5',
      'fd12:3456::1',
    ]) {
      assert.equal(auth.plaintextAllowed(clear(a)), true, a);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '2001:db8::1', 'fe80::1']) {
      assert.equal(auth.plaintextAllowed(clear(a)), false, a);
    }
    assert.equal(auth.plaintextAllowed({ secure: true, remoteAddress: '8.8.8.8' }), true, 'TLS always');
  });

  it('without classroom mode only loopback is allowed', async () => {
    const auth = await serviceFor(false);
    assert.equal(auth.plaintextAllowed(clear('127.0.0.1')), true);
    for (const a of ['10.1.2.3', '192.168.1.50', 'fc00::5']) assert.equal(auth.plaintextAllowed(clear(a)), false, a);
  });
});
