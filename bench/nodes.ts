/**
 * `npm run bench -- --store postgresql://USER@HOST:PORT/DB` (or `--pg`, which is `--only nodes` with
 * postgresql://postgres@127.0.0.1:5432/postbode_bench): postbode on several nodes over PostgreSQL
 * (issue 9 item 8), next to one node over SQLite and one node over PostgreSQL, all on this machine.
 *
 * Each setup (SQLite x1, PostgreSQL x1, PostgreSQL xN) gets fresh data dirs and, on PostgreSQL, a fresh
 * schema `bench_<pid>_<n>` (dropped afterwards; kept with --keep). Its accounts and the FETCH mailboxes
 * are made through the store API before the nodes start (as bench/postbode-users.ts does for the main
 * bench); the nodes share one `secret.key` (docs/operations.md "Several nodes") and start together.
 * Then, with the load spread round-robin over the nodes:
 * 1. deliveries/s: `smtpSessions` (20) parallel clients, one `smtpSize` (4 KB) message per connection
 *    (connect, EHLO, pipelined MAIL/RCPT/DATA, data, 250, QUIT), `nodesMessages` in all, into one
 *    account (or `nodesAccounts` in turn), after `nodesWarmup` unmeasured ones per node (every node
 *    warm, as a running server is). A 250 means committed: SQLite with synchronous=FULL, PostgreSQL
 *    with synchronous_commit=on.
 * 2. IMAP FETCH msgs/s: `imapClients` clients, one mailbox of `imapMessages` x `imapSize` each, looping
 *    `FETCH 1:N (BODY.PEEK[])` for `imapSeconds` (bench/imap.ts).
 * 3. IDLE latency: one connection in IDLE on the first node; `nodesIdleSamples` messages over SMTP, one
 *    at a time, on the other nodes in turn (on the same node when there is one); per message the time
 *    from the 250 to the arrival of its `* N EXISTS` (the arrival is timestamped as the bytes come in;
 *    it can precede the 250 slightly: the hint to the other nodes goes out right after the commit).
 * CPU: the nodes' processes, the PostgreSQL backends of the nodes (by application_name, when the
 * database runs on this machine) and the load generator.
 * Targets (issue 9): PostgreSQL x1 >= 1000 deliveries/s and >= 0.5x SQLite; xN >= 0.8x x1; cross-node
 * IDLE p99 <= 250 ms.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ImapClient, imapFetchLoad } from './imap.js';
import type { BenchOptions } from './options.js';
import { createPostbodeUsers } from './postbode-users.js';
import { cpuOf, processTree } from './proc.js';
import { type Figure, note, percentile, printFigure } from './report.js';
import { buildMessage, errorText, SmtpClient, smtpConnectionLoad } from './smtp.js';
import { childEnv, REPO_ROOT, ServerProcess } from './targets.js';

interface Setup {
  /** Printed in the server column: sqlite, pg, pg x3. */
  label: string;
  key: string;
  backend: 'sqlite' | 'postgresql';
  nodes: number;
}

interface Cluster {
  setup: Setup;
  servers: ServerProcess[];
  smtpPorts: number[];
  imapPorts: number[];
  /** PostgreSQL backends of the nodes (pids on this machine), for their CPU. */
  backendPids(): Promise<number[]>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const FROM = 'sender@remote.test';
const HELO = 'loadgen.bench.invalid';

function log(line: string): void {
  process.stderr.write(`# ${line}\n`);
}

/** The url with `?schema=` set. */
function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** The url without `?schema=` (and its password: for printing). */
function bare(url: string, hidePassword = false): string {
  const u = new URL(url);
  u.searchParams.delete('schema');
  if (hidePassword && u.password) u.password = '***';
  return u.toString();
}

/** Creates the database of `url` when it does not exist (connecting to the `postgres` database). */
async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(bare(url));
  const database = decodeURIComponent(u.pathname.slice(1));
  const admin = new URL(u);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      log(`creating the database ${database}`);
      await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    }
  } finally {
    await client.end();
  }
}

async function sql<R>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: bare(url) });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}

/** A message of `size` bytes for a FETCH mailbox (the wire form without its end-of-data line). */
function fetchMessage(size: number, to: string, i: number): Buffer {
  const wire = buildMessage({ size, from: FROM, to, id: `fill.${i}.${to}`, subject: `bench FETCH message ${i + 1}` });
  return wire.subarray(0, wire.length - 3);
}

