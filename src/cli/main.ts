/**
 * The `postbode` command. Each subcommand is a thin layer over server/ (serve) or the store (admin).
 * Errors meant for the user are printed as one line; exit codes: 0 ok, 1 error, 2 usage.
 */
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { type QueueStatus, queueStatus } from '../delivery/outbound/status.js';
import { createLogger, type LogStats, silentLogger } from '../log.js';
import { ListenError } from '../net/listener.js';
import { controlRequest } from '../server/control.js';
import { DataDirAccessError } from '../server/data-dir.js';
import { DiskMonitor, type DiskStatus, formatBytes } from '../server/disk.js';
import { NodeKeysError } from '../server/node-keys.js';
import { startServer } from '../server/server.js';
import { type LabMemory, type NodeStatus, nodesStatus } from '../server/status.js';
import {
  databaseFile,
  describeLocation,
  openStore,
  StoreUnavailableError,
  StoreUrlError,
  storeLocation,
} from '../store/open.js';
import { SpaceReserve } from '../store/space.js';
import type { TraceEvent } from '../trace/bus.js';
import { VERSION } from '../version.js';
import { registerAdminCommands } from './admin.js';
import { registerBackupCommands } from './backup.js';
import { classroomNotice } from './classroom.js';
import { registerClassroomCommands } from './classroom-reset.js';
import {
  CliError,
  cliStoreOptions,
  configFrom,
  type GlobalOptions,
  liveNode,
  noDatabaseMessage,
  withConfigOptions,
} from './context.js';
import { registerDnsCommands } from './dns.js';
import { registerExercisesCommands } from './exercises.js';
import { registerMigrateCommand } from './migrate.js';
import { registerReindexCommand } from './reindex.js';
import { registerSieveCommands } from './sieve.js';

/** Time beyond shutdown_timeout before a stop that hangs is cut short by exiting. */
const OVERRUN_MS = 2000;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** True once `serve` runs: stdout errors are ignored (see `main`). */
let serving = false;

