/**
 * Clean shutdown (issue 11 item 3, docs/operations.md#stopping), on a real server process: SIGTERM stops
 * the listeners, gives each session its protocol's goodbye at its next safe point, ends trace and SSE
 * streams, and exits 0 within `shutdown_timeout`; a restart under load loses no acknowledged message.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { smtpSend } from './harness/imap-client.js';
import { LineClient } from './harness/line-client.js';
import { eventually } from './harness/mail-flow.js';
import { popRetrieveAll } from './harness/pop3.js';
import { BIN, type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const ALICE = 'alice@example.test';
const PASSWORD = 'correct horse battery';
const ADMIN_PASSWORD = 'teacher password 1';
const SHUTDOWN_TIMEOUT = 8;
const WAIT = 20_000;

/** Lines until the server closes the connection. */
async function rest(c: LineClient): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    try {
      lines.push(await c.line(WAIT));
    } catch (err) {
      if (c.closed) return lines;
      throw err;
    }
  }
}

/** Reads lines up to one that matches (returned with those before it). */
async function until(c: LineClient, re: RegExp): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const line = await c.line(WAIT);
    lines.push(line);
    if (re.test(line)) return lines;
  }
}

async function imapLogin(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await until(c, /^\* OK /);
  c.send(`a1 LOGIN ${ALICE} "${PASSWORD}"`);
  await until(c, /^a1 OK/);
  c.send('a2 SELECT INBOX');
  await until(c, /^a2 OK/);
  return c;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function message(id: string, body = 'Hello.'): string {
  return `From: <bob@remote.test>\r\nTo: <${ALICE}>\r\nSubject: ${id}\r\nMessage-ID: <${id}>\r\n\r\n${body}\r\n`;
}

/** How often each Message-ID occurs in alice's mailbox (read over POP3 without deleting). */
async function messageIds(pb: PostbodeProcess): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const m of await popRetrieveAll(pb.ports.pop3, ALICE, PASSWORD)) {
    const id = /\r\nMessage-ID: <([^>\r\n]*)>/i.exec(`\r\n${m.toString('latin1')}`)?.[1];
    if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('shutdown: SIGTERM with every kind of client connected', () => {
  it('says goodbye to each in its protocol, keeps POP3 deletions undone, and exits 0 in time', async () => {
    const listeners = ['smtp', 'pop3', 'imap', 'http'];
    const extraArgs = ['--set', `shutdown_timeout=${SHUTDOWN_TIMEOUT}`];
    let pb = await startPostbode({ listeners, extraArgs });
    const dataDir = pb.dataDir;
    const open: LineClient[] = [];
    let trace: ChildProcess | null = null;
    try {
      for (const args of [
        ['user', 'add', ALICE, '--password', PASSWORD],
        ['admin', 'add', 'teacher', '--password', ADMIN_PASSWORD],
      ]) {
        const r = pb.cli(args);
        assert.equal(r.code, 0, r.stderr);
      }
      // Three large messages, so that a FETCH of them all takes a while.
      const big = `${'x'.repeat(76)}\r\n`.repeat(20_000);
      for (const n of [1, 2, 3]) {
        assert.match(await smtpSend(pb.ports.smtp, 'bob@remote.test', [ALICE], message(`big${n}@test`, big)), /^250 /);
      }

      // `postbode trace` in another terminal (the observed bug: it kept the server from stopping).
      trace = spawn(process.execPath, [BIN, 'trace', '--json', '--data-dir', dataDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let traceOut = '';
      trace.stdout?.on('data', (d: Buffer) => {
        traceOut += d.toString();
      });
      const traceExit = exited(trace);

      // A live SSE stream of the web lab.
      const base = `http://127.0.0.1:${pb.ports.http}`;
      const login = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'teacher', password: ADMIN_PASSWORD }),
      });
      assert.equal(login.status, 200, await login.text());
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      const sse = await fetch(`${base}/api/sessions/stream`, { headers: { cookie } });
      assert.equal(sse.status, 200);
      const sseText = sse.text();

      // SMTP: one session idle, one in the middle of DATA.
      const smtpIdle = await LineClient.connect(pb.ports.smtp);
      open.push(smtpIdle);
      assert.match(await smtpIdle.reply(WAIT), /^220 /);
      assert.match(await smtpIdle.cmd('EHLO idle.test'), /^250/);
      const smtpData = await LineClient.connect(pb.ports.smtp);
      open.push(smtpData);
      assert.match(await smtpData.reply(WAIT), /^220 /);
      assert.match(await smtpData.cmd('EHLO data.test'), /^250/);
      assert.match(await smtpData.cmd('MAIL FROM:<bob@remote.test>'), /^250 /);
      assert.match(await smtpData.cmd(`RCPT TO:<${ALICE}>`), /^250 /);
      assert.match(await smtpData.cmd('DATA'), /^354 /);
      smtpData.write(`From: <bob@remote.test>\r\nTo: <${ALICE}>\r\nMessage-ID: <in-data@test>\r\n`);

      // POP3 with a message marked deleted.
      const pop = await LineClient.connect(pb.ports.pop3);
      open.push(pop);
      assert.match(await pop.line(WAIT), /^\+OK/);
      assert.match(await pop.cmd(`USER ${ALICE}`), /^\+OK/);
      pop.send(`PASS ${PASSWORD}`);
      assert.match(await pop.line(WAIT), /^\+OK/);
      pop.send('DELE 1');
      assert.match(await pop.line(WAIT), /^\+OK/);

      // IMAP: one session in IDLE, one fetching the large messages.
      const idle = await imapLogin(pb.ports.imap);
      open.push(idle);
      idle.send('i1 IDLE');
      await until(idle, /^\+ /);
      const fetcher = await imapLogin(pb.ports.imap);
      open.push(fetcher);
      fetcher.send('f1 FETCH 1:* BODY.PEEK[]');
      const fetchStart = await until(fetcher, /^\* 1 FETCH /);

      // The trace stream is connected once it has shown the sessions above.
      await eventually('the trace stream', async () => (traceOut.includes('"type":"open"') ? true : undefined));

      const t0 = Date.now();
      pb.child.kill('SIGTERM');
      const serverExit = exited(pb.child);
      await eventually('the stopping log line', async () =>
        pb.logs.some((l) => l.msg === 'postbode stopping') ? true : undefined,
      );
      // The message in DATA is completed after the signal: it is acknowledged, then the session ends.
      smtpData.write('Subject: finished after SIGTERM\r\n\r\nThe end.\r\n.\r\n');
      const dataRest = await rest(smtpData);
      assert.match(dataRest[0] ?? '', /^250 /, `DATA after SIGTERM: ${dataRest.join(' | ')}`);
      assert.match(dataRest.at(-1) ?? '', /^421 4\.3\.2 .*shutting down/);

      assert.deepEqual(await rest(smtpIdle), ['421 4.3.2 mx.example.test Service shutting down, closing connection']);
      assert.deepEqual(await rest(pop), ['-ERR [SYS/TEMP] Server shutting down; try again later']);
      assert.deepEqual(await rest(idle), ['* BYE Server shutting down']);
      const fetched = [...fetchStart, ...(await rest(fetcher))];
      const done = fetched.findIndex((l) => /^f1 /.test(l));
      assert.ok(done > 0, 'FETCH completed');
      assert.match(fetched[done], /^f1 OK/);
      assert.equal(fetched.filter((l) => /^\* \d+ FETCH /.test(l)).length, 3, 'all three messages fetched');
      assert.deepEqual(fetched.slice(done + 1), ['* BYE Server shutting down']);

      const body = await sseText;
      assert.match(body, /event: dropped\ndata: \{"error":"stream ended: the server is shutting down"\}/);

      assert.equal(await serverExit, 0, 'exit code of a clean stop');
      const took = Date.now() - t0;
      assert.ok(took < SHUTDOWN_TIMEOUT * 1000, `stopped in ${took} ms`);
      assert.equal(await traceExit, 0, 'postbode trace ends without an error when the server stops');
      assert.match(traceOut, /trace stream ended: the server is shutting down/);
      assert.ok(pb.logs.some((l) => l.msg === 'postbode stopped'));

      // After a restart: the DELE was not applied (no UPDATE state), the message finished in DATA is there.
      pb = await startPostbode({ listeners, extraArgs, dataDir });
      const ids = await messageIds(pb);
      assert.deepEqual([...ids.entries()].sort(), [
        ['big1@test', 1],
        ['big2@test', 1],
        ['big3@test', 1],
        ['in-data@test', 1],
      ]);
      await pb.stop();
      assert.equal(pb.child.exitCode, 0);
    } finally {
      for (const c of open) c.close();
      if (trace && trace.exitCode === null) trace.kill('SIGKILL');
      if (pb.child.exitCode === null && pb.child.signalCode === null) await pb.kill9();
      removeDir(dataDir);
    }
  });
});

