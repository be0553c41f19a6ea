/**
 * The soak (`npm run soak`, issue 10 item 7): a real postbode process (the built dist/, web lab on) on
 * ephemeral loopback ports, held for `--minutes N` (default 30, or SOAK_MINUTES) under
 *
 * - 2,000 IMAP connections logged in, INBOX selected and in IDLE (raw sockets, one small object each),
 *   spread over a few accounts, each re-issuing IDLE now and then as real clients do;
 * - continuous delivery over SMTP port 25 (20 messages/s of 4–64 KB, round robin over the accounts);
 * - FETCH load: a few clients looping `FETCH 1:* (BODY.PEEK[])` and SEARCHes over their INBOX;
 * - a janitor per account that expunges the oldest messages beyond `--keep`, so the mailboxes (and
 *   with them what each IDLE session legitimately holds) stay the same size: the run is a steady state;
 * - attackers, each in a loop: 1 MB of `EHLO x` never read, a COMPRESS=DEFLATE bomb from a logged-in
 *   IMAP user, an unfinished 8 MB DATA, a password guesser (IMAP and POP3, from its own loopback
 *   address so its penalty does not slow the legitimate logins), and a one-byte-per-second trickler.
 *
 * The server's RSS (/proc/<pid>/status) is sampled every `--sample-seconds` (10) and printed as a table.
 * At the end the run must "end flat": the median RSS of the last 20 % of the samples may exceed the
 * median of the samples at 20–40 % of the run by less than 10 % + 50 MiB; every IDLE session must still
 * be there, and a sample of them must have seen EXISTS recently, hold the mailbox's true message count
 * once delivery stopped, and answer DONE. PASS exits 0, FAIL exits 1.
 *
 * Linux only (/proc). The load generator and the server each need about `--idle` + 100 descriptors.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { errorText } from './conn.js';
import { ImapClient } from './imap.js';
import { buildMessage, SmtpClient } from './smtp.js';
import { REPO_ROOT } from './targets.js';

// ---------------------------------------------------------------------------------------------------
// options

interface SoakOptions {
  minutes: number;
  sampleSeconds: number;
  idle: number;
  users: number;
  rate: number;
  senders: number;
  fetchers: number;
  fetchPauseMs: number;
  keep: number;
  reidleMinutes: number;
  /** The web lab (listener http): on as shipped, or off for comparison (no recorder). */
  web: boolean;
  keepData: boolean;
}

const USAGE = `usage: node --import tsx bench/soak.ts [options]
  --minutes N          length of the run (default 30, or SOAK_MINUTES)
  --sample-seconds S   RSS sample interval (default 10)
  --idle N             IMAP connections held in IDLE (default 2000)
  --users N            accounts the IDLE, FETCH and delivery load is spread over (default 4)
  --rate R             messages delivered per second over SMTP (default 20)
  --senders N          SMTP connections delivering (default 4)
  --fetchers N         clients looping FETCH 1:* (BODY.PEEK[]) and SEARCH (default 3)
  --fetch-pause-ms MS  pause between a fetcher's rounds (default 500)
  --keep N             messages kept per INBOX; older ones are expunged (default 200)
  --reidle-minutes M   each IDLE session sends DONE and IDLE again this often (default 10)
  --web on|off         the web lab (default on; off: no session recorder, for comparison)
  --keep-data          leave the data directory and server log behind`;

function parseOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      'sample-seconds': { type: 'string' },
      idle: { type: 'string' },
      users: { type: 'string' },
      rate: { type: 'string' },
      senders: { type: 'string' },
      fetchers: { type: 'string' },
      'fetch-pause-ms': { type: 'string' },
      keep: { type: 'string' },
      'reidle-minutes': { type: 'string' },
      web: { type: 'string' },
      'keep-data': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (v: string | undefined, fallback: number, name: string, min: number): number => {
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number ≥ ${min}, got ${v}`);
    return n;
  };
  return {
    minutes: num(values.minutes ?? process.env.SOAK_MINUTES, 30, 'minutes', 0.1),
    sampleSeconds: num(values['sample-seconds'], 10, 'sample-seconds', 0.5),
    idle: Math.floor(num(values.idle, 2000, 'idle', 1)),
    users: Math.floor(num(values.users, 4, 'users', 1)),
    rate: num(values.rate, 20, 'rate', 0.1),
    senders: Math.floor(num(values.senders, 4, 'senders', 1)),
    fetchers: Math.floor(num(values.fetchers, 3, 'fetchers', 0)),
    fetchPauseMs: num(values['fetch-pause-ms'], 500, 'fetch-pause-ms', 0),
    keep: Math.floor(num(values.keep, 200, 'keep', 1)),
    reidleMinutes: num(values['reidle-minutes'], 10, 'reidle-minutes', 0.1),
    web: values.web !== 'off',
    keepData: values['keep-data'] ?? false,
  };
}

// ---------------------------------------------------------------------------------------------------
// small helpers

const HOST = '127.0.0.1';
/** The password guesser's source address: its penalty must not slow the legitimate logins. */
const GUESSER_ADDR = '127.0.0.2';
/** The other attackers' source address. */
const ATTACKER_ADDR = '127.0.0.3';
const DOMAIN = 'example.test';
const PASSWORD = 'soak-password-1';

let running = true;
let wakeStop: () => void = () => {};
const stopped = new Promise<void>((resolve) => {
  wakeStop = resolve;
});

/** Sleeps `ms`, or less when the run stops meanwhile. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void stopped.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function note(line: string): void {
  console.log(`# ${line}`);
}

