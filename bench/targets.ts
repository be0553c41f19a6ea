/**
 * The servers under test. A Target says where the SMTP and POP3 listeners are, which processes make up
 * the server (for memory and CPU), how to create the bench accounts, and how to see what is in a
 * mailbox (for servers that deliver after accepting, such as Postfix + Dovecot).
 *
 * - postbode: built if its sources are newer than dist/, started as a child process on a fresh data
 *   directory with ports chosen by the kernel, the web lab on or off (--web), stopped at the end.
 * - refstack: the reference Postfix + Dovecot stack of ../shared/refstack (started with its `up`
 *   script when not running; accounts added with its `adduser`).
 * - external: any server at --host/--smtp-port/--pop3-port/--imap-port; accounts must exist.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { pop3Count } from './pop3.js';
import type { BulkMailbox } from './postbode-users.js';
import { pidFromFile, processTree, readProcText } from './proc.js';

const run = promisify(execFile);

export interface Target {
  /** postbode, refstack or external. */
  readonly kind: string;
  /** Names printed on the SMTP and POP3 lines (Postfix and Dovecot for the reference stack). */
  readonly smtpLabel: string;
  readonly pop3Label: string;
  readonly imapLabel: string;
  readonly host: string;
  readonly smtpPort: number;
  readonly pop3Port: number;
  /** 0 when the target has no IMAP listener. */
  readonly imapPort: number;
  /** Whether a 250 after DATA means the message is in the mailbox already (no queue behind it). */
  readonly acceptedIsDelivered: boolean;
  /** Root processes of the server; their trees are measured. Empty when unknown. */
  rootPids(): number[];
  /** Makes sure these accounts exist with the bench password. */
  ensureUsers(addresses: readonly string[]): Promise<void>;
  /** Deletes every message of the account's INBOX; false when the target cannot. */
  emptyMailbox(address: string): Promise<boolean>;
  /** Messages in the account's INBOX. */
  mailboxCount(address: string): Promise<number>;
  /** Waits until the server has nothing queued for delivery. */
  settle(): Promise<void>;
  /** Brings the server to a fresh, idle state before a memory measurement. */
  quiesce(): Promise<void>;
  /**
   * Runs full garbage collections in the server now, when it can be told to (postbode started by the
   * bench: SIGUSR2, see gc-on-signal.mjs); false when it cannot (other servers collect on their own).
   */
  collectGarbage(): Promise<boolean>;
  /** The JavaScript heap and the buffers outside it, where the server reports them (postbode status). */
  heap(): Promise<HeapSample | null>;
  stop(): Promise<void>;
}

/** A Node server's own view of its memory (process.memoryUsage), bytes. */
export interface HeapSample {
  heapUsed: number;
  arrayBuffers: number;
}