export function buildProgram(out: (line: string) => void = (l) => console.log(l)): Command {
  const program = new Command('postbode')
    .description('postbode: an SMTP, POP3 and IMAP mail server for teaching and self-hosting')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run "postbode --help" for usage)');

  withConfigOptions(
    program
      .command('serve')
      .description('run the mail server (SMTP 25/587/465, POP3 110/995, IMAP 143/993)')
      .option('-H, --hostname <name>', 'the name of this server in greetings and the certificate')
      .option('--domain <domain>', 'a local mail domain (repeatable)', collect)
      .option(
        '-l, --listen <name=host:port>',
        'listener address, or NAME=off (repeatable); NAME: smtp, submission, submissions, pop3, pop3s, imap, imaps, managesieve, http',
        collect,
      )
      .option('--strict', 'refuse sloppy input (bare HELO, MAIL FROM without <>, bare LF) as Postfix does')
      .option(
        '--classroom',
        'classroom mode, for a lab network only: web lab on all interfaces, plaintext logins from private networks',
      )
      .option('--set <key=value>', 'any config setting, e.g. --set smtp.max_recipients=50 (repeatable)', collect),
  ).action(
    async (
      opts: GlobalOptions & {
        hostname?: string;
        domain?: string[];
        listen?: string[];
        strict?: boolean;
        classroom?: boolean;
        set?: string[];
      },
    ) => {
      const config = configFrom({
        config: opts.config,
        dataDir: opts.dataDir,
        store: opts.store,
        node: opts.node,
        hostname: opts.hostname,
        domains: opts.domain,
        listen: opts.listen,
        strictness: opts.strict ? 'strict' : undefined,
        classroom: opts.classroom,
        set: opts.set,
      });
      serving = true;
      const log = createLogger(config.log.level);
      // The first SIGTERM/SIGINT stops cleanly within shutdown_timeout (docs/operations.md#stopping);
      // a second one, or a stop that overruns the bound, exits at once. Listened for before the start:
      // a stop asked for while starting (the "started" line is out before startServer returns) waits
      // for the start to finish and then stops, instead of killing the process mid-way.
      const stopAsked = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const server = await startServer(config, log);
      if (config.lab.classroom) {
        // Always printed (not only on a terminal): the teacher must see what this opens.
        for (const l of classroomNotice(server.listeners, networkInterfaces())) out(l);
      }
      if (process.stdout.isTTY) {
        for (const l of server.listeners) out(`  ${l.name.padEnd(12)} ${l.host}:${l.port}`);
        const dataDir = path.resolve(config.data_dir);
        const location = storeLocation(config.store.url, dataDir);
        const store = location.backend === 'sqlite' ? '' : `, store ${describeLocation(location)}`;
        out(`postbode ${VERSION} is running (data in ${dataDir}${store}); Ctrl-C stops it`);
      }
      await stopAsked;
      const now = (signal: string) => {
        log.warn({ signal }, 'second signal: exiting without waiting for the shutdown');
        process.exit(1);
      };
      process.once('SIGINT', now);
      process.once('SIGTERM', now);
      const overrun = setTimeout(
        () => {
          log.error({ timeout: config.shutdown_timeout }, 'shutdown did not finish in time: exiting');
          process.exit(1);
        },
        config.shutdown_timeout * 1000 + OVERRUN_MS,
      );
      overrun.unref();
      await server.stop();
      clearTimeout(overrun);
      // Everything is closed; a handle left open somewhere must not keep the process alive.
      setTimeout(() => process.exit(), OVERRUN_MS).unref();
    },
  );

  registerAdminCommands(program, out);
  registerDnsCommands(program, out);
  registerBackupCommands(program, out);
  registerReindexCommand(program, out);
  registerMigrateCommand(program, out);
  registerExercisesCommands(program, out);
  registerSieveCommands(program, out);
  registerClassroomCommands(program, out);

  withConfigOptions(
    program
      .command('status')
      .description('listeners, sessions, accounts and queue of the server; the nodes of a PostgreSQL store'),
  ).action(async (opts: GlobalOptions) => {
    const config = configFrom(opts);
    const dataDir = path.resolve(config.data_dir);
    try {
      const [status] = (await controlRequest(path.join(dataDir, 'control.sock'), 'status')) as StatusReply[];
      out(`postbode is running (pid ${status.pid}, ${status.product}, since ${status.started})`);
      out(`hostname ${status.hostname}, ${status.strictness} mode, data in ${status.dataDir}`);
      for (const l of status.listeners) out(`  ${l.name.padEnd(12)} ${l.host}:${l.port}`);
      const s = status.store;
      out(
        `sessions ${status.sessions}; domains ${s.domains}, accounts ${s.accounts}, aliases ${s.aliases}, messages ${s.messages}, queue ${s.queue}`,
      );
      if (status.queue) for (const line of formatQueueStatus(status.queue, 'running')) out(line);
      for (const line of formatDiskStatus(status.disk ?? null, status.log ?? null)) out(line);
      const m = status.memory;
      if (m) {
        out(
          `memory: ${formatBytes(m.rss)} resident; JavaScript heap ${formatBytes(m.heapUsed)} used of ${formatBytes(m.heapTotal)}, buffers ${formatBytes(m.arrayBuffers)}`,
        );
      }
      const lab = status.lab;
      if (lab) {
        out(
          `web lab: ${lab.liveSessions} live sessions holding ${lab.heldEvents} events and ${formatBytes(lab.heldCaptureBytes)} of capture; exercise models for ${lab.checkModels} of ${lab.checkedSessions} sessions`,
        );
      }
      if (status.nodes) for (const line of formatNodes(status.nodes, status.node)) out(line);
      for (const line of formatKeyDifferences(status.keys ?? [])) out(line);
    } catch {
      // Not running here: the figures from the database, when there is one (a read never creates it).
      const location = storeLocation(config.store.url, dataDir);
      const file = databaseFile(location);
      const socket = path.join(dataDir, 'control.sock');
      if (file !== null && !existsSync(file)) {
        out(`postbode is not running (no server answers on ${socket})`);
        throw new CliError(noDatabaseMessage(dataDir, file), 3);
      }
      const store = await openStore(cliStoreOptions(config, dataDir));
      try {
        const s = await store.stats();
        // A shared store (PostgreSQL) is served by its nodes, wherever they run: "running" means one is alive.
        const live = store.nodes ? await liveNode(store) : false;
        if (file !== null) out(`postbode is not running (no server answers on ${socket})`);
        else {
          const where = describeLocation(location);
          out(
            live
              ? `no postbode serves this data dir (no server answers on ${socket}); the nodes below serve ${where}`
              : `postbode is not running: no node of ${where} has a fresh heartbeat, and no server answers on ${socket}`,
          );
        }
        out(
          `domains ${s.domains}, accounts ${s.accounts}, aliases ${s.aliases}, messages ${s.messages}, queue ${s.queue}`,
        );
        const queue = await queueStatus(store, { workerEnabled: config.delivery.enabled });
        for (const line of formatQueueStatus(queue, live ? 'running' : 'stopped')) out(line);
        if (file !== null) {
          for (const line of formatDiskStatus(await diskStatusOffline(config, dataDir), null)) out(line);
        }
        const nodes = await nodesStatus(store);
        if (nodes) for (const line of formatNodes(nodes)) out(line);
        if (!live) process.exitCode = 3;
      } finally {
        await store.close();
      }
    }
  });

  withConfigOptions(
    program
      .command('trace')
      .description('print live protocol sessions of the running server (client lines C:, server lines S:)')
      .option('--json', 'print the raw JSON events'),
  ).action(async (opts: GlobalOptions & { json?: boolean }) => {
    const config = configFrom(opts);
    const socketPath = path.join(path.resolve(config.data_dir), 'control.sock');
    // With --json, stdout carries only JSON lines (one event each): the banner goes to stderr.
    const banner = `tracing sessions of the server in ${path.dirname(socketPath)}; Ctrl-C stops`;
    if (opts.json) process.stderr.write(`${banner}\n`);
    else out(pc.dim(banner));
    // The server ends a stream it cannot serve (too many, or this one fell behind) with a notice
    // carrying `error`: that is a failure of this command, not the end of the server's sessions.
    let refusal: string | null = null;
    try {
      await controlRequest(socketPath, 'trace', (event) => {
        const error = (event as { error?: unknown }).error;
        if (typeof error === 'string') refusal = error;
        else out(opts.json ? JSON.stringify(event) : formatEvent(event as TraceEvent));
      });
    } catch {
      throw new CliError(
        `no running server answers on ${socketPath}; start one with "postbode serve" (same --data-dir)`,
      );
    }
    if (refusal !== null) throw new CliError(refusal);
  });
  return program;
}

