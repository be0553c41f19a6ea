/**
 * The measurements against one target, in this order:
 * 1. Idle connections: SMTP greeted, POP3 greeted, POP3 logged in, IMAP in IDLE; memory before and
 *    after, each phase on a quiesced server (postbode: a fresh process).
 * 2. POP3: fill one mailbox of `pop3Messages` per client over SMTP, then the POP3 load.
 * 3. IMAP: logins per second, full-message FETCH throughput, SEARCH on a large mailbox (imap-suite.ts).
 * 4. SMTP: the pipelined load into the main account; for servers that deliver after accepting, also
 *    the time until every accepted message is in the mailbox.
 * SMTP runs last so that its thousands of messages do not sit in the way of the other figures.
 */
import { startFloor } from './floor.js';
import { closeAll, type IdleKind, openIdle } from './idle.js';
import { ImapClient } from './imap.js';
import { imapPart } from './imap-suite.js';
import type { BenchOptions } from './options.js';
import { Pop3Client, pop3Load } from './pop3.js';
import { cpuOf, type MemorySample, memoryOf, processTree } from './proc.js';
import { type Figure, note, percentile, printFigure } from './report.js';
import { errorText, sendMessages, smtpConnectionLoad, smtpLoad } from './smtp.js';
import type { HeapSample, Target } from './targets.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface BenchUsers {
  main: string;
  pop: string[];
  /** Logged-in idle POP3 connections (the first idleLoggedIn of `idleAccounts`). */
  idle: string[];
  /** IMAP IDLE connections (the first imapIdle of `idleAccounts`). */
  imapIdle: string[];
  /** Every idle account (empty mailboxes), shared by the POP3 and IMAP idle phases. */
  idleAccounts: string[];
  /** IMAP FETCH mailboxes, one per client; the login load uses them too. */
  imap: string[];
  /** The large IMAP SEARCH mailbox, or null. */
  imapSearch: string | null;
}

export function benchUsers(opts: BenchOptions): BenchUsers {
  const at = `@${opts.domain}`;
  const imap = opts.only.has('imap');
  const pop3Idle = opts.only.has('idle') ? opts.idleLoggedIn : 0;
  const imapIdle = imap || opts.only.has('imap-idle') ? opts.imapIdle : 0;
  const idleAccounts = Array.from({ length: Math.max(pop3Idle, imapIdle) }, (_, i) => `${opts.user}idle${i + 1}${at}`);
  return {
    main: `${opts.user}${at}`,
    pop: opts.only.has('pop3')
      ? Array.from({ length: opts.pop3Clients }, (_, i) => `${opts.user}pop${i + 1}${at}`)
      : [],
    idle: idleAccounts.slice(0, pop3Idle),
    imapIdle: idleAccounts.slice(0, imapIdle),
    idleAccounts,
    imap: imap
      ? Array.from(
          { length: Math.max(opts.imapClients, opts.imapLoginClients) },
          (_, i) => `${opts.user}imap${i + 1}${at}`,
        )
      : [],
    imapSearch: imap && opts.imapSearchMessages > 0 ? `${opts.user}imapsearch${at}` : null,
  };
}

