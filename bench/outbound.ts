/**
 * `npm run bench -- --only outbound`: how fast a server relays mail to another server. The same load
 * (N messages over S parallel sessions) goes into postbode's submission port (AUTH PLAIN) and into the
 * reference Postfix (port 2525, relaying allowed from loopback for the run); both must hand every message
 * to the same receiver, a small SMTP sink in this file that answers at once and counts. The figure is
 * messages per second from the first submission until the sink has the last message.
 *
 * Postfix is reconfigured only for the run (`relayhost` pointing at the sink, `mynetworks` loopback,
 * `postconf -c <refstack>/etc/postfix`) and restored afterwards from a copy of main.cf.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BenchOptions } from './options.js';
import { type Figure, note, printFigure } from './report.js';
import { buildMessage, SmtpClient } from './smtp.js';
import { REPO_ROOT, refstackSetting } from './targets.js';

/** An SMTP receiver that accepts everything (PIPELINING, 8BITMIME) and counts the messages it got. */
export class Sink {
  received = 0;
  lastAt = 0;
  readonly #server: net.Server;
  readonly #waiters: { count: number; resolve: () => void }[] = [];

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(): Promise<Sink> {
    const sink: Sink = new Sink(net.createServer((socket) => sink.#session(socket)));
    await new Promise<void>((resolve) => sink.#server.listen(0, '127.0.0.1', resolve));
    return sink;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  #session(socket: net.Socket): void {
    socket.on('error', () => {});
    socket.write('220 sink.bench ESMTP\r\n');
    let buf = '';
    let inData = false;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const out: string[] = [];
      for (;;) {
        if (inData) {
          const end = buf.startsWith('.\r\n') ? 0 : buf.indexOf('\r\n.\r\n');
          if (end < 0) {
            buf = buf.slice(Math.max(0, buf.length - 4)); // keep a possible partial terminator
            break;
          }
          buf = buf.slice(end === 0 ? 3 : end + 5);
          inData = false;
          this.#got();
          out.push('250 2.0.0 ok');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) break;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') out.push('250-sink.bench', '250-PIPELINING', '250-8BITMIME', '250 SIZE 100000000');
        else if (verb === 'DATA') {
          out.push('354 go ahead');
          inData = true;
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
          return;
        } else out.push('250 ok');
      }
      if (out.length > 0) socket.write(`${out.join('\r\n')}\r\n`);
    });
  }

  #got(): void {
    this.received++;
    this.lastAt = performance.now();
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.received >= this.#waiters[i].count) this.#waiters.splice(i, 1)[0].resolve();
    }
  }

  /** Resolves when `count` messages have arrived; rejects after `ms`. */
  waitFor(count: number, ms: number): Promise<void> {
    if (this.received >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the sink got ${this.received} of ${count} messages in ${ms / 1000} s`)),
        ms,
      );
      this.#waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

interface Load {
  host: string;
  port: number;
  /** AUTH PLAIN user and password, or null for an unauthenticated (trusted network) session. */
  auth: { user: string; pass: string } | null;
  from: string;
  to: string;
  messages: number;
  sessions: number;
  size: number;
}

/** Submits the load; resolves with the time the first session started. */
async function submit(load: Load): Promise<number> {
  const started = performance.now();
  let next = 0;
  const runId = Date.now().toString(36);
  const session = async (): Promise<void> => {
    const c = await SmtpClient.open(load.host, load.port, 'bench.client');
    try {
      if (load.auth) {
        const token = Buffer.from(`\0${load.auth.user}\0${load.auth.pass}`).toString('base64');
        const r = await c.command(`AUTH PLAIN ${token}`);
        if (r.code !== 235) throw new Error(`AUTH: ${r.text}`);
      }
      while (next < load.messages) {
        const i = next++;
        const payload = buildMessage({
          size: load.size,
          from: load.from,
          to: load.to,
          id: `${runId}.${i}@bench`,
          subject: `outbound ${i}`,
        });
        const r = await c.send(load.from, [load.to], payload);
        if (r.code !== 250) throw new Error(`message ${i}: ${r.text}`);
      }
      await c.command('QUIT').catch(() => undefined);
    } finally {
      c.conn.destroy();
    }
  };
  await Promise.all(Array.from({ length: load.sessions }, session));
  return started;
}

function figure(server: string, side: Figure['side'], value: number, detail: string): Figure {
  return {
    area: 'smtp',
    key: 'outbound.relayed',
    side,
    server,
    label: 'outbound relayed',
    value,
    unit: 'msg/s',
    detail,
    higherIsBetter: true,
  };
}

async function measure(name: string, side: Figure['side'], sink: Sink, load: Load): Promise<Figure> {
  const base = sink.received;
  const started = await submit(load);
  const accepted = performance.now();
  await sink.waitFor(base + load.messages, 300_000);
  const seconds = (sink.lastAt - started) / 1000;
  const f = figure(
    name,
    side,
    load.messages / seconds,
    `${load.messages} msgs of ${load.size} B over ${load.sessions} sessions; all accepted after ${((accepted - started) / 1000).toFixed(2)} s, last at the sink after ${seconds.toFixed(2)} s`,
  );
  printFigure(f);
  return f;
}

async function postbodeRun(opts: BenchOptions, sink: Sink): Promise<Figure> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'postbode-bench-outbound-'));
  const bin = path.join(REPO_ROOT, 'bin', 'postbode.js');
  const user = `${opts.user}@${opts.domain}`;
  // Bench accounts share the reference stack's password ("bench"), shorter than auth.min_password_length.
  const cliConfig = path.join(dir, 'bench-cli.toml');
  writeFileSync(cliConfig, '[auth]\nmin_password_length = 1\n');
  const add = spawnSync(
    process.execPath,
    [bin, 'user', 'add', user, '--password', opts.password, '--data-dir', dir, '--config', cliConfig],
    { encoding: 'utf8' },
  );
  if (add.status !== 0) throw new Error(`postbode user add failed: ${(add.stderr || add.stdout).trim()}`);
  const args = [bin, 'serve', '--data-dir', dir, '--hostname', 'mx.bench.test', '--domain', opts.domain];
  for (const name of ['smtp', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps', 'managesieve', 'http'])
    args.push('--listen', `${name}=off`);
  args.push('--listen', 'submission=127.0.0.1:0', '--set', `delivery.transport={"sink.test":"127.0.0.1:${sink.port}"}`);
  args.push('--set', 'log.level=warn');
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('postbode did not start in 15 s')), 15_000);
      const poll = setInterval(() => {
        const r = spawnSync(process.execPath, [bin, 'status', '--data-dir', dir], { encoding: 'utf8' });
        const m = /submission\s+127\.0\.0\.1:(\d+)/.exec(r.stdout);
        if (m) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve(Number(m[1]));
        }
      }, 200);
      child.once('exit', (code) => {
        clearTimeout(timer);
        clearInterval(poll);
        reject(new Error(`postbode exited with ${code}`));
      });
    });
    return await measure('postbode', 'postbode', sink, {
      host: '127.0.0.1',
      port,
      auth: { user, pass: opts.password },
      from: user,
      to: 'sink@sink.test',
      messages: opts.outboundMessages,
      sessions: opts.outboundSessions,
      size: opts.outboundSize,
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function postfixRun(opts: BenchOptions, sink: Sink): Promise<Figure> {
  const refstackDir = opts.refstackDir ?? refstackSetting(opts.refstackHome, 'REFSTACK_DIR');
  const conf = path.join(refstackDir, 'etc', 'postfix');
  const mainCf = path.join(conf, 'main.cf');
  if (!existsSync(mainCf)) {
    const up = spawnSync('bash', [path.join(opts.refstackHome, 'up')], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (up.status !== 0) throw new Error(`refstack/up failed (exit ${up.status})`);
  }
  const postfix = (...args: string[]) => {
    const r = spawnSync(args[0], ['-c', conf, ...args.slice(1)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  };
  const saved = `${mainCf}.bench-outbound`;
  copyFileSync(mainCf, saved);
  try {
    // Relay everything not local to the sink, for loopback clients only; no TLS towards the sink.
    postfix(
      'postconf',
      '-e',
      `relayhost = [127.0.0.1]:${sink.port}`,
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
      'default_transport = smtp',
      'relay_transport = smtp',
      'smtp_tls_security_level = none',
      'default_destination_concurrency_limit = 20',
    );
    postfix('postfix', 'reload');
    await new Promise((r) => setTimeout(r, 1500));
    return await measure('postfix', 'peer', sink, {
      host: '127.0.0.1',
      port: 2525,
      auth: null,
      from: `${opts.user}@${opts.domain}`,
      to: 'sink@sink.test',
      messages: opts.outboundMessages,
      sessions: opts.outboundSessions,
      size: opts.outboundSize,
    });
  } finally {
    copyFileSync(saved, mainCf);
    rmSync(saved, { force: true });
    spawnSync('postfix', ['-c', conf, 'reload']);
  }
}

/** The outbound part: postbode, and with --compare or --against postfix the reference Postfix. */
export async function outboundBench(opts: BenchOptions): Promise<Figure[]> {
  note(
    `# outbound: ${opts.outboundMessages} msgs of ${opts.outboundSize} B over ${opts.outboundSessions} sessions, relayed to a sink on loopback`,
  );
  const sink = await Sink.start();
  const figures: Figure[] = [];
  try {
    if (opts.against !== 'postfix') figures.push(await postbodeRun(opts, sink));
    if (opts.compare || opts.against === 'postfix') figures.push(await postfixRun(opts, sink));
  } finally {
    await sink.close();
  }
  return figures;
}
