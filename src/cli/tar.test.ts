import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { checkEntryName, decodeHeader, encodeHeader, readTar, TarError, TarWriter } from './tar.js';

describe('ustar archives', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postbode-tar-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips files, directories and long names through the prefix field', async () => {
    const file = path.join(dir, 'a.tar');
    const source = path.join(dir, 'source.bin');
    const big = Buffer.alloc(1_500_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    writeFileSync(source, big);
    const long = `${'d'.repeat(120)}/${'k'.repeat(90)}.key`;
    const w = await TarWriter.create(file);
    await w.addBuffer('manifest.json', Buffer.from('{}'));
    await w.addDirectory('dkim');
    await w.addBuffer(long, Buffer.from('long'));
    await w.addBuffer('empty', Buffer.alloc(0));
    const hash = await w.addFile('big.bin', source, big.length);
    await w.finish();
    assert.equal(readFileSync(file).length % 512, 0);

    const seen: string[] = [];
    await readTar(file, async (e) => {
      seen.push(`${e.type}:${e.name}:${e.size}`);
      if (e.name === long) assert.equal((await e.buffer(100)).toString(), 'long');
      if (e.name === 'big.bin') {
        assert.equal(await e.copyTo(path.join(dir, 'out.bin'), 0o600), hash);
        assert.deepEqual(readFileSync(path.join(dir, 'out.bin')), big);
      }
    });
    assert.deepEqual(seen, [
      'file:manifest.json:2',
      'directory:dkim:0',
      `file:${long}:4`,
      'file:empty:0',
      `file:big.bin:${big.length}`,
    ]);
    await assert.rejects(TarWriter.create(file), /EEXIST/);
  });

  it('encodes sizes of 8 GiB and more in base-256', () => {
    const size = 8 * 1024 ** 3 + 5;
    const header = encodeHeader({ name: 'postbode.db', type: 'file', mode: 0o600, size, mtime: 1 });
    assert.equal(header[124], 0x80);
    assert.equal(decodeHeader(header)?.size, size);
    const small = encodeHeader({ name: 'x', type: 'file', mode: 0o600, size: 8 ** 11 - 1, mtime: 1 });
    assert.equal(small.subarray(124, 136).toString(), '77777777777\0');
  });

  it('refuses unsafe names, links and damaged headers', async () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../b', 'a//b', '.', '', 'a\\b']) {
      assert.throws(() => checkEntryName(bad), TarError, bad);
    }
    const link = encodeHeader({ name: 'link', type: 'file', mode: 0o600, size: 0, mtime: 1 });
    link[156] = 0x32; // '2': a symbolic link
    let sum = 0;
    link.fill(0x20, 148, 156);
    for (const b of link) sum += b;
    link.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.throws(() => decodeHeader(link), /unsupported entry type '2'/);

    const damaged = encodeHeader({ name: 'x', type: 'file', mode: 0o600, size: 0, mtime: 1 });
    damaged[0] ^= 1;
    assert.throws(() => decodeHeader(damaged), /checksum does not match/);

    const truncated = path.join(dir, 'truncated.tar');
    writeFileSync(truncated, encodeHeader({ name: 'x', type: 'file', mode: 0o600, size: 1000, mtime: 1 }));
    await assert.rejects(
      readTar(truncated, async () => {}),
      /truncated/,
    );
  });
});