/** Soft limit on open files of this process (children inherit it). */
function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

interface ProcStatus {
  rssMiB: number;
  /** Anonymous resident memory (heap, buffers), without mapped files. */
  anonMiB: number;
  peakMiB: number;
}

function procStatus(pid: number): ProcStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, anonMiB: kb('RssAnon') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** User + system CPU seconds of a process. */
function cpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function userAddress(i: number): string {
  return `soak${i}@${DOMAIN}`;
}

// ---------------------------------------------------------------------------------------------------
// the server

interface Server {
  child: ChildProcess;
  pid: number;
  ports: Record<string, number>;
  logFile: string;
  exited: string | null;
  stop(): Promise<void>;
}

function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.POSTBODE_CONFIG;
  delete env.NODE_OPTIONS; // tsx's loader: the server runs compiled code
  return env;
}

const BIN = path.join(REPO_ROOT, 'bin', 'postbode.js');

function addUser(dataDir: string, address: string): void {
  const r = spawnSync(process.execPath, [BIN, 'user', 'add', address, '--password', PASSWORD, '--data-dir', dataDir], {
    env: childEnv(),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`postbode user add ${address} failed: ${(r.stderr || r.stdout).trim()}`);
}

async function startServer(top: string, dataDir: string, web: boolean): Promise<Server> {
  const logFile = path.join(top, 'server.log');
  const out = openSync(logFile, 'a');
  const args = [BIN, 'serve', '--data-dir', dataDir, '--hostname', 'soak.example.test', '--domain', DOMAIN];
  for (const name of ['smtp', 'pop3', 'imap']) args.push('--listen', `${name}=${HOST}:0`);
  for (const name of ['submission', 'submissions', 'pop3s', 'imaps', 'managesieve'])
    args.push('--listen', `${name}=off`);
  args.push('--listen', web ? `http=${HOST}:0` : 'http=off');
  // One address (the load generator) holds thousands of connections; no outbound worker (all mail is local).
  args.push('--set', 'limits.connections_per_ip=100000', '--set', 'delivery.enabled=false');
  // Node flags for the server, e.g. SOAK_SERVER_NODE_FLAGS=--heapsnapshot-signal=SIGUSR2 to look inside.
  const nodeFlags = (process.env.SOAK_SERVER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, ...args], {
    cwd: top,
    env: childEnv(),
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const server: Server = {
    child,
    pid: child.pid ?? 0,
    ports: {},
    logFile,
    exited: null,
    async stop() {
      if (server.exited !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
  child.once('exit', (code, signal) => {
    server.exited = signal ?? String(code);
  });
  const tail = () => readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exited !== null) throw new Error(`postbode exited (${server.exited}) before it started:\n${tail()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`postbode did not start within 30 s:\n${tail()}`);
    }
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.includes('postbode started')) continue;
      try {
        const rec = JSON.parse(line) as { msg?: unknown; listeners?: unknown };
        if (rec.msg === 'postbode started' && Array.isArray(rec.listeners)) {
          for (const item of rec.listeners.map(String)) {
            const [name, addr] = item.split('=');
            server.ports[name] = Number(addr.slice(addr.lastIndexOf(':') + 1));
          }
          return server;
        }
      } catch {
        // not JSON
      }
    }
    await realSleep(50);
  }
}

// ---------------------------------------------------------------------------------------------------
// IDLE sessions: one socket and a few fields each, lines parsed as they come

type IdlerState = 'connecting' | 'setup' | 'idle' | 'reidle' | 'closed';

interface Pending {
  /** '' for the greeting, '+' for the IDLE continuation, else a tag. */
  want: string;
  resolve: (line: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

class Idler {
  state: IdlerState = 'connecting';
  /** Messages in the selected INBOX as announced (EXISTS sets it, EXPUNGE lowers it). */
  exists = 0;
  existsSeen = 0;
  lastExistsAt = 0;
  closedWhy = '';
  nextReidleAt = 0;
  #socket: net.Socket;
  #partial = '';
  #tag = 0;
  #idleTag = '';
  #pending: Pending | null = null;

  constructor(
    port: number,
    readonly user: string,
  ) {
    this.#socket = net.connect({ host: HOST, port });
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (err) => {
      this.closedWhy ||= err.message;
    });
    this.#socket.on('close', () => {
      if (this.state !== 'closed') this.closedWhy ||= 'closed by the server';
      this.state = 'closed';
      this.#fail(new Error(`connection closed: ${this.closedWhy}`));
    });
  }

  get alive(): boolean {
    return this.state === 'idle' || this.state === 'reidle';
  }

  #onData(chunk: Buffer): void {
    const text = this.#partial + chunk.toString('latin1');
    let from = 0;
    for (;;) {
      const i = text.indexOf('\r\n', from);
      if (i < 0) break;
      this.#onLine(text.slice(from, i));
      from = i + 2;
    }
    this.#partial = from === text.length ? '' : text.slice(from);
  }

  #onLine(line: string): void {
    if (line.startsWith('* ')) {
      const m = /^\* (\d+) (EXISTS|EXPUNGE)\b/i.exec(line);
      if (m) {
        if (m[2].toUpperCase() === 'EXISTS') {
          this.exists = Number(m[1]);
          this.existsSeen++;
          this.lastExistsAt = Date.now();
        } else {
          this.exists--;
        }
      } else if (/^\* BYE\b/i.test(line) && this.state !== 'setup') {
        this.closedWhy = line.slice(0, 120);
      }
      if (this.#pending?.want === '' && /^\* OK\b/i.test(line)) this.#settle(line);
      return;
    }
    if (line.startsWith('+')) {
      if (this.#pending?.want === '+') this.#settle(line);
      return;
    }
    const sp = line.indexOf(' ');
    if (this.#pending && sp > 0 && line.slice(0, sp) === this.#pending.want) {
      if (/^\S+ OK\b/i.test(line)) this.#settle(line);
      else this.#fail(new Error(line.slice(0, 120)));
    }
  }

  #settle(line: string): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    clearTimeout(p.timer);
    p.resolve(line);
  }

  #fail(err: Error): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    clearTimeout(p.timer);
    p.reject(err);
  }

  #expect(want: string, timeoutMs: number): Promise<string> {
    if (this.state === 'closed') return Promise.reject(new Error(`connection closed: ${this.closedWhy}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      this.#pending = { want, resolve, reject, timer };
    });
  }

  #command(line: string, timeoutMs: number): Promise<string> {
    const tag = `t${++this.#tag}`;
    const answer = this.#expect(tag, timeoutMs);
    this.#socket.write(`${tag} ${line}\r\n`);
    return answer;
  }

  async #idle(timeoutMs: number): Promise<void> {
    this.#idleTag = `t${++this.#tag}`;
    const answer = this.#expect('+', timeoutMs);
    this.#socket.write(`${this.#idleTag} IDLE\r\n`);
    await answer;
  }

  /** Greeting, LOGIN, SELECT INBOX, IDLE. */
  async open(timeoutMs: number): Promise<void> {
    try {
      this.state = 'setup';
      await this.#expect('', timeoutMs);
      await this.#command(`LOGIN "${this.user}" "${PASSWORD}"`, timeoutMs);
      await this.#command('SELECT INBOX', timeoutMs);
      await this.#idle(timeoutMs);
      this.state = 'idle';
    } catch (err) {
      this.destroy(errorText(err));
      throw err;
    }
  }

  /** Ends IDLE with DONE; resolves with the tagged OK. */
  done(timeoutMs: number): Promise<string> {
    const answer = this.#expect(this.#idleTag, timeoutMs);
    this.#socket.write('DONE\r\n');
    return answer;
  }

  /** DONE, then IDLE again (what clients do every few minutes, RFC 2177's 29-minute advice). */
  async reidle(timeoutMs: number): Promise<void> {
    this.state = 'reidle';
    try {
      await this.done(timeoutMs);
      await this.#idle(timeoutMs);
      if (this.state === 'reidle') this.state = 'idle';
    } catch (err) {
      this.destroy(`re-IDLE: ${errorText(err)}`);
    }
  }

  destroy(why: string): void {
    if (this.state !== 'closed') this.closedWhy ||= why;
    this.state = 'closed';
    this.#socket.destroy();
  }

  /** Closed by us at the end of the run: not a failure. */
  close(): void {
    this.state = 'closed';
    this.#socket.destroy();
  }
}