/** `5s`, `4m 10s`, `2h 3m`, `3d 4h`: an age or a wait, to the two largest units. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length === 0 && size === 1)) parts.push(`${n}${name}`);
    if (parts.length === 2) break;
    if (parts.length === 1 && n === 0) break;
  }
  return parts.join(' ');
}

/** The queue section of `postbode status`. */
export function formatQueueStatus(q: QueueStatus, server: 'running' | 'stopped', now = new Date()): string[] {
  const worker =
    server === 'stopped'
      ? 'outbound worker not running (server stopped)'
      : q.worker === 'on'
        ? 'outbound worker on'
        : 'outbound worker off (delivery.enabled = false: remote mail stays queued)';
  if (q.messages === 0) return [`outbound queue: empty; ${worker}`];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const lines = [
    `outbound queue: ${plural(q.messages, 'message')}, ${plural(q.recipientsPending, 'recipient')} pending; ${worker}`,
  ];
  const parts: string[] = [];
  if (q.oldestAgeSeconds !== null) parts.push(`oldest ${formatDuration(q.oldestAgeSeconds)} old`);
  if (q.nextAttempt !== null) {
    const wait = (new Date(q.nextAttempt).getTime() - now.getTime()) / 1000;
    parts.push(wait <= 0 ? 'next attempt due now' : `next attempt in ${formatDuration(wait)} (${q.nextAttempt})`);
  }
  if (parts.length > 0) lines.push(`  ${parts.join(', ')}`);
  const classes = Object.entries(q.deferredByClass)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`);
  lines.push(
    q.deferred === 0
      ? '  deferred: none (not tried yet)'
      : `  deferred: ${plural(q.deferred, 'recipient')} by last error: ${classes.join(', ')} (details: postbode queue list)`,
  );
  return lines;
}

/** The nodes of a shared store in `postbode status`, `self` marked. */
export function formatNodes(nodes: NodeStatus[], self?: string): string[] {
  if (nodes.length === 0) return ['nodes: none (no postbode serve has started on this database)'];
  const lines = [`nodes: ${nodes.length}`];
  const width = Math.max(...nodes.map((n) => n.name.length));
  for (const n of nodes) {
    const state = n.stale
      ? `no heartbeat for ${formatDuration(n.heartbeatAge)}: STALE (stopped without a goodbye, or cut off from the database)`
      : `heartbeat ${formatDuration(n.heartbeatAge)} ago`;
    lines.push(
      `  ${n.name.padEnd(width)}  host ${n.host}, pid ${n.pid}, ${n.version}, since ${n.started}; ${state}${n.name === self ? ' (this node)' : ''}`,
    );
  }
  return lines;
}

/** Key files of this node that differ from the other nodes' (server/node-keys.ts), as warnings. */
export function formatKeyDifferences(differences: string[]): string[] {
  if (differences.length === 0) return [];
  return [
    'WARNING: the key files of this data dir differ from those of the other nodes (docs/operations.md, "Several nodes"):',
    ...differences.map((d) => `  ${d}`),
  ];
}

/** The disk and log section of `postbode status`. */
export function formatDiskStatus(disk: DiskStatus | null, log: LogStats | null): string[] {
  const lines: string[] = [];
  if (disk) {
    const r = disk.reserve;
    const reserve =
      r.bytes === 0
        ? 'no storage reserve (store.reserve = 0)'
        : r.holding
          ? `storage reserve of ${formatBytes(r.bytes)} SPENT: mail is refused (452 4.3.1) until space is freed`
          : r.present
            ? `storage reserve ${formatBytes(r.bytes)}`
            : `storage reserve of ${formatBytes(r.bytes)} missing (no room to create it)`;
    lines.push(
      `disk: ${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)} (${disk.freePercent} %); ${reserve}`,
    );
    if (disk.warning) lines.push(`  WARNING: ${disk.warning}`);
  }
  if (log && (log.dropped > 0 || log.failing)) {
    const failing = log.failing ? `; writing fails now (${log.failing})` : '';
    lines.push(`log: ${log.dropped} lines dropped because the log could not be written${failing}`);
  }
  return lines;
}

/** The disk block when no server runs (no reserve state; warnings by the same thresholds). */
async function diskStatusOffline(config: Config, dataDir: string): Promise<DiskStatus | null> {
  const reserve = new SpaceReserve({ dataDir, bytes: config.store.reserve });
  const monitor = new DiskMonitor({
    dataDir,
    reserve,
    warnPercent: config.store.disk_warning_percent,
    warnBytes: config.store.disk_warning_bytes,
    intervalMs: 1000,
    log: silentLogger(),
  });
  const status = await monitor.check(Date.now(), { createReserve: false });
  return status;
}

interface StatusReply {
  pid: number;
  product: string;
  started: string;
  hostname: string;
  strictness: string;
  dataDir: string;
  sessions: number;
  listeners: { name: string; host: string; port: number }[];
  store: { domains: number; accounts: number; aliases: number; messages: number; queue: number };
  /** Absent from servers older than the queue section. */
  queue?: QueueStatus;
  /** Absent from servers older than the disk section. */
  disk?: DiskStatus | null;
  log?: LogStats | null;
  /** Absent from servers older than the memory line. */
  memory?: { rss: number; heapUsed: number; heapTotal: number; arrayBuffers: number };
  /** Absent with the web lab off, and from servers older than the lab line. */
  lab?: LabMemory;
  /** Several nodes over one store (PostgreSQL): this node's name and every node. */
  node?: string;
  nodes?: NodeStatus[];
  /** Several nodes: how this node's key files differ from the recorded ones. */
  keys?: string[];
}

const colors = [pc.cyan, pc.magenta, pc.yellow, pc.blue, pc.green, pc.red];

export function formatEvent(e: TraceEvent): string {
  const time = new Date(e.t).toISOString().slice(11, 23);
  const tag = colors[parseInt(e.sid.slice(-2), 36) % colors.length](e.sid);
  const head = `${pc.dim(time)} ${tag}`;
  switch (e.type) {
    case 'open':
      return `${head} ${pc.bold(`--- ${e.proto.toUpperCase()} session on ${e.listener} (${e.localPort}) from ${e.remote}:${e.remotePort}${e.tls ? ' [TLS]' : ''}`)}`;
    case 'in':
      return `${head} ${pc.cyan(`C: ${e.text}`)}`;
    case 'out':
      return `${head} ${pc.green(`S: ${e.text}`)}`;
    case 'tls':
      return `${head} ${pc.yellow(`--- TLS started: ${e.protocol} ${e.cipher} (lines below are decrypted)`)}`;
    case 'auth':
      return `${head} ${pc.yellow(`--- login ${e.ok ? 'succeeded' : 'FAILED'} for ${e.user} (${e.mechanism})`)}`;
    case 'state':
      return `${head} ${pc.dim(`--- state: ${e.state}`)}`;
    case 'note':
      return `${head} ${pc.dim(`--- ${e.text}`)}`;
    case 'close':
      return `${head} ${pc.bold(`--- session closed (${e.reason})`)}`;
  }
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  // `postbode trace | head`: the reader went away; stop quietly like other Unix tools. The server
  // (`serve`) logs through its own descriptor writer (log.ts) and must never stop or crash because
  // stdout or stderr fails (EPIPE, a full disk): it ignores their errors.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (serving) return;
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  process.stderr.on('error', () => {});
  try {
    await program.parseAsync(argv);
    // A command may set a specific code (status: 3 when no server runs).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (
      err instanceof CliError ||
      err instanceof ConfigError ||
      err instanceof ListenError ||
      err instanceof StoreUrlError ||
      err instanceof StoreUnavailableError ||
      err instanceof NodeKeysError ||
      err instanceof DataDirAccessError
    ) {
      console.error(`postbode: ${err.message}`);
      return err instanceof CliError ? err.exitCode : 1;
    }
    throw err;
  }
}
