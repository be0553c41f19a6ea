/**
 * Exercise progress: which student did which exercise, computed from the session history, kept in the
 * store (`Store.exerciseProgress`) and announced live to the web lab.
 *
 * Invariants:
 * - No self-reporting: an exercise is done only by what the lab recorded, a session's events
 *   (check.ts), a capture download served by the lab (`downloaded`), or a mail client configuration
 *   the lab served before a login (`autoconfigServed`, for `"after": "autoconfig"` rules: the account
 *   that logged in, the same client address, within the hour before the login).
 * - Live sessions are checked incrementally as the recorder writes each batch of the history
 *   (`SessionRecorder.subscribeBatches`): a model per live session is fed its new events, and the rules
 *   not yet settled for it are asked again when it changed in a way a rule can see; the model goes when
 *   the session has closed. The batch callback
 *   does no I/O; crediting (attribution, store write, announcement) runs after it, one batch after
 *   another, off the sessions' hot path.
 * - Only sessions a rule can still credit hold a model: none for a protocol without rules, none once
 *   every rule of the session is settled (done, or an autoconfig rule whose login came without the
 *   fetch), and none while the session is quiet (no batch for `QUIET_MS`: a client in IDLE for hours)
 *   unless it is long (`REBUILD_MAX_EVENTS`: rebuilding it would cost more CPU than its model costs
 *   memory).
 *   A quiet session's model is rebuilt from the history at its next batch, in the queue (I/O), before
 *   that batch's events; its later batches follow it through the queue, so events are fed in order and
 *   each once (by seq).
 * - Sessions of the history from before this process started are checked once, on demand (the first
 *   request for progress, `postbode exercises progress`), since the live check did not see them. The
 *   autoconfiguration fetches are kept in memory only, so `after` rules are checked live only.
 * - Which student a session counts for (`studentOf`, the rules of recorder/access.ts): the account
 *   that logged in; else, for SMTP without a login (port 25): the account named by MAIL FROM, else by
 *   HELO/EHLO (the address, or a local part only one account has), else the one student who uses the
 *   web lab from the session's client address (`WebPresence`; several students behind one address:
 *   nobody). A row counts only for an account that exists and was created before it (an address
 *   handed to a new student does not inherit the previous one's progress).
 * - The store keeps the first time per student and exercise; only rows it inserted or made earlier
 *   are announced, so every listener hears each tick once per node.
 */
import type { Logger } from '../../log.js';
import { DirectoryReads } from '../../store/directory.js';
import type { Account, ExerciseDone, LoggedEvent, LoggedSession, Store } from '../../store/types.js';
import type { TraceEvent } from '../../trace/bus.js';
import type { ProgressEntry, SessionSummary } from '../api-types.js';
import type { ExerciseTrackerLike } from '../context.js';
import { ownershipOf, plainAddress, type SessionOwnership } from '../recorder/access.js';
import type { SessionRecorder, WrittenBatch } from '../recorder/index.js';
import { traceEventOf } from '../recorder/persistence.js';
import { fulfilledAt, modelOf, SessionModel } from './check.js';
import { type Exercise, protocolsOf } from './definitions.js';

/** How long a web request from an address places its student there (a web login's idle time). */
const PRESENCE_MS = 12 * 3600_000;
/** Addresses remembered at most (the oldest go first). */
const MAX_ADDRESSES = 10_000;
/** Sessions of the history read per page when checking it. */
const HISTORY_PAGE = 500;
/** A live session without a batch for this long lets its model go (rebuilt at its next batch). */
const QUIET_MS = 2000;
/**
 * Sessions with more events than this keep their model when quiet: rebuilding one costs about 0.7 µs
 * of CPU per event (~50 µs for a fresh IDLE client's ten, ~0.7 ms for 1,000), paid at each new mail of
 * a quiet IDLE client, while the model of a long session is not larger than a short one's (~1 KB).
 */
const REBUILD_MAX_EVENTS = 200;

/**
 * Which students use the web lab from which client address: each request of a logged-in mail user
 * places them at its address for `idleMs`; logging out takes them away.
 */
export class WebPresence {
  readonly #byAddress = new Map<string, Map<string, number>>();

  constructor(
    readonly idleMs = PRESENCE_MS,
    readonly maxAddresses = MAX_ADDRESSES,
  ) {}