/** `postbode status` over the control socket of a data directory: its memory, or null. */
async function controlHeap(dataDir: string): Promise<HeapSample | null> {
  try {
    const socket = net.connect(path.join(dataDir, 'control.sock'));
    socket.on('error', () => {});
    socket.setTimeout(10_000, () => socket.destroy());
    // Written, not ended: the server's side would close on our end of input before it answered.
    socket.write('{"cmd":"status"}\n');
    let text = '';
    for await (const chunk of socket) text += String(chunk);
    const m = (JSON.parse(text) as { memory?: HeapSample }).memory;
    return m ? { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers } : null;
  } catch (err) {
    if (process.env.BENCH_DEBUG) log(`control socket: ${String(err)}`);
    return null;
  }
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function log(line: string): void {
  process.stderr.write(`# ${line}\n`);
}

// ---------------------------------------------------------------------------------------------------
// postbode

function newestMtime(dir: string, filter: (name: string) => boolean): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p, filter));
    else if (filter(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Runs `npm run build` when dist/ is missing or older than src/. tsc emits JavaScript even when the
 * type check fails; with sources under active development that is still worth measuring, so a failed
 * type check is reported and the run goes on when dist/ exists.
 */
export function buildIfStale(force: boolean): void {
  const entry = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
  const srcNewest = newestMtime(path.join(REPO_ROOT, 'src'), (n) => n.endsWith('.ts') && !n.endsWith('.test.ts'));
  if (!force && existsSync(entry) && statSync(entry).mtimeMs >= srcNewest) return;
  log('building postbode (npm run build)');
  const r = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n');
    if (!existsSync(entry)) throw new Error(`npm run build failed:\n${out.slice(-15).join('\n')}`);
    const errors = out.filter((l) => /error TS\d+/.test(l));
    log(
      `npm run build: ${errors.length} type errors (measuring the JavaScript tsc emitted anyway), first: ${errors[0] ?? out.at(-1)}`,
    );
  }
}

/**
 * The environment of a postbode child: no config file or loader of the bench's own. BENCH_SERVER_NODE_OPTIONS,
 * when set, becomes the child's NODE_OPTIONS (e.g. `--import ./count-queries.mjs` to instrument the server).
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.POSTBODE_CONFIG;
  delete env.NODE_OPTIONS; // e.g. tsx's loader: the server runs compiled code
  if (process.env.BENCH_SERVER_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS;
  return env;
}

export interface PostbodeOptions {
  domain: string;
  password: string;
  /** Created with `postbode user add` (the CLI path a user takes). */
  mainUser: string;
  /** Further accounts, created in bulk through the store API (the CLI costs a process per account). */
  moreUsers: readonly string[];
  /** The idle accounts, created the same way with a cheaper password hash (postbode-users.ts). */
  idleUsers: readonly string[];
  /** Mailboxes filled through the store API before the server starts (the IMAP SEARCH mailbox). */
  fill: readonly BulkMailbox[];
  /** Start the IMAP listener. */
  imap: boolean;
  keep: boolean;
  /** Extra arguments for node, e.g. --cpu-prof. */
  nodeArgs: readonly string[];
  /**
   * The web lab: on as shipped (`listen.http`, here on a kernel-chosen port so runs do not clash
   * over 8080), or off (`--listen http=off`: no recorder, so tracing costs one check per line).
   */
  web: 'on' | 'off';
}

