/**
 * `npm run bench`: SMTP accept rate, POP3 retrieval rate, IMAP logins, FETCH throughput and SEARCH
 * latency, and memory per idle connection of postbode and, with --compare or --against postfix, of the
 * reference Postfix + Dovecot stack; with --store postgresql://… (or --pg), postbode on several nodes
 * over PostgreSQL next to one node over SQLite (bench/nodes.ts).
 * See docs/benchmarks.md for the method and `npm run bench -- --help` for the options.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { searchMessage } from './imap-messages.js';
import { nodesBench } from './nodes.js';
import { type BenchOptions, parseOptions, usage } from './options.js';
import { outboundBench } from './outbound.js';
import { ensureOpenFiles } from './proc.js';
import { type Figure, machine, note, printIdleTarget, printRatios, printSmtpTarget, ratios } from './report.js';
import { benchUsers, runSuite } from './suite.js';
import { buildIfStale, externalTarget, refstackSetting, startPostbode, startRefstack, type Target } from './targets.js';

interface Run {
  side: Figure['side'];
  name: string;
  start: () => Promise<Target>;
}

function plan(opts: BenchOptions): Run[] {
  const postbode: Run = {
    side: 'postbode',
    name: `postbode (web lab ${opts.web})`,
    start: async () => {
      if (opts.build !== 'never') buildIfStale(opts.build === 'always');
      const users = benchUsers(opts);
      const nodeArgs: string[] = [];
      if (opts.cpuProf !== null) {
        const dir = path.resolve(opts.cpuProf || 'bench-profiles');
        mkdirSync(dir, { recursive: true });
        nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
      }
      const search = users.imapSearch;
      return startPostbode({
        domain: opts.domain,
        password: opts.password,
        mainUser: users.main,
        moreUsers: [...users.pop, ...users.imap, ...(search ? [search] : [])],
        idleUsers: users.idleAccounts,
        fill: search
          ? [{ address: search, count: opts.imapSearchMessages, message: (i) => searchMessage(i, search) }]
          : [],
        imap: opts.only.has('imap') || opts.only.has('imap-idle'),
        keep: opts.keep,
        nodeArgs,
        web: opts.web,
      });
    },
  };
  const refstack: Run = {
    side: 'peer',
    name: 'Postfix + Dovecot (refstack)',
    start: () =>
      startRefstack({
        home: opts.refstackHome,
        stateDir: opts.refstackDir ?? refstackSetting(opts.refstackHome, 'REFSTACK_DIR'),
        password: opts.password,
      }),
  };
  if (opts.compare) return [postbode, refstack];
  if (opts.against === 'postfix') return [refstack];
  if (opts.against === 'external') {
    return [
      {
        side: 'peer',
        name: `${opts.label} at ${opts.host}`,
        start: async () =>
          externalTarget({
            label: opts.label,
            host: opts.host,
            smtpPort: opts.smtpPort,
            pop3Port: opts.pop3Port,
            imapPort: opts.imapPort,
            password: opts.password,
            pids: opts.serverPids,
          }),
      },
    ];
  }
  return [postbode];
}

async function main(): Promise<number> {
  let opts: BenchOptions | 'help';
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${usage()}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const m = machine();
  note(`# ${m.cores} cores (${m.cpu}), ${m.memoryGb} GiB, ${m.os}, node ${m.node}, ${new Date().toISOString()}`);
  const protocolParts = [...opts.only].some((p) => p !== 'outbound' && p !== 'nodes');
  if (protocolParts) {
    note(
      `# smtp: ${opts.smtpSessions} sessions x pipelined MAIL/RCPT/DATA, ${opts.smtpSize} B msgs, ${opts.smtpMessages} msgs; ` +
        `pop3: ${opts.pop3Clients} clients x ${opts.pop3Messages} msgs of ${opts.pop3Size} B, ${opts.pop3Seconds} s; ` +
        `idle: ${opts.idleConnections} smtp, ${opts.idleConnections} pop3, ${opts.idleLoggedIn} pop3 logged in; ` +
        `imap: ${opts.imapLoginClients} login clients, ${opts.imapClients} FETCH clients x ${opts.imapMessages} msgs of ${opts.imapSize} B, ` +
        `${opts.imapSeconds} s, SEARCH on ${opts.imapSearchMessages} msgs, ${opts.imapIdle} in IDLE`,
    );
  }
  // Every idle connection is a socket in the bench and one in the server (which inherits our limits),
  // plus what both hold anyway.
  const imapIdle = opts.only.has('imap') || opts.only.has('imap-idle') ? opts.imapIdle : 0;
  const idle = opts.only.has('idle') ? Math.max(opts.idleConnections, opts.idleLoggedIn) : 0;
  if (protocolParts && Math.max(idle, imapIdle) > 0) ensureOpenFiles(Math.max(idle, imapIdle) + 512);
  const figures: Figure[] = [];
  let failed = false;
  if (opts.only.has('outbound')) {
    if (opts.build !== 'never') buildIfStale(opts.build === 'always');
    try {
      figures.push(...(await outboundBench(opts)));
    } catch (err) {
      failed = true;
      process.stderr.write(`bench: outbound: ${describe(err)}\n`);
    }
  }
  if (opts.only.has('nodes')) {
    if (opts.build !== 'never') buildIfStale(opts.build === 'always');
    try {
      figures.push(...(await nodesBench(opts)));
    } catch (err) {
      failed = true;
      process.stderr.write(`bench: nodes: ${describe(err)}\n`);
    }
  }
  for (const run of protocolParts ? plan(opts) : []) {
    note(
      `# ${run.name} (load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    const started = performance.now();
    let target: Target | null = null;
    try {
      target = await run.start();
      figures.push(...(await runSuite(target, opts, run.side)));
    } catch (err) {
      failed = true;
      process.stderr.write(`bench: ${run.name}: ${describe(err)}\n`);
    } finally {
      await target?.stop();
    }
    note(`# ${run.name}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const list = ratios(figures);
  printRatios(list);
  if (figures.some((f) => f.side === 'postbode')) {
    printSmtpTarget(figures);
    printIdleTarget(figures);
  }
  if (opts.json) {
    writeFileSync(
      opts.json,
      `${JSON.stringify({ machine: m, date: new Date().toISOString(), options: { ...opts, only: [...opts.only] }, figures, ratios: list }, null, 2)}\n`,
    );
  }
  return failed ? 1 : 0;
}

/** The message; the stack too with BENCH_DEBUG=1. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return process.env.BENCH_DEBUG ? (err.stack ?? err.message) : err.message;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${describe(err)}\n`);
    process.exitCode = 1;
  },
);