async function openIdlers(port: number, opts: SoakOptions): Promise<{ idlers: Idler[]; failed: Map<string, number> }> {
  const idlers: Idler[] = [];
  const failed = new Map<string, number>();
  let next = 0;
  await Promise.all(
    // The login limiter lets at most 64 attempts from one address wait at once (more are refused): 32 in flight.
    Array.from({ length: Math.min(32, opts.idle) }, async () => {
      while (next < opts.idle) {
        const i = next++;
        const idler = new Idler(port, userAddress(i % opts.users));
        try {
          await idler.open(30_000);
          idlers.push(idler);
        } catch (err) {
          const key = errorText(err).replace(/\d+/g, 'N').slice(0, 100);
          failed.set(key, (failed.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  return { idlers, failed };
}

// ---------------------------------------------------------------------------------------------------
// counters

const stats = {
  delivered: 0,
  deliveryErrors: 0,
  deliveryErrorTexts: new Map<string, number>(),
  fetchRounds: 0,
  fetchedMessages: 0,
  fetchedBytes: 0,
  /** FETCH rounds answered OK [EXPUNGEISSUED]: the janitor expunged between NOOP and FETCH (RFC 5530). */
  expungeIssued: 0,
  searches: 0,
  imapLoadErrors: 0,
  imapLoadErrorTexts: new Map<string, number>(),
  expunged: 0,
  reidles: 0,
  attackCycles: new Map<string, number>(),
  attackNotes: new Map<string, number>(),
};

function countError(map: Map<string, number>, err: unknown): void {
  const key = errorText(err).replace(/\d+/g, 'N').slice(0, 100);
  if (map.size < 20 || map.has(key)) map.set(key, (map.get(key) ?? 0) + 1);
}

function attackCycles(): number {
  let n = 0;
  for (const v of stats.attackCycles.values()) n += v;
  return n;
}

function cycleDone(name: string): void {
  stats.attackCycles.set(name, (stats.attackCycles.get(name) ?? 0) + 1);
}

function attackNote(text: string): void {
  stats.attackNotes.set(text, (stats.attackNotes.get(text) ?? 0) + 1);
}

// ---------------------------------------------------------------------------------------------------
// legitimate load

/** SMTP on port 25 at `rate` messages/s in all: message k is due at t0 + k / rate. */
async function deliveryLoop(port: number, opts: SoakOptions, schedule: { t0: number; next: number }): Promise<void> {
  let client: SmtpClient | null = null;
  let sent = 0;
  while (running) {
    const k = schedule.next++;
    const wait = schedule.t0 + (k * 1000) / opts.rate - performance.now();
    if (wait > 0) await sleep(wait);
    if (!running) break;
    try {
      if (!client || client.conn.closed) {
        client = await SmtpClient.open(HOST, port, 'sender.remote.test');
        sent = 0;
      }
      const to = userAddress(k % opts.users);
      const size = 4096 + Math.floor(Math.random() * (65536 - 4096));
      const subject = k % 10 === 0 ? `soak ${k} needle` : `soak ${k}`;
      const payload = buildMessage({ size, from: 'sender@remote.test', to, id: `soak-${k}@remote.test`, subject });
      const reply = await client.send('sender@remote.test', [to], payload);
      if (reply.code === 250) stats.delivered++;
      else {
        stats.deliveryErrors++;
        countError(stats.deliveryErrorTexts, reply.text);
      }
      // New sessions now and then: the web lab's session history and the per-session state churn too.
      if (++sent >= 100) {
        await client.quit();
        client = null;
      }
    } catch (err) {
      stats.deliveryErrors++;
      countError(stats.deliveryErrorTexts, err);
      client?.conn.destroy();
      client = null;
      await sleep(1000);
    }
  }
  if (client) await client.quit();
}

async function imapSession(port: number, user: string): Promise<ImapClient> {
  const c = await ImapClient.open(HOST, port);
  try {
    await c.login(user, PASSWORD);
    await c.select('INBOX');
  } catch (err) {
    c.conn.destroy();
    throw err;
  }
  return c;
}

const SEARCHES = ['SUBJECT needle', 'LARGER 40000', 'TEXT "ipsum"', 'UNSEEN'];

async function fetchLoop(port: number, user: string, pauseMs: number): Promise<void> {
  let client: ImapClient | null = null;
  let round = 0;
  // `FETCH 1:*` on an empty INBOX is an error (and too many errors end the session): wait for mail.
  while (running && stats.delivered < 40) await sleep(500);
  while (running) {
    try {
      client ??= await imapSession(port, user);
      // NOOP first: the session learns of the janitor's expunges (else 1:* names expunged messages).
      await client.command('NOOP', { collect: false });
      const r = await client.command('FETCH 1:* (BODY.PEEK[])', { collect: false, keepLiterals: false });
      // RFC 5530 §3: the others are answered and the tagged OK says some were expunged meanwhile.
      if (r.text.startsWith('[EXPUNGEISSUED]')) stats.expungeIssued++;
      stats.fetchRounds++;
      stats.fetchedMessages += r.literalCount;
      stats.fetchedBytes += r.literalBytes;
      await client.search(SEARCHES[round++ % SEARCHES.length]);
      stats.searches++;
    } catch (err) {
      stats.imapLoadErrors++;
      countError(stats.imapLoadErrorTexts, err);
      if (client?.conn.closed) client = null;
    }
    await sleep(pauseMs);
  }
  if (client) await client.logout();
}

/** Keeps the account's INBOX at `keep` messages: the oldest are flagged \Deleted and expunged. */
async function janitorLoop(port: number, user: string, keep: number): Promise<void> {
  let client: ImapClient | null = null;
  while (running) {
    await sleep(5000);
    if (!running) break;
    try {
      client ??= await imapSession(port, user);
      const uids = await client.search('ALL', true);
      if (uids.length > keep) {
        const cut = uids.length - keep;
        await client.command(`UID STORE ${uids[0]}:${uids[cut - 1]} +FLAGS.SILENT (\\Deleted)`, { collect: false });
        await client.command('EXPUNGE', { collect: false });
        stats.expunged += cut;
      }
    } catch (err) {
      stats.imapLoadErrors++;
      countError(stats.imapLoadErrorTexts, err);
      if (client?.conn.closed) client = null;
    }
  }
  if (client) await client.logout();
}

// ---------------------------------------------------------------------------------------------------
// attackers

/** A raw socket whose input is collected as text; waits for a pattern or the close. */
class RawConn {
  text = '';
  closed = false;
  readonly socket: net.Socket;
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      if (this.text.length > 65536) this.text = this.text.slice(-4096);
      this.#wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static connect(port: number, localAddress: string): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: HOST, port, localAddress });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('connect timed out'));
      }, 10_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new RawConn(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `re` matches the text received since `from` (returns the match) or null on close/timeout/stop. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text.slice(from));
      if (m) return m;
      const left = deadline - performance.now();
      if (this.closed || left <= 0 || !running) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1000));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.push(done);
      });
    }
  }

  /** Never reads again: replies pile up on the server's side unless it applies backpressure. */
  stopReading(): void {
    this.socket.pause();
  }

  /** Resolves once everything written was taken, the server stopped taking it for `stallMs`, or `maxMs` passed. */
  async drainOrStall(stallMs: number, maxMs: number): Promise<string> {
    const start = performance.now();
    let last = this.socket.writableLength;
    let still = 0;
    while (running && performance.now() - start < maxMs) {
      if (this.socket.destroyed || this.closed) return 'closed by the server';
      if (this.socket.writableLength === 0) return 'all written (taken by the server or the socket buffers)';
      await sleep(100);
      if (this.socket.writableLength === last) still += 100;
      else still = 0;
      last = this.socket.writableLength;
      if (still >= stallMs) return 'stalled (the server stopped reading)';
    }
    return 'stalled (the server stopped reading)';
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const live = new Set<RawConn>();

async function attackLoop(name: string, attack: () => Promise<void>, pauseMs = 2000): Promise<void> {
  while (running) {
    try {
      await attack();
      if (running) cycleDone(name);
    } catch (err) {
      if (running) attackNote(`${name}: ${errorText(err).replace(/\d+/g, 'N').slice(0, 80)}`);
    }
    await sleep(pauseMs);
  }
}

async function withConn<T>(port: number, localAddress: string, use: (c: RawConn) => Promise<T>): Promise<T> {
  const c = await RawConn.connect(port, localAddress);
  live.add(c);
  try {
    return await use(c);
  } finally {
    c.destroy();
    live.delete(c);
  }
}

/** 1 MB of `EHLO x` lines, replies never read. */
function ehloFlood(port: number): Promise<void> {
  const payload = Buffer.from('EHLO x\r\n'.repeat((1 << 20) / 8));
  return withConn(port, ATTACKER_ADDR, async (c) => {
    c.stopReading();
    c.socket.write(payload);
    attackNote(`ehlo-flood: ${await c.drainOrStall(2000, 20_000)}`);
    await sleep(5000); // hold the connection with its unread replies a while
  });
}

/** About 150 KB of raw deflate that inflates to ~150 MB of `n NOOP` lines (built once, in chunks). */
async function buildBomb(): Promise<Buffer> {
  const deflate = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  let size = 0;
  deflate.on('data', (d: Buffer) => {
    out.push(d);
    size += d.length;
  });
  const flush = () => new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
  const chunk = Buffer.from('n NOOP\r\n'.repeat(8192));
  for (let i = 0; i < 4000 && size < 150_000; i++) {
    if (!deflate.write(chunk)) await once(deflate, 'drain');
    if (i % 64 === 63) await flush();
  }
  await flush();
  deflate.close();
  return Buffer.concat(out);
}

/** A logged-in IMAP user turns on COMPRESS=DEFLATE and sends the bomb, never reading the replies. */
function deflateBomb(port: number, user: string, bomb: Buffer): Promise<void> {
  return withConn(port, ATTACKER_ADDR, async (c) => {
    if (!(await c.waitFor(/^\* OK/m, 10_000))) throw new Error('no greeting');
    c.socket.write(`a LOGIN "${user}" "${PASSWORD}"\r\nb COMPRESS DEFLATE\r\n`);
    const ok = await c.waitFor(/^b (OK|NO|BAD)/m, 10_000);
    if (ok?.[1] !== 'OK') throw new Error(`COMPRESS: ${ok?.[0] ?? 'no answer'}`);
    c.stopReading();
    c.socket.write(bomb);
    attackNote(`deflate-bomb: ${await c.drainOrStall(2000, 20_000)}`);
    await sleep(5000); // hold the connection while the server works through what it read
  });
}

/** DATA with 8 MB of body that never ends (no final dot); the connection is dropped afterwards. */
function unfinishedData(port: number, rcpt: string): Promise<void> {
  const line = `${'D'.repeat(998)}\r\n`;
  const body = Buffer.from(line.repeat(Math.ceil((8 << 20) / line.length)));
  return withConn(port, ATTACKER_ADDR, async (c) => {
    if (!(await c.waitFor(/^220 /m, 10_000))) throw new Error('no greeting');
    c.socket.write(`EHLO big.example\r\nMAIL FROM:<big@remote.test>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
    if (!(await c.waitFor(/^354 /m, 10_000))) throw new Error(`DATA not accepted: ${c.text.slice(-200)}`);
    c.socket.write('Subject: never ends\r\n\r\n');
    c.socket.write(body);
    attackNote(`unfinished-data: ${await c.drainOrStall(5000, 60_000)}`);
    await sleep(2000); // hold the unfinished body a moment before hanging up
  });
}

/** Wrong passwords for an account nobody uses, on IMAP then POP3, from the guesser's own address. */
async function guesser(imapPort: number, pop3Port: number, round: { n: number }): Promise<void> {
  const victim = `victim@${DOMAIN}`;
  const imap = round.n++ % 2 === 0;
  await withConn(imap ? imapPort : pop3Port, GUESSER_ADDR, async (c) => {
    if (!(await c.waitFor(imap ? /^\* OK/m : /^\+OK/m, 10_000))) throw new Error('no greeting');
    // The server hangs up after a few failures per connection; each attempt may wait for the penalty.
    for (let i = 0; running && !c.closed && i < 5; i++) {
      const from = c.text.length;
      if (imap) c.socket.write(`g${i} LOGIN "${victim}" "wrong-${Date.now()}-${i}"\r\n`);
      else c.socket.write(`USER ${victim}\r\nPASS wrong-${Date.now()}-${i}\r\n`);
      const answer = await c.waitFor(
        imap ? new RegExp(`^g${i} (OK|NO|BAD)`, 'm') : /^(\+OK|-ERR).*\r\n(\+OK|-ERR)/m,
        60_000,
        from,
      );
      if (answer && /OK/.test(imap ? answer[1] : answer[2])) attackNote('guesser: a wrong password was accepted');
      if (!answer) break;
    }
  });
}

/** One byte per second until the server cuts the connection off: a command line, or inside DATA. */
async function trickler(port: number, rcpt: string, round: { n: number }): Promise<void> {
  const inData = round.n++ % 2 === 1;
  await withConn(port, ATTACKER_ADDR, async (c) => {
    if (!(await c.waitFor(/^220 /m, 10_000))) throw new Error('no greeting');
    if (inData) {
      c.socket.write(`EHLO slow.example\r\nMAIL FROM:<slow@remote.test>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
      if (!(await c.waitFor(/^354 /m, 10_000))) throw new Error('DATA not accepted');
    }
    const text = inData ? `Subject: slow\r\n\r\n${'y'.repeat(100_000)}` : `EHLO ${'x'.repeat(100_000)}`;
    for (let i = 0; running && !c.closed && i < text.length; i++) {
      c.socket.write(text[i]);
      await sleep(1000);
    }
    if (running && !c.closed) attackNote('trickler: never cut off');
    if (c.closed) attackNote(`trickler (${inData ? 'DATA' : 'command'}): cut off by the server`);
  });
}

// ---------------------------------------------------------------------------------------------------
// the run

interface Sample {
  t: number;
  rssMiB: number;
  anonMiB: number;
  peakMiB: number;
  /** JavaScript heap in use and ArrayBuffers (Buffers) of the server, from its status (NaN if it did not answer). */
  heapMiB: number;
  buffersMiB: number;
  delivered: number;
  fetches: number;
  searches: number;
  idleAlive: number;
  attacks: number;
  cpuPercent: number;
}

function fmtElapsed(s: number): string {
  const m = Math.floor(s / 60);
  return `${String(m).padStart(3)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

const HEADER = [
  'elapsed',
  'RSS MiB',
  'anon MiB',
  'heap MiB',
  'buf MiB',
  'delivered',
  'msg/s',
  'fetches',
  'searches',
  'IDLE alive',
  'attacks',
  'CPU %',
];
const WIDTHS = [7, 8, 9, 9, 8, 10, 6, 8, 9, 11, 8, 6];

/** The server's memory as `postbode status` reports it (over the control socket), in MiB. */
async function serverMemory(dataDir: string): Promise<{ heapMiB: number; buffersMiB: number }> {
  const none = { heapMiB: Number.NaN, buffersMiB: Number.NaN };
  try {
    const socket = net.connect(path.join(dataDir, 'control.sock'));
    socket.on('error', () => {});
    socket.setTimeout(5000, () => socket.destroy());
    // Written, not ended: the server's side would close on our end of input before it answered.
    socket.write('{"cmd":"status"}\n');
    let text = '';
    for await (const chunk of socket) text += String(chunk);
    const m = (JSON.parse(text) as { memory?: { heapUsed: number; arrayBuffers: number } }).memory;
    return m ? { heapMiB: m.heapUsed / 2 ** 20, buffersMiB: m.arrayBuffers / 2 ** 20 } : none;
  } catch {
    return none;
  }
}

function row(cells: string[]): string {
  return cells.map((c, i) => c.padStart(WIDTHS[i])).join('  ');
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (process.platform !== 'linux') throw new Error('the soak reads /proc: Linux only');
  const needFds = opts.idle + 200;
  const limit = openFileLimit();
  if (limit < needFds) {
    throw new Error(
      `open-file limit ${limit} is too low for ${opts.idle} IDLE connections: raise it (ulimit -n ${needFds * 2}) and rerun`,
    );
  }

  const top = mkdtempSync(path.join(os.tmpdir(), 'postbode-soak-'));
  const dataDir = path.join(top, 'data');
  note(
    `soak: ${opts.minutes} min, ${opts.idle} IDLE over ${opts.users} accounts, ${opts.rate} msg/s of 4–64 KB, ` +
      `${opts.fetchers} fetchers, INBOX kept at ${opts.keep}, RSS every ${opts.sampleSeconds} s`,
  );
  const users = Array.from({ length: opts.users }, (_, i) => userAddress(i));
  for (const u of [...users, `victim@${DOMAIN}`]) addUser(dataDir, u);
  const bomb = await buildBomb();

  const server = await startServer(top, dataDir, opts.web);
  startedServer = server;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await server.stop();
    if (!opts.keepData) rmSync(top, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    void cleanup().then(() => process.exit(130));
  });

  const { ports, pid } = server;
  const atStart = procStatus(pid);
  note(
    `postbode pid ${pid}: smtp ${ports.smtp}, pop3 ${ports.pop3}, imap ${ports.imap}, ` +
      `${opts.web ? `http ${ports.http} (web lab on)` : 'web lab off'}; RSS at start ${atStart?.rssMiB.toFixed(0)} MiB`,
  );

  const t0open = performance.now();
  const { idlers, failed } = await openIdlers(ports.imap, opts);
  note(
    `${idlers.length} of ${opts.idle} IDLE sessions open in ${((performance.now() - t0open) / 1000).toFixed(1)} s; ` +
      `RSS ${procStatus(pid)?.rssMiB.toFixed(0)} MiB`,
  );
  for (const [why, n] of failed) note(`  ${n} failed to open: ${why}`);

  // Loads.
  const runMs = opts.minutes * 60_000;
  const t0 = performance.now();
  const schedule = { t0, next: 0 };
  const reidleMs = opts.reidleMinutes * 60_000;
  for (const idler of idlers) idler.nextReidleAt = t0 + Math.random() * reidleMs;
  const loops: Promise<void>[] = [];
  for (let i = 0; i < opts.senders; i++) loops.push(deliveryLoop(ports.smtp, opts, schedule));
  for (let i = 0; i < opts.fetchers; i++) loops.push(fetchLoop(ports.imap, users[i % users.length], opts.fetchPauseMs));
  for (const u of users) loops.push(janitorLoop(ports.imap, u, opts.keep));
  const guessRound = { n: 0 };
  const trickleRound = { n: 0 };
  loops.push(
    attackLoop('ehlo-flood', () => ehloFlood(ports.smtp)),
    attackLoop('deflate-bomb', () => deflateBomb(ports.imap, users[0], bomb)),
    attackLoop('unfinished-data', () => unfinishedData(ports.smtp, users[0])),
    attackLoop('guesser', () => guesser(ports.imap, ports.pop3, guessRound), 500),
    attackLoop('trickler', () => trickler(ports.smtp, users[1 % users.length], trickleRound), 1000),
  );
  const reidler = setInterval(() => {
    const now = performance.now();
    for (const idler of idlers) {
      if (idler.state !== 'idle' || idler.nextReidleAt > now) continue;
      idler.nextReidleAt = now + reidleMs;
      stats.reidles++;
      void idler.reidle(30_000);
    }
  }, 1000);

  // Samples.
  const samples: Sample[] = [];
  console.log(row(HEADER));
  let lastCpu = cpuSeconds(pid);
  let lastT = performance.now();
  let lastDelivered = 0;
  const takeSample = async () => {
    const mem = await serverMemory(dataDir);
    const now = performance.now();
    const st = procStatus(pid);
    const cpu = cpuSeconds(pid);
    const s: Sample = {
      t: (now - t0) / 1000,
      rssMiB: st?.rssMiB ?? Number.NaN,
      anonMiB: st?.anonMiB ?? Number.NaN,
      peakMiB: st?.peakMiB ?? Number.NaN,
      ...mem,
      delivered: stats.delivered,
      fetches: stats.fetchRounds,
      searches: stats.searches,
      idleAlive: idlers.filter((i) => i.alive).length,
      attacks: attackCycles(),
      cpuPercent: ((cpu - lastCpu) / ((now - lastT) / 1000)) * 100,
    };
    const rate = (s.delivered - lastDelivered) / ((now - lastT) / 1000);
    lastCpu = cpu;
    lastT = now;
    lastDelivered = s.delivered;
    samples.push(s);
    console.log(
      row([
        fmtElapsed(s.t),
        s.rssMiB.toFixed(0),
        s.anonMiB.toFixed(0),
        s.heapMiB.toFixed(0),
        s.buffersMiB.toFixed(0),
        String(s.delivered),
        rate.toFixed(1),
        String(s.fetches),
        String(s.searches),
        String(s.idleAlive),
        String(s.attacks),
        s.cpuPercent.toFixed(0),
      ]),
    );
  };
  const sampler = setInterval(() => void takeSample(), opts.sampleSeconds * 1000);
  await new Promise<void>((resolve) => {
    const end = setTimeout(resolve, runMs);
    server.child.once('exit', () => {
      clearTimeout(end);
      resolve();
    });
  });
  clearInterval(sampler);
  if (server.exited === null) await takeSample();
  const stopAt = Date.now();

  // Stop the load, let the announcements settle, then check the IDLE sessions.
  running = false;
  wakeStop();
  clearInterval(reidler);
  for (const c of live) c.destroy();
  await Promise.race([Promise.allSettled(loops), realSleep(30_000)]);
  for (let i = 0; i < 300 && idlers.some((x) => x.state === 'reidle'); i++) await realSleep(100);
  await realSleep(3000);

  const failures: string[] = [];
  if (server.exited !== null) failures.push(`the server exited (${server.exited})`);
  const alive = idlers.filter((i) => i.alive);
  if (idlers.length < opts.idle) failures.push(`only ${idlers.length} of ${opts.idle} IDLE sessions could be opened`);
  if (alive.length < idlers.length) {
    const why = new Map<string, number>();
    for (const i of idlers) if (!i.alive) why.set(i.closedWhy, (why.get(i.closedWhy) ?? 0) + 1);
    failures.push(
      `${idlers.length - alive.length} IDLE sessions were lost: ${[...why].map(([w, n]) => `${n}× ${w}`).join('; ')}`,
    );
  }

  // Spot check: a sample of IDLE sessions saw EXISTS recently, holds the true message count, answers DONE.
  const spot = [...alive].sort(() => Math.random() - 0.5).slice(0, 20);
  const recentMs = Math.max(30_000, ((20 * opts.users) / opts.rate) * 1000);
  let spotOk = 0;
  if (server.exited === null && spot.length > 0) {
    const counts = new Map<string, number>();
    for (const u of new Set(spot.map((i) => i.user))) {
      try {
        const c = await imapSession(ports.imap, u);
        const r = await c.command('STATUS INBOX (MESSAGES)');
        counts.set(u, Number(/MESSAGES (\d+)/i.exec(r.untagged.map((x) => x.text).join(' '))?.[1] ?? -1));
        await c.logout();
      } catch (err) {
        failures.push(`STATUS for ${u}: ${errorText(err)}`);
      }
    }
    const problems: string[] = [];
    await Promise.all(
      spot.map(async (idler, n) => {
        const p: string[] = [];
        if (idler.existsSeen === 0 || stopAt - idler.lastExistsAt > recentMs)
          p.push(
            `no EXISTS in the last ${recentMs / 1000} s of the run (seen ${idler.existsSeen}, last ${((stopAt - idler.lastExistsAt) / 1000).toFixed(0)} s before the end)`,
          );
        const want = counts.get(idler.user);
        if (want !== undefined && idler.exists !== want)
          p.push(`holds ${idler.exists} messages, the INBOX has ${want}`);
        try {
          await idler.done(10_000);
        } catch (err) {
          p.push(`DONE: ${errorText(err)}`);
        }
        if (p.length > 0) problems.push(`IDLE session #${n} (${idler.user}): ${p.join('; ')}`);
        else spotOk++;
      }),
    );
    if (problems.length > 0)
      failures.push(`spot check: ${problems.length} of ${spot.length} failed:\n  ${problems.join('\n  ')}`);
  }

  // Memory: "ends flat".
  const T = runMs / 1000;
  const early = samples.filter((s) => s.t >= 0.2 * T && s.t < 0.4 * T).map((s) => s.rssMiB);
  const late = samples.filter((s) => s.t >= 0.8 * T).map((s) => s.rssMiB);
  const earlyMed = median(early);
  const lateMed = median(late);
  const allowed = 0.1 * earlyMed + 50;
  const growth = lateMed - earlyMed;
  const peak = Math.max(...samples.map((s) => s.peakMiB), procStatus(pid)?.peakMiB ?? 0);
  if (early.length === 0 || late.length === 0)
    failures.push('too few samples for the flatness check (longer run or shorter --sample-seconds)');
  else if (!(growth < allowed)) failures.push(`RSS grew by ${growth.toFixed(0)} MiB (allowed ${allowed.toFixed(0)})`);

  const heapAt = (from: number, to: number) =>
    median(samples.filter((s) => s.t >= from * T && s.t < to * T && !Number.isNaN(s.heapMiB)).map((s) => s.heapMiB));

  const mins = (runMs / 60_000).toFixed(1);
  console.log('');
  note(`run: ${mins} min; RSS at start ${atStart?.rssMiB.toFixed(0)} MiB, peak (VmHWM) ${peak.toFixed(0)} MiB`);
  note(
    `ends flat? median RSS at 20–40 % ${earlyMed.toFixed(0)} MiB (${early.length} samples), last 20 % ${lateMed.toFixed(0)} MiB ` +
      `(${late.length} samples): growth ${growth.toFixed(0)} MiB, allowed ${allowed.toFixed(0)} MiB`,
  );
  note(
    `JavaScript heap in use: median ${heapAt(0.2, 0.4).toFixed(0)} MiB at 20–40 %, ${heapAt(0.8, 1.01).toFixed(0)} MiB in the last 20 % ` +
      '(RSS growing while the heap stays flat is the allocator or native memory, not a leak of objects)',
  );
  note(
    `delivered ${stats.delivered} (${(stats.delivered / (runMs / 1000)).toFixed(1)}/s, target ${opts.rate}/s), ` +
      `${stats.deliveryErrors} delivery errors; expunged ${stats.expunged}`,
  );
  for (const [t, n] of stats.deliveryErrorTexts) note(`  ${n}× ${t}`);
  note(
    `FETCH rounds ${stats.fetchRounds} (${stats.fetchedMessages} messages, ${(stats.fetchedBytes / 2 ** 20).toFixed(0)} MiB), ` +
      `SEARCHes ${stats.searches}, ${stats.expungeIssued} answered OK [EXPUNGEISSUED] (a race with the janitor), ` +
      `IMAP load errors ${stats.imapLoadErrors}`,
  );
  for (const [t, n] of stats.imapLoadErrorTexts) note(`  ${n}× ${t}`);
  const existsTotal = idlers.reduce((a, i) => a + i.existsSeen, 0);
  note(
    `IDLE: ${alive.length}/${opts.idle} alive at the end, ${existsTotal} EXISTS received in all, ${stats.reidles} re-IDLEs; ` +
      `spot check ${spotOk}/${spot.length} OK`,
  );
  note(`attack cycles: ${[...stats.attackCycles].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  for (const [t, n] of [...stats.attackNotes].sort()) note(`  ${n}× ${t}`);

  for (const i of idlers) i.close();
  await cleanup();
  if (opts.keepData) note(`data and server log kept in ${top}`);

  if (failures.length === 0) {
    console.log('PASS');
    return 0;
  }
  console.log(`FAIL\n- ${failures.join('\n- ')}`);
  return 1;
}

/** Stopped when the run breaks off with an error, so that no server is left behind. */
let startedServer: Server | null = null;

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await startedServer?.stop();
    process.exit(2);
  },
);