export async function startPostbode(opts: PostbodeOptions): Promise<Target> {
  const top = mkdtempSync(path.join(os.tmpdir(), 'postbode-bench-'));
  const dataDir = path.join(top, 'data');
  let launches = 0;
  const bin = path.join(REPO_ROOT, 'bin', 'postbode.js');
  const env = childEnv();

  // Bench accounts share the reference stack's password ("bench"), shorter than auth.min_password_length.
  const cliConfig = path.join(top, 'bench-cli.toml');
  writeFileSync(cliConfig, '[auth]\nmin_password_length = 1\n');
  const add = spawnSync(
    process.execPath,
    [bin, 'user', 'add', opts.mainUser, '--password', opts.password, '--data-dir', dataDir, '--config', cliConfig],
    { cwd: top, env, encoding: 'utf8' },
  );
  if (add.status !== 0) throw new Error(`postbode user add failed: ${(add.stderr || add.stdout).trim()}`);
  if (opts.moreUsers.length + opts.idleUsers.length > 0) {
    const { createPostbodeUsers } = await import('./postbode-users.js');
    const t0 = performance.now();
    await createPostbodeUsers(dataDir, opts.idleUsers, opts.password, { scryptLogN: 10 });
    if (opts.idleUsers.length > 0) {
      log(`created ${opts.idleUsers.length} idle accounts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const t1 = performance.now();
    await createPostbodeUsers(dataDir, opts.moreUsers, opts.password, { fill: opts.fill });
    for (const f of opts.fill) {
      log(
        `filled ${f.address} with ${f.count} messages through the store API (and indexed them) in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
      );
    }
  }

  const launch = async (smtpListen: string, pop3Listen: string, imapListen: string): Promise<ServerProcess> => {
    // The server's JSON log goes to a file (one per start): cheaper than a pipe we would have to drain.
    const logFile = path.join(top, `server-${++launches}.log`);
    const out = openSync(logFile, 'a');
    const child = spawn(
      process.execPath,
      [
        ...opts.nodeArgs,
        // Garbage collection on SIGUSR2, for memory figures read after it (collectGarbage below).
        '--expose-gc',
        '--import',
        pathToFileURL(path.join(REPO_ROOT, 'bench', 'gc-on-signal.mjs')).href,
        bin,
        'serve',
        '--data-dir',
        dataDir,
        '--hostname',
        'bench.example.test',
        '--domain',
        opts.domain,
        '--listen',
        `smtp=${smtpListen}`,
        '--listen',
        `pop3=${pop3Listen}`,
        '--listen',
        'submission=off',
        '--listen',
        'submissions=off',
        '--listen',
        'pop3s=off',
        '--listen',
        `imap=${imapListen}`,
        '--listen',
        'imaps=off',
        '--listen',
        'managesieve=off',
        '--listen',
        `http=${opts.web === 'on' ? '127.0.0.1:0' : 'off'}`,
        '--set',
        'limits.connections_per_ip=100000',
        // The default of 10,000 connections in all would refuse the last of 10,000 IDLE connections
        // (the warm-up's closed ones may still be counted); the open-file limit is the bound here.
        '--set',
        'limits.max_connections=100000',
        // Extra settings for experiments: BENCH_SERVER_SET="lab.capture_bytes=0 ..." (space-separated).
        ...(process.env.BENCH_SERVER_SET ?? '')
          .split(/\s+/)
          .filter(Boolean)
          .flatMap((s) => ['--set', s]),
      ],
      { cwd: top, env, stdio: ['ignore', out, out] },
    );
    closeSync(out);
    return ServerProcess.wait(child, logFile);
  };

  let server = await launch('127.0.0.1:0', '127.0.0.1:0', opts.imap ? '127.0.0.1:0' : 'off');
  const smtpPort = server.port('smtp');
  const pop3Port = server.port('pop3');
  const imapPort = opts.imap ? server.port('imap') : 0;
  log(
    `postbode pid ${server.pid}, smtp 127.0.0.1:${smtpPort}, pop3 127.0.0.1:${pop3Port}, imap 127.0.0.1:${imapPort}, ` +
      `web lab ${opts.web === 'on' ? `on (http 127.0.0.1:${server.port('http')})` : 'off'}, data ${dataDir}`,
  );

  return {
    kind: 'postbode',
    smtpLabel: 'postbode',
    pop3Label: 'postbode',
    imapLabel: 'postbode',
    host: '127.0.0.1',
    smtpPort,
    pop3Port,
    imapPort,
    acceptedIsDelivered: true,
    rootPids: () => (server.running ? [server.pid] : []),
    async ensureUsers() {
      // created before the server started
    },
    async emptyMailbox() {
      return false;
    },
    mailboxCount: (address) => pop3Count('127.0.0.1', pop3Port, address, opts.password),
    async settle() {},
    collectGarbage: () => server.collectGarbage(),
    heap: () => controlHeap(dataDir),
    async quiesce() {
      // A fresh process: garbage and free heap left by earlier phases would otherwise absorb new
      // connections and make them look cheaper than they are.
      await server.stop();
      server = await launch(
        `127.0.0.1:${smtpPort}`,
        `127.0.0.1:${pop3Port}`,
        opts.imap ? `127.0.0.1:${imapPort}` : 'off',
      );
      log(`restarted postbode: pid ${server.pid}`);
    },
    async stop() {
      await server.stop();
      if (opts.keep) log(`kept postbode's data and log in ${top}`);
      else rmSync(top, { recursive: true, force: true });
    },
  };
}

/** A started `postbode serve`: its pid, its listeners (from the "postbode started" log line), stop(). */
export class ServerProcess {
  #exited: string | null = null;
  readonly #exit: Promise<void>;

  #collections = 0;

