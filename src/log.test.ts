import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { COALESCE_MS, LogSink } from './log.js';

function flushed(sink: LogSink): Promise<void> {
  return new Promise((resolve) => sink.flush(resolve));
}

describe('LogSink', () => {
  it('writes lines asynchronously and in order', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postbode-log-'));
    try {
      const file = path.join(dir, 'log');
      const fd = fs.openSync(file, 'a');
      const sink = new LogSink(fd);
      const log = pino({ base: undefined }, sink);
      for (let i = 0; i < 1000; i++) log.info({ i }, 'line');
      await flushed(sink);
      fs.closeSync(fd);
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 1000);
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { i: number }).i),
        [...Array(1000).keys()],
      );
      assert.equal(sink.stats.dropped, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts on a new line when the file it appends to ends half-way through a line (a full disk before)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postbode-log-'));
    try {
      const file = path.join(dir, 'log');
      fs.writeFileSync(file, '{"level":30,"msg":"whole"}\n{"level":30,"helo":"v');
      const fd = fs.openSync(file, 'a'); // write-only, as a shell's >> opens it
      const sink = new LogSink(fd);
      pino({ base: undefined }, sink).info('next');
      await flushed(sink);
      fs.closeSync(fd);
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      assert.equal(lines[1], '{"level":30,"helo":"v');
      assert.equal((JSON.parse(lines[2]) as { msg: string }).msg, 'next');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a burst of lines in one write, once the first has waited, without a flush', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postbode-log-'));
    const write = fs.write;
    let writes = 0;
    // Counts the sink's writes (it calls fs.write on the module object).
    fs.write = ((...args: Parameters<typeof write>) => {
      writes++;
      return (write as (...a: unknown[]) => void)(...args);
    }) as typeof write;
    try {
      const file = path.join(dir, 'log');
      const fd = fs.openSync(file, 'a');
      const sink = new LogSink(fd);
      // A burst: before, the first line left at once and the rest in a second write.
      for (let i = 0; i < 5; i++) sink.write(`line ${i}\n`);
      assert.equal(writes, 0, 'nothing is written before the first line has waited');
      // Nobody flushes: the wait ends by itself.
      for (let i = 0; i < 100 && fs.readFileSync(file, 'utf8').split('\n').length < 6; i++) {
        await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
      }
      assert.equal(fs.readFileSync(file, 'utf8'), 'line 0\nline 1\nline 2\nline 3\nline 4\n');
      assert.equal(writes, 1, 'the five lines left in one write');
      fs.closeSync(fd);
    } finally {
      fs.write = write;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops and counts lines on a full disk (/dev/full) without throwing', async () => {
    const fd = fs.openSync('/dev/full', 'w');
    try {
      const sink = new LogSink(fd, { retryMs: 10 });
      const log = pino({ base: undefined }, sink);
      for (let i = 0; i < 100; i++) log.info('x');
      await flushed(sink);
      assert.equal(sink.stats.failing, 'ENOSPC');
      assert.equal(sink.stats.dropped, 100);
      assert.equal(sink.stats.buffered, 0);
      // After the retry delay the next line tries the descriptor again (and fails again, quietly).
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          log.info('again');
          if (sink.stats.dropped > 101) {
            clearInterval(t);
            resolve();
          }
        }, 5);
      });
      assert.equal(sink.stats.failing, 'ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
  });

  it('caps what waits for a slow descriptor and drops the rest with a count', async () => {
    // A pipe nobody reads: the kernel buffer fills, then the sink's buffer, then lines are dropped.
    const child = spawn('sleep', ['30'], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => {});
    try {
      const sink = new LogSink(pipeFd(child), { maxBuffer: 64 * 1024 });
      const line = `${'y'.repeat(1000)}\n`;
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 20000; i++) sink.write(line);
      assert.ok(sink.stats.buffered <= 64 * 1024, `buffered ${sink.stats.buffered}`);
      assert.ok(sink.stats.dropped > 10000, `dropped ${sink.stats.dropped}`);
      assert.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('survives a reader that went away (EPIPE) without an unhandled error', async () => {
    // The reader closes its end of the pipe and stays alive: every write gets EPIPE.
    const child = spawn('sh', ['-c', 'exec 0<&-; echo closed; exec sleep 30'], { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin.on('error', () => {});
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const sink = new LogSink(pipeFd(child), { retryMs: 10 });
      sink.write('line\n');
      await flushed(sink);
      assert.equal(sink.stats.failing, 'EPIPE');
      assert.equal(sink.stats.dropped, 1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/** The descriptor of the parent's end of a child's stdin pipe. */
function pipeFd(child: ChildProcess): number {
  return (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
}