  seen(address: string, student: string, now = Date.now()): void {
    if (!address) return;
    const key = plainAddress(address);
    let students = this.#byAddress.get(key);
    if (students)
      this.#byAddress.delete(key); // re-inserted last: the map stays in order of use
    else students = new Map();
    students.set(student.toLowerCase(), now);
    this.#byAddress.set(key, students);
    while (this.#byAddress.size > this.maxAddresses) {
      const oldest = this.#byAddress.keys().next().value;
      if (oldest === undefined) break;
      this.#byAddress.delete(oldest);
    }
  }

  left(address: string, student: string): void {
    const key = plainAddress(address);
    const students = this.#byAddress.get(key);
    students?.delete(student.toLowerCase());
    if (students?.size === 0) this.#byAddress.delete(key);
  }

  /** The students seen at `address` within the idle time. */
  at(address: string, now = Date.now()): string[] {
    const students = this.#byAddress.get(plainAddress(address));
    if (!students) return [];
    const out: string[] = [];
    for (const [student, seen] of students) {
      if (now - seen <= this.idleMs) out.push(student);
      else students.delete(student);
    }
    return out;
  }
}

/** How long after the web lab served a mail client its autoconfiguration a login counts for it. */
const AUTOCONFIG_MS = 3600_000;
/** Autoconfiguration fetches remembered at most (the oldest go first). */
const MAX_FETCHES = 10_000;
/** Times kept per address and client address (the newest). */
const TIMES_PER_FETCHER = 4;

/**
 * Which account's autoconfiguration (Thunderbird autoconfig, Autodiscover) the web lab served to which
 * client address, and when: what the `"after": "autoconfig"` rules check a login against. In memory,
 * bounded (MAX_FETCHES pairs, a few times each), on the node that served it.
 */
export class AutoconfigFetches {
  readonly #times = new Map<string, number[]>();

  constructor(
    readonly windowMs = AUTOCONFIG_MS,
    readonly max = MAX_FETCHES,
  ) {}

  static #key(address: string, remote: string): string {
    return `${address.toLowerCase()}\0${plainAddress(remote)}`;
  }

  served(address: string, remote: string, now = Date.now()): void {
    if (!remote) return;
    const key = AutoconfigFetches.#key(address, remote);
    const times = this.#times.get(key) ?? [];
    this.#times.delete(key); // re-inserted last: the map stays in order of use
    times.push(now);
    if (times.length > TIMES_PER_FETCHER) times.shift();
    this.#times.set(key, times);
    while (this.#times.size > this.max) {
      const oldest = this.#times.keys().next().value;
      if (oldest === undefined) break;
      this.#times.delete(oldest);
    }
  }

  /** Whether `address`'s configuration went to `remote` at or before `t`, at most the window before. */
  before(address: string, remote: string, t: number): boolean {
    const times = this.#times.get(AutoconfigFetches.#key(address, remote)) ?? [];
    return times.some((at) => at <= t && t - at <= this.windowMs);
  }
}

/** The account a session counts for (see the header), or null. */
export async function studentOf(
  store: Store,
  s: SessionOwnership,
  presence?: WebPresence,
  now = Date.now(),
): Promise<string | null> {
  if (s.user !== null) return s.user;
  if (s.proto !== 'smtp') return null;
  // Both candidates read at once (one round trip on PostgreSQL), the MAIL FROM one still first.
  const heloAddress = s.helo?.includes('@') ? s.helo : null;
  const reads = await DirectoryReads.prefetch(store, {
    accounts: [s.mailFrom, heloAddress].filter((a): a is string => !!a),
    localParts: s.helo && heloAddress === null ? [s.helo] : [],
  });
  if (s.mailFrom && (await reads.account(s.mailFrom))) return s.mailFrom;
  if (s.helo) {
    if (heloAddress !== null) {
      if (await reads.account(heloAddress)) return heloAddress;
    } else {
      const named = await reads.withLocalPart(s.helo);
      if (named.length === 1) return named[0].address;
    }
  }
  const there = presence?.at(s.remote, now) ?? [];
  return there.length === 1 ? there[0] : null;
}

/** The rows that count: a known exercise, an account that exists and was created before the row. */
export function countingRows(
  rows: readonly ExerciseDone[],
  accounts: readonly Account[],
  exercises: readonly Exercise[],
) {
  const created = new Map(accounts.map((a) => [a.address, a.createdAt.getTime()]));
  const ids = new Set(exercises.map((e) => e.id));
  return rows.filter((r) => {
    const since = created.get(r.student);
    return since !== undefined && since <= r.at && ids.has(r.exercise);
  });
}