export class Meter {
  readonly #target: Target;
  #cpu0 = 0;
  #client0: NodeJS.CpuUsage = process.cpuUsage();
  constructor(target: Target) {
    this.#target = target;
  }
  get known(): boolean {
    return this.#target.rootPids().length > 0;
  }
  start(): void {
    this.#cpu0 = cpuOf(processTree(this.#target.rootPids())).seconds;
    this.#client0 = process.cpuUsage();
  }
  /** Server and bench CPU seconds since start(). */
  read(): { server: number; bench: number } {
    const c = process.cpuUsage(this.#client0);
    return {
      server: cpuOf(processTree(this.#target.rootPids())).seconds - this.#cpu0,
      bench: (c.user + c.system) / 1e6,
    };
  }
  text(): string {
    const { server, bench } = this.read();
    return `${this.known ? `server cpu ${server.toFixed(1)} s, ` : ''}bench cpu ${bench.toFixed(1)} s`;
  }
}

export async function waitForCount(
  target: Target,
  address: string,
  want: number,
  timeoutMs: number,
  intervalMs: number,
): Promise<{ count: number; reached: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let count = 0;
  for (;;) {
    try {
      count = await target.mailboxCount(address);
    } catch {
      // e.g. the mailbox does not exist yet
    }
    if (count >= want) return { count, reached: true };
    if (Date.now() > deadline) return { count, reached: false };
    await sleep(intervalMs);
  }
}

export async function runSuite(target: Target, opts: BenchOptions, side: Figure['side']): Promise<Figure[]> {
  const users = benchUsers(opts);
  await target.ensureUsers([
    users.main,
    ...users.pop,
    ...users.idleAccounts,
    ...users.imap,
    ...(users.imapSearch ? [users.imapSearch] : []),
  ]);
  const figures: Figure[] = [];
  const emit = (f: Omit<Figure, 'side'>) => {
    const fig = { ...f, side };
    figures.push(fig);
    printFigure(fig);
  };
  const helo = 'loadgen.bench.invalid';
  const from = `sender@remote.test`;
  const runId = `${Date.now().toString(36)}.${process.pid}`;

  if (opts.only.has('idle') || users.imapIdle.length > 0) await idlePart(target, opts, users, emit);
  if (opts.only.has('pop3')) await pop3Part(target, opts, users, { helo, from, runId }, emit);
  if (opts.only.has('imap')) await imapPart(target, opts, users, { helo, from, runId }, emit);
  if (opts.only.has('smtp')) await smtpPart(target, opts, users, { helo, from, runId }, emit);
  return figures;
}

export type Emit = (f: Omit<Figure, 'side'>) => void;
export interface Ids {
  helo: string;
  from: string;
  runId: string;
}

/**
 * Gives each account exactly `want` messages of `size` bytes, sent over SMTP (one transaction for all
 * accounts per message) and awaited with `target.mailboxCount`. With `reuse`, accounts that already
 * hold exactly `want` messages (the reference stack keeps its mailboxes between runs) are left alone
 * when all of them do.
 */
export async function fillOverSmtp(
  target: Target,
  accounts: readonly string[],
  want: number,
  size: number,
  ids: Ids,
  reuse: boolean,
): Promise<void> {
  await target.settle();
  if (reuse) {
    const now = await Promise.all(accounts.map((u) => target.mailboxCount(u).catch(() => -1)));
    if (now.every((n) => n === want)) return;
  }
  const counts: number[] = [];
  for (const u of accounts) {
    counts.push((await target.emptyMailbox(u)) ? 0 : await target.mailboxCount(u).catch(() => 0));
  }
  const missing = want - Math.min(...counts);
  if (missing > 0) {
    await sendMessages({
      host: target.host,
      port: target.smtpPort,
      helo: ids.helo,
      from: ids.from,
      rcpts: accounts,
      count: missing,
      size,
      runId: ids.runId,
    });
  }
  for (const u of accounts) {
    const { count, reached } = await waitForCount(target, u, want, 120_000, 100);
    if (!reached) throw new Error(`mailbox ${u} has ${count} messages, not ${want}, 120 s after filling`);
  }
}

async function pop3Part(target: Target, opts: BenchOptions, users: BenchUsers, ids: Ids, emit: Emit): Promise<void> {
  await fillOverSmtp(target, users.pop, opts.pop3Messages, opts.pop3Size, ids, false);

  const meter = new Meter(target);
  const r = await pop3Load({
    host: target.host,
    port: target.pop3Port,
    users: users.pop,
    password: opts.password,
    seconds: opts.pop3Seconds,
    timeoutMs: opts.pop3Seconds * 1000 + 60_000,
    onStart: () => meter.start(),
  });
  const box = r.mailboxMin === r.mailboxMax ? `${r.mailboxMin}` : `${r.mailboxMin}-${r.mailboxMax}`;
  emit({
    area: 'pop3',
    key: 'pop3.retrieved',
    server: target.pop3Label,
    label: 'messages retrieved',
    value: r.retrieved / r.seconds,
    unit: 'msg/s',
    detail:
      `${users.pop.length} clients, ${box} x ${(opts.pop3Size / 1024).toFixed(1)} KB, ${r.sessions} sessions, ` +
      `${r.retrieved} RETR in ${r.seconds.toFixed(2)} s, login p50 ${percentile(r.loginMs, 50).toFixed(1)} ms, ${meter.text()}` +
      (r.errors.length > 0 ? `, ${r.errors.length} ERRORS` : ''),
    higherIsBetter: true,
  });
  for (const e of new Set(r.errors.slice(0, 5))) note(`      error: ${e}`);
}

async function idlePart(target: Target, opts: BenchOptions, users: BenchUsers, emit: Emit): Promise<void> {
  const phases: {
    kind: IdleKind;
    key: string;
    area: Figure['area'];
    label: string;
    count: number;
    port: number;
    server: string;
    users: string[];
  }[] = [];
  if (opts.only.has('idle')) {
    phases.push(
      {
        kind: 'smtp',
        key: 'idle.smtp',
        area: 'idle',
        label: 'smtp idle connection',
        count: opts.idleConnections,
        port: target.smtpPort,
        server: target.smtpLabel,
        users: [],
      },
      {
        kind: 'pop3',
        key: 'idle.pop3',
        area: 'idle',
        label: 'pop3 idle connection',
        count: opts.idleConnections,
        port: target.pop3Port,
        server: target.pop3Label,
        users: [],
      },
    );
  }
  if (opts.only.has('idle') && users.idle.length > 0) {
    phases.push({
      kind: 'pop3-login',
      key: 'idle.pop3-login',
      area: 'idle',
      label: 'pop3 logged-in idle conn',
      count: users.idle.length,
      port: target.pop3Port,
      server: target.pop3Label,
      users: users.idle,
    });
  }
  if (users.imapIdle.length > 0 && target.imapPort > 0) {
    phases.push({
      kind: 'imap-idle',
      key: 'imap.idle',
      area: 'imap',
      label: 'IDLE connection',
      count: users.imapIdle.length,
      port: target.imapPort,
      server: target.imapLabel,
      users: users.imapIdle,
    });
  }
  await target.quiesce();
  for (const phase of phases) {
    if (phase.kind === 'pop3-login') await warmLogins(target, phase.users, opts.password, 'pop3');
    if (phase.kind === 'imap-idle') {
      try {
        const t0 = performance.now();
        await warmLogins(target, phase.users, opts.password, 'imap');
        note(`      warm-up: ${phase.users.length} IMAP logins in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        emit({
          area: phase.area,
          key: phase.key,
          server: phase.server,
          label: phase.label,
          value: Number.NaN,
          unit: 'KB/conn',
          detail: `warm-up logins failed: ${errorText(err)}`,
          higherIsBetter: false,
        });
        continue;
      }
    }
    const roots = target.rootPids();
    await sleep(1000);
    const before = await settledMemory(target, roots);
    const r = await openIdle({
      kind: phase.kind,
      host: target.host,
      port: phase.port,
      count: phase.count,
      users: phase.users,
      password: opts.password,
      concurrency: opts.idleConcurrency,
      timeoutMs: 10_000,
    });
    await sleep(1500);
    const after = await settledMemory(target, roots);
    // Only connections still open now count: a server at its limits may drop older ones (Dovecot
    // does when pop3-login reaches its process_limit).
    const held = r.conns.filter((c) => !c.closed).length;
    const dropped = r.held - held;
    const notes = [
      r.stoppedEarly ? `the server stopped greeting after ${r.held}` : '',
      dropped > 0 ? `${dropped} greeted ones dropped by the server` : '',
    ].filter(Boolean);
    const errors = [...r.errors].map(([e, n]) => `${n}x ${e}`).join('; ');
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    if (roots.length === 0) {
      note(
        `idle  ${phase.server.padEnd(9)} ${phase.label}: ${held} open; memory not measured (no server pid: --server-pid)`,
      );
    } else {
      const rssPer = held > 0 ? ((after.rssKb - before.rssKb) / held).toFixed(1) : 'n/a';
      emit({
        area: phase.area,
        key: phase.key,
        server: phase.server,
        label: phase.label,
        value: held > 0 ? (after.pssKb - before.pssKb) / held : Number.NaN,
        unit: 'KB/conn',
        detail:
          `Pss; ${held} of ${phase.count} ${phase.kind === 'imap-idle' ? 'in IDLE' : 'open'}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}; ` +
          `Pss ${mb(before.pssKb)} -> ${mb(after.pssKb)} MB${after.collected ? ' after a full gc' : ''}, ` +
          `RSS ${mb(before.rssKb)} -> ${mb(after.rssKb)} MB (${rssPer} KB/conn), ` +
          `${before.processes} -> ${after.processes} processes, opened in ${r.seconds.toFixed(1)} s` +
          (before.heap && after.heap
            ? `; JS heap ${mb(before.heap.heapUsed / 1024)} -> ${mb(after.heap.heapUsed / 1024)} MB ` +
              `(${((after.heap.heapUsed - before.heap.heapUsed) / 1024 / held).toFixed(1)} KB/conn), ` +
              `buffers ${mb(before.heap.arrayBuffers / 1024)} -> ${mb(after.heap.arrayBuffers / 1024)} MB`
            : ''),
        higherIsBetter: false,
      });
    }
    if (r.failed > 0) note(`      ${r.failed} not greeted: ${errors.slice(0, 300)}`);
    await closeAll(r.conns);
    // Back to a fresh, idle server (Dovecot's per-connection processes exit; Postfix's idle smtpd
    // processes are told to exit; postbode restarts) before the next phase.
    await target.quiesce();
    const deadline = Date.now() + 15_000;
    while (roots.length > 0 && Date.now() < deadline && processTree(target.rootPids()).length > before.processes) {
      await sleep(200);
    }
  }
}

/**
 * The server's memory once its garbage collection has settled: full collections first where the target
 * can be told to run them (postbode: `collectGarbage`), then Pss read every 500 ms until four readings
 * in a row (1.5 s) lie within 256 KiB of each other, at most 20 s (freed heap pages are returned to the
 * system by V8's background threads shortly after the collection, not during it).
 */
async function settledMemory(
  target: Target,
  roots: number[],
): Promise<MemorySample & { collected: boolean; heap: HeapSample | null }> {
  const collected = roots.length > 0 && (await target.collectGarbage());
  const readings: MemorySample[] = [memoryOf(processTree(roots))];
  const deadline = Date.now() + 20_000;
  for (;;) {
    const last = readings.slice(-4).map((r) => r.pssKb);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) < 256) break;
    if (Date.now() > deadline) break;
    await sleep(500);
    readings.push(memoryOf(processTree(roots)));
  }
  return { ...readings[readings.length - 1], collected, heap: await target.heap() };
}

/**
 * Logs every account in once, so that one-time costs of a first login (postbode: an scrypt hash with
 * 16 MB of working memory, which the allocator keeps; later logins hit its cache of verified
 * passwords) are not counted as memory held by the idle connections.
 */
async function warmLogins(
  target: Target,
  accounts: readonly string[],
  password: string,
  protocol: 'pop3' | 'imap',
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < accounts.length) {
        const account = accounts[next++];
        if (protocol === 'imap') {
          const client = await ImapClient.open(target.host, target.imapPort);
          try {
            await client.login(account, password);
          } finally {
            await client.logout();
          }
        } else {
          const client = await Pop3Client.open(target.host, target.pop3Port);
          try {
            await client.login(account, password);
          } finally {
            await client.quit();
          }
        }
      }
    }),
  );
}

async function smtpPart(target: Target, opts: BenchOptions, users: BenchUsers, ids: Ids, emit: Emit): Promise<void> {
  await target.settle();
  const emptied = await target.emptyMailbox(users.main);
  const baseline = emptied ? 0 : await target.mailboxCount(users.main).catch(() => 0);
  const meter = new Meter(target);
  let t0 = 0;
  const r = await smtpLoad({
    host: target.host,
    port: target.smtpPort,
    sessions: opts.smtpSessions,
    messages: opts.smtpMessages,
    size: opts.smtpSize,
    from: ids.from,
    rcpts: [users.main],
    helo: ids.helo,
    runId: ids.runId,
    timeoutMs: 600_000,
    onStart: () => {
      meter.start();
      t0 = performance.now();
    },
  });
  const acceptCpu = meter.text();
  const kb = `${(opts.smtpSize / 1024).toFixed(opts.smtpSize % 1024 === 0 ? 0 : 1)} KB`;
  const problems =
    (r.refused > 0 ? `, ${r.refused} REFUSED` : '') +
    (r.sessionErrors.length > 0 ? `, ${r.sessionErrors.length} SESSION ERRORS` : '');
  const lat = `p50 ${percentile(r.latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(r.latenciesMs, 99).toFixed(1)} ms`;
  const accepted = r.accepted / r.seconds;
  emit({
    area: 'smtp',
    key: 'smtp.accepted',
    server: target.smtpLabel,
    label: 'accepted durably',
    value: accepted,
    unit: 'msg/s',
    detail:
      `${opts.smtpSessions} sessions, ${kb}, ${r.accepted}/${opts.smtpMessages} msgs in ${r.seconds.toFixed(2)} s, ` +
      `${lat}${r.pipelining ? '' : ', NO PIPELINING'}, ${acceptCpu}${problems}`,
    higherIsBetter: true,
  });
  for (const [text, n] of r.refusals) note(`      ${n}x refused: ${text}`);
  for (const e of new Set(r.sessionErrors.slice(0, 5))) note(`      session error: ${e}`);

  const want = baseline + r.accepted;
  if (target.acceptedIsDelivered) {
    const { count } = await waitForCount(target, users.main, want, 0, 0).catch((err: unknown) => {
      note(`      could not count the mailbox: ${errorText(err)}`);
      return { count: Number.NaN };
    });
    emit({
      area: 'smtp',
      key: 'smtp.delivered',
      server: target.smtpLabel,
      label: 'delivered to mailbox',
      value: accepted,
      unit: 'msg/s',
      detail: `250 after DATA = stored in the mailbox; same run; mailbox holds ${count - baseline}/${r.accepted}`,
      higherIsBetter: true,
    });
  } else {
    const { count, reached } = await waitForCount(target, users.main, want, 300_000, 100);
    const seconds = (performance.now() - t0) / 1000;
    emit({
      area: 'smtp',
      key: 'smtp.delivered',
      server: target.smtpLabel,
      label: 'delivered to mailbox',
      value: reached ? r.accepted / seconds : Number.NaN,
      unit: 'msg/s',
      detail: reached
        ? `all ${r.accepted} accepted msgs in the mailbox ${seconds.toFixed(2)} s after the first MAIL, ${meter.text()}`
        : `only ${count - baseline}/${r.accepted} in the mailbox after 300 s`,
      higherIsBetter: true,
    });
  }

  await smtpPerConnection(target, opts, users, ids, emit);
}

/**
 * One message per connection (issue 14): `smtpSessions` clients each loop connect → EHLO → MAIL/RCPT/DATA
 * → 250 → QUIT, as mail arrives from many MTAs (Postfix's smtp-source without -d). Most of the cost is
 * per connection, which the pipelined figure above does not show.
 */
async function smtpPerConnection(
  target: Target,
  opts: BenchOptions,
  users: BenchUsers,
  ids: Ids,
  emit: Emit,
): Promise<void> {
  await target.settle();
  await target.emptyMailbox(users.main);
  const meter = new Meter(target);
  const messages = Math.min(opts.smtpMessages, 5000);
  const r = await smtpConnectionLoad({
    ...perConnectionLoad(opts, ids, users, messages),
    host: target.host,
    ports: [target.smtpPort],
    runId: `${ids.runId}c`,
    onStart: () => meter.start(),
  });
  const problems =
    (r.refused > 0 ? `, ${r.refused} REFUSED` : '') + (r.errors.length > 0 ? `, ${r.errors.length} ERRORS` : '');
  const lat = `p50 ${percentile(r.latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(r.latenciesMs, 99).toFixed(1)} ms`;
  emit({
    area: 'smtp',
    key: 'smtp.per-connection',
    server: target.smtpLabel,
    label: 'one msg per connection',
    value: r.accepted / r.seconds,
    unit: 'msg/s',
    detail:
      `${opts.smtpSessions} clients, connect/EHLO/MAIL/RCPT/DATA/QUIT each, ${r.accepted}/${messages} msgs in ` +
      `${r.seconds.toFixed(2)} s, ${lat}, ${meter.text()}${problems}` +
      (target.acceptedIsDelivered ? '' : ' (accepted, not yet delivered)'),
    higherIsBetter: true,
  });
  for (const [text, n] of r.refusals) note(`      ${n}x refused: ${text}`);
  for (const e of new Set(r.errors.slice(0, 5))) note(`      error: ${e}`);
  if (target.kind === 'postbode') await perConnectionFloor(opts, ids, users, messages, emit);
}

/** What the one-per-connection loads against postbode and against the floor have in common. */
function perConnectionLoad(opts: BenchOptions, ids: Ids, users: BenchUsers, messages: number) {
  return {
    sessions: opts.smtpSessions,
    messages,
    size: opts.smtpSize,
    from: ids.from,
    rcpts: [users.main],
    helo: ids.helo,
    timeoutMs: 600_000,
  };
}

/** The same load against a bare Node.js responder that stores nothing (floor.ts): the machine's floor. */
async function perConnectionFloor(
  opts: BenchOptions,
  ids: Ids,
  users: BenchUsers,
  messages: number,
  emit: Emit,
): Promise<void> {
  const floor = await startFloor();
  try {
    let cpu0 = 0;
    let client0 = process.cpuUsage();
    const r = await smtpConnectionLoad({
      ...perConnectionLoad(opts, ids, users, messages),
      host: '127.0.0.1',
      ports: [floor.port],
      runId: `${ids.runId}f`,
      onStart: () => {
        cpu0 = cpuOf([floor.pid]).seconds;
        client0 = process.cpuUsage();
      },
    });
    const server = cpuOf([floor.pid]).seconds - cpu0;
    const c = process.cpuUsage(client0);
    emit({
      area: 'smtp',
      key: 'smtp.per-connection-floor',
      server: 'node floor',
      label: 'one msg per conn., floor',
      value: r.accepted / r.seconds,
      unit: 'msg/s',
      detail:
        `the same load against a bare Node.js responder that stores nothing (bench/floor.ts): ${r.accepted}/${messages} ` +
        `in ${r.seconds.toFixed(2)} s, server cpu ${server.toFixed(1)} s (${((server / Math.max(1, r.accepted)) * 1e6).toFixed(0)} us/conn), ` +
        `bench cpu ${((c.user + c.system) / 1e6).toFixed(1)} s`,
      higherIsBetter: true,
    });
  } finally {
    await floor.stop();
  }
}
