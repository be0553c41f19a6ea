/**
 * The IMAP figures against one target (the IDLE memory phase runs with the other idle phases in
 * suite.ts):
 * 1. logins/s: `imapLoginClients` clients loop connect → greeting → LOGIN → LOGOUT;
 * 2. full-message FETCH: one mailbox of `imapMessages` × `imapSize` per client (filled over SMTP),
 *    each client SELECTs once and loops `FETCH 1:N (BODY.PEEK[])`; messages/s and MB/s;
 * 3. a mailbox of `imapSearchMessages` small messages (bench/imap-messages.ts): time to SELECT it,
 *    SEARCH UNSEEN / FROM / SUBJECT / BODY and FETCH 1:* (FLAGS), median of `imapSearchRuns`.
 *
 * A command the server refuses (BAD/NO, e.g. not implemented yet) makes its figure `n/a (...)`
 * instead of ending the run.
 */
import {
  type CommandResult,
  ImapClient,
  ImapError,
  imapAppendAll,
  imapCount,
  imapFetchLoad,
  imapLoginLoad,
  notImplemented,
} from './imap.js';
import { expectedHits, SEARCH_QUERIES, searchMessage } from './imap-messages.js';
import type { BenchOptions } from './options.js';
import { note, percentile } from './report.js';
import { errorText } from './smtp.js';
import { type BenchUsers, type Emit, fillOverSmtp, type Ids, Meter } from './suite.js';
import type { Target } from './targets.js';

/** `n/a` detail for a figure that could not be measured. */
function why(err: unknown): string {
  if (notImplemented(err)) return `not implemented: ${errorText(err)}`;
  if (err instanceof ImapError && err.status !== null) return `refused: ${errorText(err)}`;
  return `failed: ${errorText(err)}`;
}

const median = (xs: number[]) => percentile(xs, 50);
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));

export async function imapPart(
  target: Target,
  opts: BenchOptions,
  users: BenchUsers,
  ids: Ids,
  emit: Emit,
): Promise<void> {
  const server = target.imapLabel;
  if (target.imapPort === 0) {
    note(`imap  ${server.padEnd(9)} no IMAP port known (--imap-port): skipped`);
    return;
  }
  await loginFigure(target, opts, users, emit);
  await fetchFigures(target, opts, users, ids, emit);
  if (users.imapSearch) await searchFigures(target, opts, users.imapSearch, emit);
}

async function loginFigure(target: Target, opts: BenchOptions, users: BenchUsers, emit: Emit): Promise<void> {
  const clients = users.imap.slice(0, opts.imapLoginClients);
  const base = {
    area: 'imap' as const,
    key: 'imap.logins',
    server: target.imapLabel,
    label: 'logins',
    unit: 'login/s',
    higherIsBetter: true,
  };
  const meter = new Meter(target);
  try {
    const r = await imapLoginLoad({
      host: target.host,
      port: target.imapPort,
      users: clients,
      password: opts.password,
      seconds: opts.imapSeconds,
      timeoutMs: opts.imapSeconds * 1000 + 60_000,
      onStart: () => meter.start(),
    });
    if (r.logins === 0) throw new Error(r.errors[0] ?? 'no login completed');
    emit({
      ...base,
      value: r.logins / r.seconds,
      detail:
        `${clients.length} clients x connect/greeting/LOGIN/LOGOUT, ${r.logins} in ${r.seconds.toFixed(2)} s, ` +
        `connect-to-LOGIN-OK p50 ${percentile(r.loginMs, 50).toFixed(1)} ms, p99 ${percentile(r.loginMs, 99).toFixed(1)} ms, ` +
        `${meter.text()}${r.errors.length > 0 ? `, ${r.errors.length} ERRORS` : ''}`,
    });
    for (const e of new Set(r.errors.slice(0, 5))) note(`      error: ${e}`);
  } catch (err) {
    emit({ ...base, value: Number.NaN, detail: why(err) });
  }
}