/**
 * Checks the sessions of the history (those that started before `before`, if given) against the
 * exercises; what a download does cannot be seen there. Read-only: the caller records or merges.
 */
export async function checkHistory(
  store: Store,
  exercises: readonly Exercise[],
  opts: { before?: number } = {},
): Promise<ExerciseDone[]> {
  const rules = exercises.filter((e) => e.rule.download === undefined && e.rule.after === undefined);
  const out: ExerciseDone[] = [];
  if (rules.length === 0) return out;
  const seen = new Set<string>();
  let before = opts.before;
  for (;;) {
    const page = await store.sessionLog.list({ limit: HISTORY_PAGE, ...(before !== undefined ? { before } : {}) });
    for (const s of page) {
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      const mine = rules.filter((e) => protocolsOf(e.rule).includes(s.proto));
      if (mine.length === 0) continue;
      const events = await store.sessionLog.events(s.id);
      const model = modelOf(
        s.proto,
        s.listener,
        events.map((e) => traceEventOf(e, s)),
        events.map((e) => e.encrypted),
      );
      const done = mine.flatMap((e) => {
        const at = fulfilledAt(e.rule, model);
        return at === null ? [] : [{ exercise: e.id, at }];
      });
      if (done.length === 0) continue;
      const student = await studentOf(store, ownershipOf(s));
      if (student) for (const d of done) out.push({ student, ...d, sessionId: s.id });
    }
    if (page.length < HISTORY_PAGE) break;
    // Sessions that started in the same millisecond as the last one are read again and skipped.
    before = page[page.length - 1].start + 1;
  }
  return out;
}

/** The full table: every student × every exercise, done or not (ordered as given). */
export function progressTable(
  students: readonly string[],
  exercises: readonly Exercise[],
  rows: readonly ExerciseDone[],
): ProgressEntry[] {
  const at = new Map(rows.map((r) => [`${r.student}\0${r.exercise}`, r.at]));
  return students.flatMap((student) =>
    exercises.map((e) => {
      const t = at.get(`${student}\0${e.id}`);
      return { student, exercise: e.id, done: t !== undefined, at: t ?? null };
    }),
  );
}

interface Completion {
  session: SessionOwnership & { id: string };
  exercise: string;
  at: number;
}

/** A live session being checked (see the header). */
interface LiveCheck {
  /** null while quiet (rebuilt from the history at its next batch) and once every rule is settled. */
  model: SessionModel | null;
  /** Seq of the last event fed to the model (-1: none yet). */
  fed: number;
  /** Events fed to the model. */
  events: number;
  /** The model's version when the rules were last asked. */
  checked: number;
  /** Exercises this session did, or can no longer do (null: none yet; a few ids, so a list). */
  settled: string[] | null;
  /** Every rule of the session is settled: it needs no model any more. */
  finished: boolean;
  /** When its last batch came (Date.now()). */
  seenAt: number;
  /** Jobs of it waiting in the queue: while any do, its batches go through the queue too. */
  queued: number;
}

export interface ExerciseTrackerOptions {
  store: Store;
  log: Logger;
  exercises: Exercise[];
  /** The lab's recorder, whose batches are checked live; null: only the history and downloads. */
  recorder: SessionRecorder | null;
}

