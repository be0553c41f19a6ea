import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openStore, SQLITE_FILE_NAME, StoreUrlError, storeLocation } from './open.js';

describe('openStore: the backend chosen by store.url', () => {
  it('an empty url is SQLite in the data directory; sqlite:PATH another file', () => {
    const dataDir = path.resolve('some', 'data');
    assert.deepEqual(storeLocation('', dataDir), { backend: 'sqlite', file: path.join(dataDir, SQLITE_FILE_NAME) });
    assert.deepEqual(storeLocation(undefined, dataDir), storeLocation('  ', dataDir));
    assert.deepEqual(storeLocation('sqlite:mail.db', dataDir), { backend: 'sqlite', file: path.resolve('mail.db') });
    const abs = path.resolve('elsewhere', 'x.db');
    assert.deepEqual(storeLocation(`sqlite://${abs}`, dataDir), { backend: 'sqlite', file: abs });
    assert.deepEqual(storeLocation(`SQLite:${abs}`, dataDir), { backend: 'sqlite', file: abs });
  });

  it('postgresql:// and postgres:// name the PostgreSQL backend', () => {
    for (const url of ['postgres://mail@db.example/postbode', 'postgresql://db.example:5433/postbode?schema=t1']) {
      assert.deepEqual(storeLocation(url, '/data'), { backend: 'postgresql', url });
    }
  });

  it('refuses unsupported schemes with a message that names the supported ones', () => {
    const cases: [string, RegExp][] = [
      ['postgresql://db.example', /needs a host and a database name/],
      ['postgres:///postbode', /needs a host and a database name/],
      ['mysql://db.example/postbode', /scheme "mysql:" is not supported; supported: sqlite:PATH/],
      ['/var/lib/postbode/mail.db', /has no scheme/],
      ['sqlite:', /names no file/],
    ];
    for (const [url, message] of cases) {
      assert.throws(
        () => storeLocation(url, '/data'),
        (err: unknown) => err instanceof StoreUrlError && message.test(err.message),
        url,
      );
    }
  });

  it('opens the file the url names, creating its directory', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'postbode-open-'));
    try {
      const file = path.join(dir, 'nested', 'mail.db');
      const store = await openStore({ url: `sqlite:${file}`, dataDir: path.join(dir, 'data') });
      assert.equal(store.kind, 'sqlite');
      await store.domains.add('example.org');
      await store.close();
      assert.ok(existsSync(file));
      assert.ok(!existsSync(path.join(dir, 'data', SQLITE_FILE_NAME)));
      await assert.rejects(openStore({ url: 'mysql://x/y', dataDir: dir }), StoreUrlError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
