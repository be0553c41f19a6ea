import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { SpaceReserve } from '../store/space.js';
import { DiskMonitor, formatBytes, WARN_EVERY_MS } from './disk.js';

/** A logger that keeps its lines. */
function recordingLogger(): { log: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('DiskMonitor', () => {
  it('warns when space is low, at most once per WARN_EVERY_MS', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postbode-disk-'));
    try {
      const { log, lines } = recordingLogger();
      const reserve = new SpaceReserve({ dataDir: dir, bytes: 0 });
      const opts = { dataDir: dir, reserve, warnPercent: 0, intervalMs: 1000, log };
      // Any disk has less free than 2^60 bytes: "low".
      const low = new DiskMonitor({ ...opts, warnBytes: 2 ** 60 });
      const t0 = Date.now();
      const first = await low.check(t0);
      assert.match(String(first?.warning), /free on the disk holding /);
      assert.ok(first && first.totalBytes > 0 && first.freeBytes >= 0 && first.freePercent <= 100);
      await low.check(t0 + 1000);
      await low.check(t0 + WARN_EVERY_MS - 1);
      assert.equal(lines.filter((l) => l.level === 40).length, 1, 'one warning per interval');
      await low.check(t0 + WARN_EVERY_MS);
      assert.equal(lines.filter((l) => l.level === 40).length, 2);
      assert.match(lines[0].msg, /^disk nearly full: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the reserve when there is room, and not when asked only to look', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postbode-disk-'));
    try {
      const { log } = recordingLogger();
      let clock = Date.now();
      const reserve = new SpaceReserve({ dataDir: dir, bytes: 1024 * 1024, now: () => clock });
      const monitor = new DiskMonitor({ dataDir: dir, reserve, warnPercent: 0, warnBytes: 0, intervalMs: 1000, log });
      const looked = await monitor.check(Date.now(), { createReserve: false });
      assert.equal(looked?.reserve.present, false);
      assert.equal(existsSync(reserve.file), false);
      const status = await monitor.check();
      assert.equal(status?.warning, null);
      assert.deepEqual(status?.reserve, { bytes: 1024 * 1024, present: true, holding: false, released: 0 });
      // Released on a full write: spent, but the disk has room, so it is back at the next look.
      assert.equal(reserve.release(), true);
      assert.equal(existsSync(reserve.file), false);
      assert.equal(reserve.holding, true, 'probed at most once a second');
      clock += 999;
      assert.equal(reserve.holding, true, 'not probed again within the second');
      clock += 1;
      assert.equal(reserve.holding, false, 'probed after a second: the disk has room');
      await reserve.ensure();
      assert.equal(reserve.present, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('formats sizes', () => {
    assert.equal(formatBytes(512), '512 bytes');
    assert.equal(formatBytes(8 * 1024 * 1024), '8.0 MiB');
    assert.equal(formatBytes(48 * 1024 * 1024), '48 MiB');
  });
});