async function startCluster(setup: Setup, opts: BenchOptions, run: number): Promise<Cluster> {
  const top = mkdtempSync(path.join(os.tmpdir(), 'postbode-bench-nodes-'));
  const schema = `bench_${process.pid}_${run}`;
  const url = setup.backend === 'postgresql' ? withSchema(opts.store, schema) : '';
  const dirs = Array.from({ length: setup.nodes }, (_, i) => path.join(top, `node${i + 1}`));
  const names = dirs.map((_, i) => `bench-${i + 1}`);
  const secret = randomBytes(32).toString('hex');
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'secret.key'), secret, { mode: 0o600 });
  }
  const users = benchAccounts(opts);
  const t0 = performance.now();
  await createPostbodeUsers(dirs[0], [...users.main, users.idle, ...users.fetch], opts.password, {
    fill: users.fetch.map((address) => ({
      address,
      count: opts.imapMessages,
      message: (i: number) => ({ raw: fetchMessage(opts.imapSize, address, i), flags: [], date: new Date() }),
    })),
    url: url || undefined,
  });
  log(
    `${setup.label}: ${users.main.length + 1 + users.fetch.length} accounts, ${users.fetch.length} x ${opts.imapMessages} FETCH messages ` +
      `through the store API in ${((performance.now() - t0) / 1000).toFixed(1)} s${url ? `, schema ${schema}` : ''}`,
  );

  const bin = path.join(REPO_ROOT, 'bin', 'postbode.js');
  const launch = async (i: number): Promise<ServerProcess> => {
    const logFile = path.join(top, `server-${i + 1}.log`);
    const out = openSync(logFile, 'a');
    const args = [
      bin,
      'serve',
      '--data-dir',
      dirs[i],
      '--hostname',
      `bench${i + 1}.example.test`,
      '--domain',
      opts.domain,
      '--listen',
      'smtp=127.0.0.1:0',
      '--listen',
      'imap=127.0.0.1:0',
      ...['pop3', 'submission', 'submissions', 'pop3s', 'imaps', 'managesieve'].flatMap((l) => [
        '--listen',
        `${l}=off`,
      ]),
      '--listen',
      `http=${opts.web === 'on' ? '127.0.0.1:0' : 'off'}`,
      '--set',
      'limits.connections_per_ip=100000',
      ...(url ? ['--store', url, '--node', names[i]] : []),
    ];
    const nodeArgs: string[] = [];
    if (opts.cpuProf !== null) {
      const dir = path.resolve(opts.cpuProf || 'bench-profiles', setup.key);
      mkdirSync(dir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
    }
    const child = spawn(process.execPath, [...nodeArgs, ...args], {
      cwd: top,
      env: childEnv(),
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    return ServerProcess.wait(child, logFile);
  };
  const started = await Promise.allSettled(dirs.map((_, i) => launch(i)));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (opts.keep) log(`kept ${setup.label}'s data dirs and logs in ${top}${url ? ` and the schema ${schema}` : ''}`);
    else {
      rmSync(top, { recursive: true, force: true });
      if (url) await sql(opts.store, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const smtpPorts = servers.map((s) => s.port('smtp'));
  const imapPorts = servers.map((s) => s.port('imap'));
  log(`${setup.label}: ${servers.map((s, i) => `pid ${s.pid} smtp ${smtpPorts[i]} imap ${imapPorts[i]}`).join('; ')}`);
  return {
    setup,
    servers,
    smtpPorts,
    imapPorts,
    async backendPids() {
      if (!url) return [];
      const rows = await sql<{ pid: number }>(
        opts.store,
        `SELECT pid FROM pg_stat_activity WHERE application_name = ANY($1::text[])`,
        [names.map((n) => `postbode ${n}`)],
      );
      return rows.map((r) => r.pid);
    },
    stop,
  };
}

function benchAccounts(opts: BenchOptions): { main: string[]; idle: string; fetch: string[] } {
  const at = `@${opts.domain}`;
  return {
    main: Array.from({ length: opts.nodesAccounts }, (_, i) => `${opts.user}${i === 0 ? '' : i + 1}${at}`),
    idle: `${opts.user}idle${at}`,
    fetch: Array.from({ length: opts.imapClients }, (_, i) => `${opts.user}imap${i + 1}${at}`),
  };
}

/** CPU seconds of the nodes, their PostgreSQL backends and this process since `start()`. */
class ClusterMeter {
  #nodes0 = 0;
  #pg0 = new Map<number, number>();
  #self0 = process.cpuUsage();
  constructor(readonly cluster: Cluster) {}
  async start(): Promise<void> {
    this.#nodes0 = cpuOf(processTree(this.cluster.servers.map((s) => s.pid))).seconds;
    this.#pg0 = new Map((await this.cluster.backendPids()).map((pid) => [pid, cpuOf([pid]).seconds]));
    this.#self0 = process.cpuUsage();
  }
  async text(): Promise<string> {
    const self = process.cpuUsage(this.#self0);
    const nodes = cpuOf(processTree(this.cluster.servers.map((s) => s.pid))).seconds - this.#nodes0;
    let pgCpu = 0;
    for (const pid of await this.cluster.backendPids()) pgCpu += cpuOf([pid]).seconds - (this.#pg0.get(pid) ?? 0);
    const pgText = this.cluster.setup.backend === 'postgresql' ? `, postgres backends ${pgCpu.toFixed(1)} s` : '';
    return `cpu: nodes ${nodes.toFixed(1)} s${pgText}, bench ${((self.user + self.system) / 1e6).toFixed(1)} s`;
  }
}

type Emit = (f: Omit<Figure, 'side'>) => void;

async function deliveries(cluster: Cluster, opts: BenchOptions, emit: Emit): Promise<number> {
  const load = (messages: number, runId: string) =>
    smtpConnectionLoad({
      host: HOST,
      ports: cluster.smtpPorts,
      sessions: opts.smtpSessions,
      messages,
      size: opts.smtpSize,
      from: FROM,
      rcpts: benchAccounts(opts).main,
      helo: HELO,
      runId,
      timeoutMs: 600_000,
    });
  const runId = `${Date.now().toString(36)}.${cluster.setup.key}`;
  // Every node warm (its lazily loaded modules loaded, its hot paths compiled), as a running server is:
  // else each node of N pays its start-up inside the measured load, N times what one node pays.
  if (opts.nodesWarmup > 0) {
    const w = await load(opts.nodesWarmup * cluster.setup.nodes, `${runId}w`);
    if (w.accepted < opts.nodesWarmup * cluster.setup.nodes) note(`      warm-up: ${w.accepted} accepted`);
  }
  const meter = new ClusterMeter(cluster);
  await meter.start();
  const r = await load(opts.nodesMessages, runId);
  const value = r.accepted / r.seconds;
  const problems =
    (r.refused > 0 ? `, ${r.refused} REFUSED` : '') + (r.errors.length > 0 ? `, ${r.errors.length} ERRORS` : '');
  emit({
    area: 'smtp',
    key: `nodes.deliveries.${cluster.setup.key}`,
    server: cluster.setup.label,
    label: 'deliveries, 1 msg/conn',
    value,
    unit: 'msg/s',
    detail:
      `${opts.smtpSessions} sessions over ${cluster.setup.nodes} node(s), ${(opts.smtpSize / 1024).toFixed(0)} KB, ` +
      `into ${opts.nodesAccounts === 1 ? 'one account' : `${opts.nodesAccounts} accounts in turn`}, ` +
      `${r.accepted}/${opts.nodesMessages} in ${r.seconds.toFixed(2)} s, connect-to-250 p50 ` +
      `${percentile(r.latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(r.latenciesMs, 99).toFixed(1)} ms, ` +
      `${await meter.text()}${problems}`,
    higherIsBetter: true,
  });
  for (const [text, n] of r.refusals) note(`      ${n}x refused: ${text}`);
  for (const e of new Set(r.errors.slice(0, 5))) note(`      error: ${e}`);
  return value;
}

async function fetches(cluster: Cluster, opts: BenchOptions, emit: Emit): Promise<number> {
  const meter = new ClusterMeter(cluster);
  const command = `FETCH 1:${opts.imapMessages} (BODY.PEEK[])`;
  const r = await imapFetchLoad({
    host: HOST,
    port: cluster.imapPorts,
    users: benchAccounts(opts).fetch,
    password: opts.password,
    seconds: opts.imapSeconds,
    timeoutMs: opts.imapSeconds * 1000 + 60_000,
    command,
    onStart: () => void meter.start(),
  });
  const value = r.commands > 0 ? r.messages / r.seconds : Number.NaN;
  emit({
    area: 'imap',
    key: `nodes.fetch.${cluster.setup.key}`,
    server: cluster.setup.label,
    label: 'FETCH full messages',
    value,
    unit: 'msg/s',
    detail:
      `${opts.imapClients} clients over ${cluster.setup.nodes} node(s), ${r.mailboxMin} x ${(opts.imapSize / 1024).toFixed(1)} KB, ` +
      `${command} x ${r.commands}: ${r.messages} msgs, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(2)} s, ` +
      `per FETCH p50 ${percentile(r.commandMs, 50).toFixed(1)} ms, ${await meter.text()}` +
      (r.errors.length > 0 ? `, ${r.errors.length} ERRORS` : '') +
      (r.refused ? `, refused: ${errorText(r.refused)}` : ''),
    higherIsBetter: true,
  });
  return value;
}

/** Arrival times of `* N EXISTS` on a socket, by N (timestamped as the bytes arrive). */
function existsArrivals(client: ImapClient): { at: Map<number, number>; wait(n: number, ms: number): Promise<number> } {
  const at = new Map<number, number>();
  let waiter: { n: number; resolve: (t: number) => void } | null = null;
  let carry = '';
  client.conn.socket.on('data', (chunk: Buffer) => {
    const now = performance.now();
    const text = carry + chunk.toString('latin1');
    const lastNl = text.lastIndexOf('\n');
    carry = text.slice(lastNl + 1);
    for (const m of text.slice(0, lastNl + 1).matchAll(/^\* (\d+) EXISTS\r$/gm)) {
      const n = Number(m[1]);
      if (!at.has(n)) at.set(n, now);
      if (waiter && n >= waiter.n) {
        const w = waiter;
        waiter = null;
        w.resolve(now);
      }
    }
  });
  return {
    at,
    wait(n, ms) {
      const seen = [...at].find(([k]) => k >= n);
      if (seen) return Promise.resolve(seen[1]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(new Error(`no * ${n} EXISTS within ${ms} ms`));
        }, ms);
        waiter = {
          n,
          resolve: (t) => {
            clearTimeout(timer);
            resolve(t);
          },
        };
      });
    },
  };
}

async function idleLatency(cluster: Cluster, opts: BenchOptions, emit: Emit): Promise<number> {
  const { idle } = benchAccounts(opts);
  const cross = cluster.setup.nodes > 1;
  const senderPorts = cross ? cluster.smtpPorts.slice(1) : cluster.smtpPorts;
  const base = {
    area: 'imap' as const,
    key: `nodes.idle.${cluster.setup.key}`,
    server: cluster.setup.label,
    label: cross ? 'IDLE latency, other node' : 'IDLE latency, same node',
    unit: 'ms',
    higherIsBetter: false,
  };
  const reader = await ImapClient.open(HOST, cluster.imapPorts[0]);
  const senders: SmtpClient[] = [];
  try {
    await reader.login(idle, opts.password);
    const exists0 = await reader.select('INBOX');
    const arrivals = existsArrivals(reader);
    reader.conn.write('I1 IDLE\r\n');
    const cont = await reader.readResponse();
    if (!cont.text.startsWith('+')) throw new Error(`IDLE: ${cont.text}`);
    for (const port of senderPorts) senders.push(await SmtpClient.open(HOST, port, HELO));
    const ms: number[] = [];
    for (let k = 1; k <= opts.nodesIdleSamples; k++) {
      const payload = buildMessage({
        size: 1024,
        from: FROM,
        to: idle,
        id: `idle.${k}.${cluster.setup.key}@bench.invalid`,
        subject: `bench IDLE ${k}`,
      });
      const reply = await senders[k % senders.length].send(FROM, [idle], payload);
      const t250 = performance.now();
      if (reply.code !== 250) throw new Error(`message ${k} refused: ${reply.text}`);
      ms.push((await arrivals.wait(exists0 + k, 10_000)) - t250);
    }
    const early = ms.filter((x) => x < 0).length;
    emit({
      ...base,
      value: percentile(ms, 99),
      detail:
        `p99; 250 on ${cross ? `node${cluster.setup.nodes > 2 ? 's' : ''} 2${cluster.setup.nodes > 2 ? `-${cluster.setup.nodes}` : ''}` : 'the node'} ` +
        `-> * N EXISTS in IDLE on node 1, ${ms.length} messages one at a time: p50 ${percentile(ms, 50).toFixed(2)} ms, ` +
        `p99 ${percentile(ms, 99).toFixed(2)} ms, max ${Math.max(...ms).toFixed(2)} ms` +
        (early > 0 ? `, ${early} EXISTS before the 250` : ''),
    });
    return percentile(ms, 99);
  } catch (err) {
    emit({ ...base, value: Number.NaN, detail: `failed: ${errorText(err)}` });
    return Number.NaN;
  } finally {
    for (const s of senders) await s.quit();
    reader.conn.destroy();
  }
}

/** The multi-node figures (see the header) and the targets of issue 9. */
export async function nodesBench(opts: BenchOptions): Promise<Figure[]> {
  await ensureDatabase(opts.store);
  const setups = (
    [
      ['sqlite', { label: 'sqlite', key: 'sqlite', backend: 'sqlite', nodes: 1 }],
      ['pg1', { label: 'pg', key: 'pg1', backend: 'postgresql', nodes: 1 }],
      ['pgN', { label: `pg x${opts.nodes}`, key: `pg${opts.nodes}`, backend: 'postgresql', nodes: opts.nodes }],
    ] as const
  ).flatMap(([name, setup]): Setup[] => (opts.nodesSetups.has(name) ? [setup] : []));
  note(
    `# nodes: ${bare(opts.store, true)}; deliveries: ${opts.smtpSessions} sessions, one ${opts.smtpSize} B message per connection, ` +
      `${opts.nodesMessages} msgs into ${opts.nodesAccounts} account(s); FETCH: ${opts.imapClients} clients x ${opts.imapMessages} msgs of ${opts.imapSize} B, ` +
      `${opts.imapSeconds} s; IDLE latency: ${opts.nodesIdleSamples} msgs; web lab ${opts.web}`,
  );
  const figures: Figure[] = [];
  const emit: Emit = (f) => {
    const fig = { ...f, side: 'postbode' as const };
    figures.push(fig);
    printFigure(fig);
  };
  const results = new Map<string, { deliveries: number; fetch: number; idleP99: number }>();
  let run = 0;
  for (const setup of setups) {
    note(
      `# ${setup.label}: ${setup.nodes} node(s) (load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    const cluster = await startCluster(setup, opts, ++run);
    try {
      const phases = opts.nodesPhases;
      const d = phases.has('deliveries') ? await deliveries(cluster, opts, emit) : Number.NaN;
      const f = phases.has('fetch') ? await fetches(cluster, opts, emit) : Number.NaN;
      const i = phases.has('idle') ? await idleLatency(cluster, opts, emit) : Number.NaN;
      results.set(setup.key, { deliveries: d, fetch: f, idleP99: i });
    } finally {
      await cluster.stop();
    }
  }
  // A phase left out (--nodes-phases) is NaN: its targets are not printed.
  const ran = (key: string, figure: 'deliveries' | 'fetch' | 'idleP99') => {
    const r = results.get(key);
    return r && Number.isFinite(r[figure]) ? r : undefined;
  };
  const sqlite = ran('sqlite', 'deliveries');
  const one = ran('pg1', 'deliveries');
  const many = ran(`pg${opts.nodes}`, 'deliveries');
  const manyIdle = ran(`pg${opts.nodes}`, 'idleP99');
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  note('');
  note('targets (issue 9)');
  if (one)
    note(`PostgreSQL x1 >= 1000 deliveries/s: ${verdict(one.deliveries >= 1000)} (${one.deliveries.toFixed(0)})`);
  if (one && sqlite) {
    const r = one.deliveries / sqlite.deliveries;
    note(`PostgreSQL x1 >= 0.5x SQLite deliveries: ${verdict(r >= 0.5)} (${r.toFixed(2)}x)`);
  }
  if (one && many) {
    const r = many.deliveries / one.deliveries;
    note(`PostgreSQL x${opts.nodes} >= 0.8x x1 deliveries: ${verdict(r >= 0.8)} (${r.toFixed(2)}x)`);
    note(`  (FETCH: x${opts.nodes} / x1 = ${(many.fetch / one.fetch).toFixed(2)}x)`);
  }
  if (manyIdle) {
    note(`cross-node IDLE p99 <= 250 ms: ${verdict(manyIdle.idleP99 <= 250)} (${manyIdle.idleP99.toFixed(1)} ms)`);
  }
  return figures;
}