/** The server's checker (see the header). */
export class ExerciseTracker implements ExerciseTrackerLike {
  readonly exercises: readonly Exercise[];
  readonly presence = new WebPresence();
  readonly autoconfig = new AutoconfigFetches();
  readonly #store: Store;
  readonly #log: Logger;
  readonly #recorder: SessionRecorder | null;
  /** Live sessions being checked. */
  readonly #live = new Map<string, LiveCheck>();
  /** The rules checked live, by protocol (download rules are decided by `downloaded`). */
  readonly #rules = new Map<string, Exercise[]>();
  /** Lets quiet sessions' models go (see the header). */
  #sweepTimer: NodeJS.Timeout | null = null;
  readonly #listeners = new Set<(entry: ProgressEntry) => void>();
  readonly #startedAt = Date.now();
  #work: Promise<void> = Promise.resolve();
  #history: Promise<void> | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(opts: ExerciseTrackerOptions) {
    this.exercises = opts.exercises;
    this.#store = opts.store;
    this.#log = opts.log;
    this.#recorder = opts.recorder;
  }

  start(): void {
    if (this.#recorder && !this.#unsubscribe) this.#unsubscribe = this.#recorder.subscribeBatches(this.#onBatch);
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#sweepTimer) clearTimeout(this.#sweepTimer);
    this.#sweepTimer = null;
    await this.#work;
  }

  /** Live sessions checked, and how many of them hold a model (for tests and status). */
  held(): { sessions: number; models: number } {
    let models = 0;
    for (const live of this.#live.values()) if (live.model) models++;
    return { sessions: this.#live.size, models };
  }

  /** Lets the models of sessions quiet for `quietMs` go now (the timer does it on its own). */
  sweep(quietMs = QUIET_MS, now = Date.now()): void {
    for (const live of this.#live.values()) {
      if (live.model && live.queued === 0 && live.events <= REBUILD_MAX_EVENTS && now - live.seenAt >= quietMs) {
        live.model = null;
      }
    }
  }

  #scheduleSweep(): void {
    if (this.#sweepTimer || !this.#unsubscribe) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = null;
      this.sweep();
      for (const live of this.#live.values()) {
        if (live.model) {
          this.#scheduleSweep();
          break;
        }
      }
    }, QUIET_MS);
    this.#sweepTimer.unref();
  }

  #rulesFor(proto: string): Exercise[] {
    let rules = this.#rules.get(proto);
    if (!rules) {
      rules = this.exercises.filter(
        (e) => e.rule.download === undefined && (protocolsOf(e.rule) as string[]).includes(proto),
      );
      this.#rules.set(proto, rules);
    }
    return rules;
  }

  /** Calls `fn` with each tick as it is recorded. Returns the unsubscribe function. */
  subscribe(fn: (entry: ProgressEntry) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Resolves when the ticks of the batches seen so far are recorded and announced. */
  settled(): Promise<void> {
    return this.#work;
  }

  /** The rows that count, of one student or all, with the history checked first (once). */
  async rows(student?: string): Promise<ExerciseDone[]> {
    this.#history ??= this.#checkHistory();
    await this.#history;
    const rows = await this.#store.exerciseProgress.list(student ? { student } : {});
    return countingRows(rows, await this.#store.accounts.list(), this.exercises);
  }

  #checkHistory = async (): Promise<void> => {
    try {
      const rows = await checkHistory(this.#store, this.exercises, { before: this.#startedAt });
      await this.#record(rows);
    } catch (err) {
      this.#log.warn({ err }, 'could not check the session history for exercises');
    }
  };

  /** The recorder wrote a batch: feed the live models and collect what got done (no I/O here). */
  #onBatch = (batch: WrittenBatch): void => {
    const bySession = new Map<string, WrittenBatch['events'][number][]>();
    for (const e of batch.events) {
      const list = bySession.get(e.sessionId);
      if (list) list.push(e);
      else bySession.set(e.sessionId, [e]);
    }
    const completions: Completion[] = [];
    const now = Date.now();
    for (const s of batch.sessions) {
      const rules = this.#rulesFor(s.proto);
      let live = this.#live.get(s.id);
      if (!live) {
        if (rules.length === 0) continue;
        live = {
          model: new SessionModel(s.proto, s.listener),
          fed: -1,
          events: 0,
          checked: -1,
          settled: null,
          finished: false,
          seenAt: now,
          queued: 0,
        };
        this.#live.set(s.id, live);
      }
      live.seenAt = now;
      const events = bySession.get(s.id) ?? [];
      if (s.end !== null) this.#live.delete(s.id);
      if (live.finished) continue;
      if (live.model === null || live.queued > 0) {
        // Quiet before: its model comes back from the history first (I/O, so in the queue, in order).
        const entry = live;
        entry.queued++;
        this.#queue(async () => {
          try {
            if (entry.model === null) await this.#rebuild(entry, s, events[0]?.seq ?? Number.POSITIVE_INFINITY);
            const found: Completion[] = [];
            this.#feed(entry, s, events, rules, found);
            if (found.length > 0) await this.#credit(found);
          } finally {
            entry.queued--;
          }
        });
        continue;
      }
      this.#feed(live, s, events, rules, completions);
    }
    if (completions.length > 0) this.#queue(() => this.#credit(completions));
    if (this.#live.size > 0) this.#scheduleSweep();
  };

  /** A quiet session's model again: its events in the history before `before` (seq). */
  async #rebuild(live: LiveCheck, s: LoggedSession, before: number): Promise<void> {
    const model = new SessionModel(s.proto, s.listener);
    let fed = -1;
    let events = 0;
    for (const e of await this.#store.sessionLog.events(s.id)) {
      if (e.seq >= before) break;
      model.push(traceEventOf(e, s), e.encrypted);
      fed = e.seq;
      events++;
    }
    live.model = model;
    live.fed = fed;
    live.events = events;
    live.checked = -1;
  }

  /** Feeds a session's new events to its model and asks the rules not yet settled (no I/O). */
  #feed(live: LiveCheck, s: LoggedSession, events: readonly LoggedEvent[], rules: Exercise[], out: Completion[]): void {
    const model = live.model;
    if (!model) return;
    for (const e of events) {
      if (e.seq <= live.fed) continue; // read back from the history already
      model.push(traceEventOf(e, s), e.encrypted);
      live.fed = e.seq;
      live.events++;
    }
    // Rules are asked again only when the session changed in a way they can see.
    if (model.version === live.checked) return;
    live.checked = model.version;
    for (const ex of rules) {
      if (live.settled?.includes(ex.id)) continue;
      const at = fulfilledAt(ex.rule, model);
      if (at === null) continue;
      // A new array of the exact size each time (a few ids): push would leave room for 16 more.
      live.settled = live.settled ? [...live.settled, ex.id] : [ex.id];
      // The account that logged in got its configuration from the lab, at this client, before (a fetch
      // is recorded when it happens, so one that was not there at the login never will be).
      if (ex.rule.after === 'autoconfig') {
        if (s.user === null || !this.autoconfig.before(s.user, s.remoteAddress, model.loginAt)) continue;
      }
      out.push({ session: { id: s.id, ...ownershipOf(s) }, exercise: ex.id, at });
    }
    if (live.settled?.length === rules.length) {
      live.finished = true;
      live.model = null;
    }
  }

  #queue(job: () => Promise<void>): void {
    this.#work = this.#work.then(job).catch((err: unknown) => {
      this.#log.warn({ err }, 'could not record exercise progress');
    });
  }

  async #credit(completions: Completion[]): Promise<void> {
    const rows: ExerciseDone[] = [];
    const students = new Map<string, string | null>();
    for (const c of completions) {
      let student = students.get(c.session.id);
      if (student === undefined) {
        student = await studentOf(this.#store, c.session, this.presence);
        students.set(c.session.id, student);
      }
      if (student) rows.push({ student, exercise: c.exercise, at: c.at, sessionId: c.session.id });
    }
    await this.#record(rows);
  }

  /** Stores the rows that count and announces those the store took as new or earlier. */
  async #record(rows: ExerciseDone[]): Promise<void> {
    if (rows.length === 0) return;
    const counting = countingRows(rows, await this.#store.accounts.list(), this.exercises);
    const changed = await this.#store.exerciseProgress.record(counting);
    for (const r of changed) {
      const entry: ProgressEntry = { student: r.student, exercise: r.exercise, done: true, at: r.at };
      for (const fn of this.#listeners) {
        try {
          fn(entry);
        } catch {
          // A failing listener (a closed stream) must not stop the others.
        }
      }
    }
  }

  /** The web lab served `address`'s mail client configuration to `remote` (routes/autoconfig.ts). */
  autoconfigServed(address: string, remote: string): void {
    this.autoconfig.served(address, remote);
  }

  /**
   * A mail user downloaded a session's capture (`capture.pcap`): the download exercises of that
   * session are done for them when it is theirs and fits the rule.
   */
  downloaded(
    who: { role: 'admin' | 'user'; name: string },
    summary: SessionSummary,
    events: readonly TraceEvent[],
    encrypted: readonly boolean[],
  ): void {
    if (who.role !== 'user') return;
    const rules = this.exercises.filter((e) => e.rule.download === 'pcap');
    if (rules.length === 0) return;
    const model = modelOf(summary.proto, summary.listener, events, encrypted);
    const done = rules.filter((e) => fulfilledAt(e.rule, model) !== null);
    if (done.length === 0) return;
    const at = Date.now();
    const owner: SessionOwnership = {
      proto: summary.proto,
      user: summary.user,
      helo: summary.helo,
      mailFrom: summary.mailFrom,
      remote: summary.remote,
    };
    this.#queue(async () => {
      if ((await studentOf(this.#store, owner, this.presence)) !== who.name.toLowerCase()) return;
      await this.#record(done.map((e) => ({ student: who.name, exercise: e.id, at, sessionId: summary.id })));
    });
  }
}