async function fetchFigures(
  target: Target,
  opts: BenchOptions,
  users: BenchUsers,
  ids: Ids,
  emit: Emit,
): Promise<void> {
  const accounts = users.imap.slice(0, opts.imapClients);
  const base = { area: 'imap' as const, server: target.imapLabel, higherIsBetter: true };
  const failed = (detail: string) => {
    emit({ ...base, key: 'imap.fetch', label: 'FETCH full messages', value: Number.NaN, unit: 'msg/s', detail });
    emit({ ...base, key: 'imap.fetch.mb', label: 'FETCH full messages', value: Number.NaN, unit: 'MB/s', detail });
    emit({
      ...base,
      key: 'imap.fetch.single',
      label: 'FETCH 1 msg per command',
      value: Number.NaN,
      unit: 'msg/s',
      detail,
    });
  };
  try {
    await fillOverSmtp(target, accounts, opts.imapMessages, opts.imapSize, ids, true);
  } catch (err) {
    failed(`could not fill the mailboxes: ${errorText(err)}`);
    return;
  }
  // The whole mailbox in one command per round trip (a client syncing a folder).
  const command = `FETCH 1:${opts.imapMessages} (BODY.PEEK[])`;
  const meter = new Meter(target);
  try {
    const r = await imapFetchLoad({
      host: target.host,
      port: target.imapPort,
      users: accounts,
      password: opts.password,
      seconds: opts.imapSeconds,
      timeoutMs: opts.imapSeconds * 1000 + 60_000,
      command,
      onStart: () => meter.start(),
    });
    if (r.refused) throw r.refused;
    if (r.commands === 0) throw new Error(r.errors[0] ?? 'no FETCH completed');
    const box = r.mailboxMin === r.mailboxMax ? `${r.mailboxMin}` : `${r.mailboxMin}-${r.mailboxMax}`;
    const detail =
      `${accounts.length} clients, ${box} x ${(opts.imapSize / 1024).toFixed(1)} KB, ${command} x ${r.commands}: ` +
      `${r.messages} msgs, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(2)} s, ` +
      `per FETCH p50 ${percentile(r.commandMs, 50).toFixed(1)} ms, ${meter.text()}` +
      (r.errors.length > 0 ? `, ${r.errors.length} ERRORS` : '');
    emit({
      ...base,
      key: 'imap.fetch',
      label: 'FETCH full messages',
      value: r.messages / r.seconds,
      unit: 'msg/s',
      detail,
    });
    emit({
      ...base,
      key: 'imap.fetch.mb',
      label: 'FETCH full messages',
      value: r.bytes / 1e6 / r.seconds,
      unit: 'MB/s',
      detail: 'same run; literal bytes only (MB = 10^6 B)',
    });
    for (const e of new Set(r.errors.slice(0, 5))) note(`      error: ${e}`);
  } catch (err) {
    failed(why(err));
    return;
  }

  // One message per command, as a client that downloads messages one by one: a round trip each.
  const single = new Meter(target);
  const one = (i: number) => `FETCH ${(i % opts.imapMessages) + 1} (BODY.PEEK[])`;
  const singleBase = { ...base, key: 'imap.fetch.single', label: 'FETCH 1 msg per command', unit: 'msg/s' };
  try {
    const r = await imapFetchLoad({
      host: target.host,
      port: target.imapPort,
      users: accounts,
      password: opts.password,
      seconds: opts.imapSeconds,
      timeoutMs: opts.imapSeconds * 1000 + 60_000,
      command: one,
      onStart: () => single.start(),
    });
    if (r.refused) throw r.refused;
    if (r.commands === 0) throw new Error(r.errors[0] ?? 'no FETCH completed');
    emit({
      ...singleBase,
      value: r.messages / r.seconds,
      detail:
        `${accounts.length} clients, FETCH n (BODY.PEEK[]) one at a time: ${r.messages} msgs, ` +
        `${(r.bytes / 1e6 / r.seconds).toFixed(1)} MB/s, p50 ${percentile(r.commandMs, 50).toFixed(2)} ms, ${single.text()}` +
        (r.errors.length > 0 ? `, ${r.errors.length} ERRORS` : ''),
    });
  } catch (err) {
    emit({ ...singleBase, value: Number.NaN, detail: why(err) });
  }
}

let timedOut = false;