describe('shutdown: stop and restart under load', () => {
  it('keeps every message that got 250, exactly once', async () => {
    const listeners = ['smtp', 'pop3'];
    let pb = await startPostbode({ listeners });
    const dataDir = pb.dataDir;
    /** Resolves when the current server accepts connections (replaced while it restarts). */
    let up: Promise<PostbodeProcess> = Promise.resolve(pb);
    let running = true;
    let restarting = false;
    const acked: string[] = [];
    const unacked: string[] = [];
    /** Refusals while no restart was under way. */
    const unexpected: string[] = [];
    const client = async (n: number): Promise<void> => {
      let i = 0;
      while (running) {
        const server = await up;
        let c: LineClient;
        try {
          c = await LineClient.connect(server.ports.smtp);
        } catch (err) {
          // Refused: the server is going down; wait for the next one (`up` is replaced first).
          if (!restarting) throw err;
          continue;
        }
        try {
          const greeting = await c.reply(WAIT);
          if (!/^220 /.test(greeting)) {
            if (!restarting) unexpected.push(greeting);
            continue;
          }
          if (!/^250/.test(await c.cmd('EHLO load.test'))) continue;
          while (running) {
            const id = `c${n}-${i++}@load.test`;
            let ok = false;
            try {
              if (!/^250 /.test(await c.cmd('MAIL FROM:<bob@remote.test>'))) break;
              if (!/^250 /.test(await c.cmd(`RCPT TO:<${ALICE}>`))) break;
              if (!/^354 /.test(await c.cmd('DATA'))) break;
              c.write(`${message(id)}.\r\n`);
              ok = /^250 /.test(await c.reply(WAIT));
            } finally {
              (ok ? acked : unacked).push(id);
            }
            if (!ok) break;
          }
        } catch {
          // The connection ended under us: a message without its 250 counts as not acknowledged.
        } finally {
          c.close();
        }
      }
    };
    try {
      assert.equal(pb.cli(['user', 'add', ALICE, '--password', PASSWORD]).code, 0);
      const clients = Array.from({ length: 4 }, (_, n) => client(n));
      const ackedAtLeast = (count: number) =>
        eventually(`${count} messages acknowledged`, async () => (acked.length >= count ? true : undefined), WAIT);
      await ackedAtLeast(20);
      // Stop under load, then start again on the same data directory.
      let restarted: (p: PostbodeProcess) => void = () => {};
      restarting = true;
      up = new Promise((resolve) => {
        restarted = resolve;
      });
      const before = acked.length;
      await pb.stop();
      assert.equal(pb.child.exitCode, 0, 'exit code of a clean stop under load');
      pb = await startPostbode({ listeners, dataDir });
      restarted(pb);
      restarting = false;
      await ackedAtLeast(before + 20);
      running = false;
      await Promise.all(clients);

      assert.deepEqual(unexpected, []);
      const ids = await messageIds(pb);
      for (const id of acked) assert.equal(ids.get(id), 1, `acknowledged message ${id} stored once`);
      for (const id of unacked) assert.ok((ids.get(id) ?? 0) <= 1, `unacknowledged message ${id} at most once`);
      assert.equal(ids.size, acked.length + unacked.filter((id) => ids.has(id)).length);
      await pb.stop();
    } finally {
      running = false;
      if (pb.child.exitCode === null && pb.child.signalCode === null) await pb.kill9();
      removeDir(dataDir);
    }
  });
});