  private constructor(
    readonly child: ChildProcess,
    readonly listeners: string[],
    readonly logFile: string,
    exited: string | null,
    exit: Promise<void>,
  ) {
    this.#exited = exited;
    this.#exit = exit.then(() => {
      this.#exited ??= 'exited';
    });
  }

  /** Waits for the "postbode started" line in the log file, which the child appends to. */
  static async wait(child: ChildProcess, logFile: string): Promise<ServerProcess> {
    let exited: string | null = null;
    const exit = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = signal ?? String(code);
        resolve();
      });
    });
    const tail = () => readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited !== null) throw new Error(`postbode exited (${exited}) before it started:\n${tail()}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`postbode did not start within 30 s:\n${tail()}`);
      }
      for (const line of readFileSync(logFile, 'utf8').split('\n')) {
        if (!line.includes('postbode started')) continue;
        try {
          const rec = JSON.parse(line) as { msg?: unknown; listeners?: unknown };
          if (rec.msg === 'postbode started' && Array.isArray(rec.listeners)) {
            return new ServerProcess(child, rec.listeners.map(String), logFile, exited, exit);
          }
        } catch {
          // not JSON
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.#exited === null;
  }

  port(name: string): number {
    const l = this.listeners.find((x) => x.startsWith(`${name}=`));
    if (!l) throw new Error(`postbode has no ${name} listener: ${this.listeners.join(', ')}`);
    return Number(l.slice(l.lastIndexOf(':') + 1));
  }

  /**
   * Two full garbage collections in the server (SIGUSR2 to bench/gc-on-signal.mjs, preloaded with
   * --expose-gc); resolves once its log says they ran, false when it did not say so within 30 s.
   */
  async collectGarbage(): Promise<boolean> {
    if (!this.running) return false;
    const want = `bench-gc ${++this.#collections}\n`;
    const from = statSync(this.logFile).size; // the log is appended to: read only what comes after
    this.child.kill('SIGUSR2');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && this.running) {
      const fd = openSync(this.logFile, 'r');
      try {
        const buf = Buffer.alloc(Math.max(0, fstatSync(fd).size - from));
        readSync(fd, buf, 0, buf.length, from);
        if (buf.toString('utf8').includes(want)) return true;
      } finally {
        closeSync(fd);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.#exit;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------
// refstack (Postfix + Dovecot)

export interface RefstackOptions {
  /** Folder with the refstack scripts. */
  home: string;
  /** Its state directory. */
  stateDir: string;
  password: string;
}

/**
 * A setting of the refstack as its own scripts define it: `common.sh` in its folder (sourced; it only
 * sets variables), with the environment's overrides (REFSTACK_DIR, REFSTACK_READY_FILE) applied there.
 * No path of the refstack is repeated here.
 */
export function refstackSetting(home: string, name: 'REFSTACK_DIR' | 'READY_FILE'): string {
  const r = spawnSync('bash', ['-c', `. "$1/common.sh" && printf '%s' "$${name}"`, 'refstack', home], {
    encoding: 'utf8',
  });
  if (r.status !== 0 || !r.stdout) {
    throw new Error(`cannot read ${name} from ${path.join(home, 'common.sh')} (set REFSTACK_HOME): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

export async function startRefstack(opts: RefstackOptions): Promise<Target> {
  const readyFile = refstackSetting(opts.home, 'READY_FILE');
  const postfixConf = path.join(opts.stateDir, 'etc', 'postfix');
  const dovecotConf = path.join(opts.stateDir, 'etc', 'dovecot', 'dovecot.conf');
  const masterPids = () =>
    [
      pidFromFile(path.join(opts.stateDir, 'postfix-queue', 'pid', 'master.pid')),
      pidFromFile(path.join(opts.stateDir, 'dovecot-run', 'master.pid')),
    ].filter((p): p is number => p !== null && existsSync(`/proc/${p}`));
  if (!existsSync(readyFile) || masterPids().length < 2) {
    log(`starting the reference stack: bash ${path.join(opts.home, 'up')}`);
    const r = spawnSync('bash', [path.join(opts.home, 'up')], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`refstack/up failed (exit ${r.status})`);
  }
  const ready = readFileSync(readyFile, 'utf8');
  const addr = (name: string, fallback: number): { host: string; port: number } => {
    const m = new RegExp(`^${name}=([^:\\s]+):(\\d+)$`, 'mi').exec(ready);
    return m ? { host: m[1], port: Number(m[2]) } : { host: '127.0.0.1', port: fallback };
  };
  const smtp = addr('smtp', 2525);
  const pop3 = addr('pop3', 2110);
  const imap = addr('imap', 2143);
  const doveadm = async (...args: string[]): Promise<string> =>
    (await run('doveadm', ['-c', dovecotConf, ...args], { encoding: 'utf8' })).stdout;
  log(
    `refstack: postfix/dovecot masters ${masterPids().join(', ')}, smtp ${smtp.host}:${smtp.port}, pop3 ${pop3.host}:${pop3.port}, imap ${imap.host}:${imap.port}`,
  );

  return {
    kind: 'refstack',
    smtpLabel: 'postfix',
    pop3Label: 'dovecot',
    imapLabel: 'dovecot',
    host: smtp.host,
    smtpPort: smtp.port,
    pop3Port: pop3.port,
    imapPort: imap.port,
    acceptedIsDelivered: false,
    rootPids: masterPids,
    async ensureUsers(addresses) {
      const usersFile = path.join(opts.stateDir, 'etc', 'dovecot', 'users');
      const existing = new Set(
        readFileSync(usersFile, 'utf8')
          .split('\n')
          .map((l) => l.split(':')[0]),
      );
      const missing = addresses.filter((a) => !existing.has(a));
      if (missing.length > 0) log(`adding ${missing.length} accounts to the reference stack (once; they are kept)`);
      for (const a of missing) {
        await run('bash', [path.join(opts.home, 'adduser'), a, opts.password]);
      }
    },
    async emptyMailbox(address) {
      await doveadm('expunge', '-u', address, 'mailbox', 'INBOX', 'all');
      return true;
    },
    async mailboxCount(address) {
      const m = /messages=(\d+)/.exec(await doveadm('mailbox', 'status', '-u', address, 'messages', 'INBOX'));
      if (!m) throw new Error(`doveadm mailbox status: no message count for ${address}`);
      return Number(m[1]);
    },
    async settle() {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const { stdout } = await run('postqueue', ['-c', postfixConf, '-p'], { encoding: 'utf8' });
        if (/queue is empty/i.test(stdout)) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('the Postfix queue did not drain within 120 s');
    },
    async quiesce() {
      // Postfix keeps idle smtpd processes for max_idle (100 s) to serve later connections: they would
      // take new connections at no cost. "postfix reload" makes idle ones exit now.
      await run('postfix', ['-c', postfixConf, 'reload']);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && countSmtpd(masterPids()) > 0) await new Promise((r) => setTimeout(r, 200));
    },
    async collectGarbage() {
      return false; // C processes: nothing to collect
    },
    async heap() {
      return null;
    },
    async stop() {
      // The reference stack is shared: leave it running.
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// any other server

export function externalTarget(opts: {
  label: string;
  host: string;
  smtpPort: number;
  pop3Port: number;
  imapPort: number;
  password: string;
  pids: number[];
}): Target {
  return {
    kind: 'external',
    smtpLabel: opts.label,
    pop3Label: opts.label,
    imapLabel: opts.label,
    host: opts.host,
    smtpPort: opts.smtpPort,
    pop3Port: opts.pop3Port,
    imapPort: opts.imapPort,
    acceptedIsDelivered: false,
    rootPids: () => opts.pids.filter((p) => existsSync(`/proc/${p}`)),
    async ensureUsers() {},
    async emptyMailbox() {
      return false;
    },
    mailboxCount: (address) => pop3Count(opts.host, opts.pop3Port, address, opts.password),
    async settle() {},
    async quiesce() {},
    async collectGarbage() {
      return false;
    },
    async heap() {
      return null;
    },
    async stop() {},
  };
}

function countSmtpd(roots: number[]): number {
  let n = 0;
  for (const pid of processTree(roots)) {
    if (readProcText(`/proc/${pid}/comm`)?.trim() === 'smtpd') n++;
  }
  return n;
}