/** Runs `fn` and destroys the client's socket when it takes longer than `ms`. */
async function within<T>(client: ImapClient, ms: number, fn: () => Promise<T>): Promise<T> {
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    timedOut = true;
    client.conn.destroy();
  }, ms);
  try {
    return await fn();
  } catch (err) {
    if (late) throw new Error(`no answer within ${ms / 1000} s (connection closed by the bench)`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Makes the target's search mailbox hold exactly `want` bench messages (cached between runs). */
async function prepareSearchMailbox(target: Target, opts: BenchOptions, address: string): Promise<void> {
  const want = opts.imapSearchMessages;
  const have = await imapCount(target.host, target.imapPort, address, opts.password).catch(() => -1);
  if (have === want) {
    if (target.kind !== 'postbode') note(`      (reusing ${address}: ${have} messages from an earlier run)`);
    return;
  }
  if (target.kind === 'postbode') throw new Error(`${address} holds ${have} messages, not the ${want} filled in`);
  if (have !== 0 && !(await target.emptyMailbox(address)))
    throw new Error(`${address} holds ${have} messages, not ${want}, and the bench cannot empty it`);
  const t0 = performance.now();
  let shown = 0;
  await imapAppendAll({
    host: target.host,
    port: target.imapPort,
    user: address,
    password: opts.password,
    count: want,
    message: (i) => searchMessage(i, address),
    connections: 2,
    batch: 500,
    onProgress: (done) => {
      if (done - shown >= 20_000) {
        shown = done;
        process.stderr.write(`# appended ${done}/${want} to ${address}\n`);
      }
    },
  });
  note(
    `      (filled ${address} with ${want} messages by APPEND (MULTIAPPEND, LITERAL+) in ${((performance.now() - t0) / 1000).toFixed(1)} s; kept for later runs)`,
  );
}

async function searchFigures(target: Target, opts: BenchOptions, address: string, emitAny: Emit): Promise<void> {
  const emitted = new Set<string>();
  const emit: Emit = (f) => {
    emitted.add(f.key);
    emitAny(f);
  };
  const n = opts.imapSearchMessages;
  const runs = opts.imapSearchRuns;
  const server = target.imapLabel;
  const lineFor = (key: string, label: string) => ({
    area: 'imap' as const,
    key,
    server,
    label,
    unit: 'ms',
    higherIsBetter: false,
  });
  const all = [
    lineFor('imap.select', `SELECT ${n >= 1000 ? `${n / 1000}k` : n} msgs`),
    ...SEARCH_QUERIES.map((q) => lineFor(q.key, q.label)),
    lineFor('imap.fetch.flags', 'FETCH 1:* (FLAGS)'),
  ];
  const failAll = (detail: string) => {
    for (const f of all) if (!emitted.has(f.key)) emit({ ...f, value: Number.NaN, detail });
  };
  try {
    await prepareSearchMailbox(target, opts, address);
  } catch (err) {
    failAll(`could not prepare the mailbox: ${errorText(err)}`);
    return;
  }

  let client: ImapClient;
  try {
    client = await ImapClient.open(target.host, target.imapPort);
    await client.login(address, opts.password);
  } catch (err) {
    failAll(why(err));
    return;
  }
  const perCommandMs = 60_000;
  try {
    // SELECT: the first one of this session (the server may have the mailbox cached from an earlier
    // session, e.g. Dovecot's index files, postbode's filling run: both are part of normal operation).
    const selectMs: number[] = [];
    let exists = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      exists = await within(client, perCommandMs, () => client.select('INBOX'));
      selectMs.push(performance.now() - t0);
    }
    emit({
      ...all[0],
      value: median(selectMs),
      detail: `${exists} EXISTS; median of ${runs} SELECTs in one session, first ${ms(selectMs[0])} ms, range ${ms(Math.min(...selectMs))}-${ms(Math.max(...selectMs))} ms`,
    });

    for (const [qi, q] of SEARCH_QUERIES.entries()) {
      const f = all[1 + qi];
      try {
        const times: number[] = [];
        let hits = 0;
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          hits = (await within(client, perCommandMs, () => client.search(q.criteria))).length;
          times.push(performance.now() - t0);
        }
        const want = expectedHits(q.key, n);
        emit({
          ...f,
          value: median(times),
          detail:
            `SEARCH ${q.criteria} on ${exists} msgs: ${hits} hits${hits === want ? '' : ` (EXPECTED ${want})`}; ` +
            `median of ${runs}, first ${ms(times[0])} ms, range ${ms(Math.min(...times))}-${ms(Math.max(...times))} ms`,
        });
      } catch (err) {
        emit({ ...f, value: Number.NaN, detail: why(err) });
        if (client.conn.closed) throw err;
      }
    }

    const f = all[all.length - 1];
    try {
      const times: number[] = [];
      let r: CommandResult | null = null;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        r = await within(client, perCommandMs, () => client.command('FETCH 1:* (FLAGS)'));
        times.push(performance.now() - t0);
      }
      const responses = r?.untagged.filter((u) => /^\* \d+ FETCH/i.test(u.text)).length ?? 0;
      emit({
        ...f,
        value: median(times),
        detail:
          `${responses} FETCH responses${responses === exists ? '' : ` (EXPECTED ${exists})`}; ` +
          `median of ${runs}, first ${ms(times[0])} ms, range ${ms(Math.min(...times))}-${ms(Math.max(...times))} ms`,
      });
    } catch (err) {
      emit({ ...f, value: Number.NaN, detail: why(err) });
    }
  } catch (err) {
    // SELECT failed or the connection broke: the remaining figures are n/a.
    failAll(why(err));
  } finally {
    await client.logout();
  }
  if (timedOut) {
    timedOut = false;
    // A server may go on working on a command whose client has gone (postbode does): start the
    // next figures on a fresh server rather than next to that work.
    note('      (a command timed out: quiescing the server before the next figures)');
    await target.quiesce();
  }
}
