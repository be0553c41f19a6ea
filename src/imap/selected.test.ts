/**
 * The selected view (selected.ts: a shared snapshot plus a per-session overlay) against a model: the
 * array of one object per message it replaced, driven through random interleavings of deliveries,
 * flag changes and expunges by others, the session's own STORE and EXPUNGE, detail loads and
 * announcements with and without expunges allowed. After every step both must hold the same
 * messages under the same numbers and have told the client the same things. The overlay is made to
 * compact often (small `compactAt`), so views rebuilt in the middle of a run are compared too. Also:
 * the snapshot cache brings a cached snapshot up to date from the store (changedSince/expungedSince).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { prng as random } from '../../test/harness/fuzz.js';
import { openTestStore } from '../../test/harness/store.js';
import type { Mailbox, MailboxChange, MessageInfo } from '../store/types.js';
import { RecentClaims } from './recent.js';
import { type AnnounceSink, SelectedMailbox, type SelectedMessage } from './selected.js';
import { MailboxSnapshot, SnapshotCache } from './snapshot.js';

/** The old view, one object per message (what selected.ts did before the snapshot), as the oracle. */
class ModelView {
  messages: { -readonly [K in keyof SelectedMessage]: SelectedMessage[K] }[];
  highestModseq: number;
  uidNext: number;
  pending: MailboxChange[] = [];
  recentCount = 0;
  recentTold = 0;
  readonly keywords = new Map<string, string>();

  constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    infos: MessageInfo[],
    readonly claims: RecentClaims,
  ) {
    this.messages = infos.map((i) => ({ ...toMsg(i), recent: false }));
    this.highestModseq = mailbox.highestModseq;
    this.uidNext = mailbox.uidNext;
    for (const m of this.messages) this.learn(m.flags);
    const before = readOnly ? claims.claimed(mailbox) : claims.claim(mailbox, this.maxUid);
    for (const m of this.messages) if (m.uid > before) this.mark(m, true);
    this.recentTold = this.recentCount;
  }

  learn(flags: readonly string[]): void {
    for (const f of flags)
      if (!f.startsWith('\\') && !this.keywords.has(f.toLowerCase())) this.keywords.set(f.toLowerCase(), f);
  }

  mark(m: { recent: boolean }, recent: boolean): void {
    if (recent === m.recent) return;
    m.recent = recent;
    this.recentCount += recent ? 1 : -1;
  }

  get maxUid(): number {
    return this.messages.length ? this.messages[this.messages.length - 1].uid : 0;
  }

  seqOf(uid: number): number {
    return this.messages.findIndex((m) => m.uid === uid) + 1;
  }

  updateOwnFlags(changed: MessageInfo[]): void {
    for (const info of changed) {
      const m = this.messages.find((x) => x.uid === info.uid);
      if (m) {
        m.flags = [...info.flags];
        m.modseq = info.modseq;
      }
      if (info.modseq > this.highestModseq) this.highestModseq = info.modseq;
    }
  }

  removeOwn(uids: number[], modseq: number): number[] {
    const seqs: number[] = [];
    const gone = new Set(uids);
    for (let i = 0; i < this.messages.length; ) {
      if (gone.has(this.messages[i].uid)) {
        seqs.push(i + 1);
        if (this.messages[i].recent) this.recentCount--;
        this.messages.splice(i, 1);
      } else i++;
    }
    if (modseq > this.highestModseq) this.highestModseq = modseq;
    return seqs;
  }

  forget(kind: 'flags' | 'expunge', modseq: number): void {
    this.pending = this.pending.filter((c) => !(c.kind === kind && c.modseq === modseq));
  }

  announce(sink: AnnounceSink, opts: { allowExpunge: boolean; vanished: boolean }): void {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    let i = 0;
    const added: ModelView['messages'] = [];
    const removeAt = (k: number) => {
      if (this.messages[k].recent) this.recentCount--;
      this.messages.splice(k, 1);
    };
    for (; i < pending.length; i++) {
      const c = pending[i];
      if (c.kind === 'exists') {
        if (c.uid <= this.maxUid || added.some((a) => a.uid === c.uid)) continue;
        added.push({ uid: c.uid, flags: [], modseq: c.modseq, size: 0, blobId: 0, internalDate: 0, recent: false });
      } else if (c.kind === 'flags') {
        const m = this.messages.find((x) => x.uid === c.uid) ?? added.find((a) => a.uid === c.uid);
        let shown = false;
        if (m && c.modseq > m.modseq) {
          m.flags = [...c.flags];
          m.modseq = c.modseq;
          const seq = this.seqOf(c.uid);
          if (seq) sink.flags(seq, m);
          shown = seq > 0;
        }
        if (!shown) sink.keywords(c.flags);
      } else {
        if (!c.uids.some((u) => this.seqOf(u) > 0 || added.some((a) => a.uid === u))) {
          if (c.modseq > this.highestModseq) this.highestModseq = c.modseq;
          continue;
        }
        if (!opts.allowExpunge) break;
        this.flush(added, sink);
        const present = c.uids.filter((u) => this.seqOf(u) > 0);
        if (opts.vanished) {
          for (const uid of present) removeAt(this.seqOf(uid) - 1);
          if (present.length) sink.vanished(present);
        } else {
          for (const uid of present) {
            const seq = this.seqOf(uid);
            removeAt(seq - 1);
            sink.expunge(seq);
          }
        }
      }
      if (c.modseq > this.highestModseq) this.highestModseq = c.modseq;
    }
    this.flush(added, sink);
    this.pending = pending.slice(i);
    this.announceRecent(sink);
  }

  announceRecent(sink: AnnounceSink): void {
    if (this.recentCount === this.recentTold) return;
    this.recentTold = this.recentCount;
    sink.recent(this.recentCount);
  }

  flush(added: ModelView['messages'], sink: AnnounceSink): void {
    if (added.length === 0) return;
    added.sort((a, b) => a.uid - b.uid);
    this.messages.push(...added);
    for (const a of added) {
      if (a.uid >= this.uidNext) this.uidNext = a.uid + 1;
      const recent = this.readOnly
        ? a.uid > this.claims.claimed(this.mailbox)
        : this.claims.claim(this.mailbox, a.uid) < a.uid;
      this.mark(a, recent);
    }
    added.length = 0;
    this.recentTold = this.recentCount;
    sink.exists(this.messages.length, this.recentCount);
  }

  needsDetails(): SelectedMessage[] {
    return this.messages.filter((m) => m.blobId === 0);
  }

  fill(infos: MessageInfo[]): void {
    for (const info of infos) {
      const m = this.messages.find((x) => x.uid === info.uid);
      if (m && m.blobId === 0) Object.assign(m, toMsg(info), { recent: m.recent });
    }
  }
}

function toMsg(i: MessageInfo): Omit<SelectedMessage, 'recent'> {
  return {
    uid: i.uid,
    flags: [...i.flags],
    modseq: i.modseq,
    size: i.size,
    blobId: i.blobId,
    internalDate: i.internalDate.getTime(),
  };
}

/** A sink that writes what it is told as lines, the same for both views. */
function recorder(log: string[]): AnnounceSink {
  return {
    exists: (n, r) => log.push(`exists ${n} ${r}`),
    recent: (n) => log.push(`recent ${n}`),
    expunge: (seq) => log.push(`expunge ${seq}`),
    vanished: (uids) => log.push(`vanished ${uids.join(',')}`),
    flags: (seq, m) => log.push(`flags ${seq} ${m.uid} ${m.flags.join(' ')} ${m.modseq} ${m.recent}`),
    keywords: (flags) => log.push(`keywords ${flags.join(' ')}`),
  };
}

const FLAG_CHOICES: string[][] = [
  [],
  ['\\Seen'],
  ['\\Seen', '\\Flagged'],
  ['\\Deleted'],
  ['$Work'],
  ['\\Seen', '$Later'],
];

/** One run: a fake store (the truth), a model view and a real view fed the same events. */
function run(seed: number, steps: number): void {
  const rand = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
  const truth = new Map<number, MessageInfo>();
  let modseq = 1;
  let uidNext = 1;
  const mailboxId = 7;
  const newInfo = (flags: string[]): MessageInfo => {
    modseq++;
    const uid = uidNext++;
    return {
      mailboxId,
      uid,
      blobId: 1000 + uid,
      size: 100 + uid,
      flags,
      internalDate: new Date(Date.UTC(2024, 0, 1) + uid * 1000),
      modseq,
    };
  };
  for (let i = Math.floor(rand() * 40); i > 0; i--) {
    const info = newInfo(pick(FLAG_CHOICES));
    truth.set(info.uid, info);
  }
  const readOnly = rand() < 0.3;
  const mailbox: Mailbox = {
    id: mailboxId,
    accountId: 1,
    name: 'INBOX',
    uidValidity: 42,
    uidNext,
    highestModseq: modseq,
    specialUse: null,
    subscribed: true,
  } as Mailbox;
  const infos = [...truth.values()].sort((a, b) => a.uid - b.uid);
  // The claims before: an earlier session claimed part of the mailbox.
  const claimsModel = new RecentClaims();
  const claimsReal = new RecentClaims();
  const earlier = Math.floor(rand() * uidNext);
  claimsModel.claim(mailbox, earlier);
  claimsReal.claim(mailbox, earlier);
  const model = new ModelView(mailbox, readOnly, infos, claimsModel);
  const snapshot = MailboxSnapshot.fromInfos(mailbox, modseq, infos);
  const view = new SelectedMailbox(mailbox, readOnly, snapshot, claimsReal, 1 + Math.floor(rand() * 6));
  const feed: ((c: MailboxChange) => void)[] = [];
  view.listen((_id, fn) => {
    feed.push(fn);
    return () => {};
  });
  const publish = (c: MailboxChange) => {
    model.pending.push(c);
    for (const fn of feed) fn(c);
  };
  const logModel: string[] = [];
  const logReal: string[] = [];

  const compare = (step: number, what: string) => {
    const at = `seed ${seed} step ${step} (${what})`;
    assert.deepEqual(logReal, logModel, `${at}: what the client was told`);
    assert.equal(view.exists, model.messages.length, `${at}: EXISTS`);
    for (let i = 0; i < model.messages.length; i++) {
      const m = model.messages[i];
      assert.deepEqual(
        { ...view.message(i), flags: [...view.message(i).flags] },
        { ...m, flags: [...m.flags] },
        `${at}: #${i + 1}`,
      );
      const scratch = {
        uid: 0,
        flags: [] as readonly string[],
        modseq: 0,
        size: 0,
        blobId: 0,
        internalDate: 0,
        recent: false,
      };
      assert.deepEqual({ ...view.readInto(i, scratch) }, { ...view.message(i) }, `${at}: readInto #${i + 1}`);
      assert.equal(view.uidAt(i), m.uid);
      assert.deepEqual([...view.flagsAt(i)], m.flags);
      assert.equal(view.modseqAt(i), m.modseq);
      assert.equal(view.recentAt(i), m.recent);
      assert.equal(view.seqOf(m.uid), i + 1);
    }
    for (let uid = 1; uid <= uidNext; uid++) assert.equal(view.seqOf(uid), model.seqOf(uid), `${at}: seqOf(${uid})`);
    assert.equal(view.maxUid, model.maxUid, `${at}: max UID`);
    assert.equal(view.recentCount, model.recentCount, `${at}: recent`);
    assert.equal(view.highestModseq, model.highestModseq, `${at}: HIGHESTMODSEQ`);
    assert.equal(view.uidNext, model.uidNext, `${at}: UIDNEXT`);
    assert.deepEqual(view.keywords(), [...model.keywords.values()], `${at}: keywords`);
    assert.deepEqual(
      view.allUids(),
      model.messages.map((m) => m.uid),
    );
    const unseen = model.messages.findIndex((m) => !m.flags.includes('\\Seen'));
    assert.equal(view.firstUnseen(), unseen + 1, `${at}: first unseen`);
    assert.deepEqual(
      view.needsDetails().map((m) => m.uid),
      model.needsDetails().map((m) => m.uid),
    );
  };

  compare(0, 'select');
  for (let step = 1; step <= steps; step++) {
    const r = rand();
    let what: string;
    if (r < 0.2) {
      what = 'delivery';
      for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
        const info = newInfo(pick(FLAG_CHOICES));
        truth.set(info.uid, info);
        publish({ kind: 'exists', mailboxId, uid: info.uid, modseq: info.modseq });
      }
    } else if (r < 0.4 && truth.size > 0) {
      what = 'flags by another session';
      modseq++;
      for (const uid of [...truth.keys()].filter(() => rand() < 0.2)) {
        const info = { ...truth.get(uid)!, flags: pick(FLAG_CHOICES), modseq };
        truth.set(uid, info);
        publish({ kind: 'flags', mailboxId, uid, flags: info.flags, modseq });
      }
    } else if (r < 0.5 && truth.size > 0) {
      what = 'expunge by another session';
      modseq++;
      const uids = [...truth.keys()].filter(() => rand() < 0.15).sort((a, b) => a - b);
      for (const uid of uids) truth.delete(uid);
      if (uids.length) publish({ kind: 'expunge', mailboxId, uids, modseq });
    } else if (r < 0.62 && model.messages.length > 0 && !readOnly) {
      what = 'own STORE';
      modseq++;
      const flags = pick(FLAG_CHOICES);
      const changed: MessageInfo[] = [];
      for (const m of model.messages) {
        const t = truth.get(m.uid);
        if (!t || rand() < 0.6) continue;
        const info = { ...t, flags, modseq };
        truth.set(m.uid, info);
        changed.push(info);
        publish({ kind: 'flags', mailboxId, uid: m.uid, flags, modseq });
      }
      model.forget('flags', modseq);
      view.forget('flags', modseq);
      model.updateOwnFlags(changed);
      view.updateOwnFlags(changed);
    } else if (r < 0.72 && model.messages.length > 0 && !readOnly) {
      what = 'own EXPUNGE';
      modseq++;
      const uids = model.messages.map((m) => m.uid).filter((u) => truth.has(u) && rand() < 0.3);
      for (const uid of uids) truth.delete(uid);
      if (uids.length) publish({ kind: 'expunge', mailboxId, uids, modseq });
      model.forget('expunge', modseq);
      view.forget('expunge', modseq);
      const a = model.removeOwn(uids, modseq);
      const b = view.removeOwn(uids, modseq);
      assert.deepEqual(b, a, `seed ${seed} step ${step}: EXPUNGE numbers`);
      model.announceRecent(recorder(logModel));
      view.announceRecent(recorder(logReal));
    } else if (r < 0.8) {
      what = 'details of new messages';
      const wanted = model.needsDetails().map((m) => truth.get(m.uid) ?? null);
      const found = wanted.filter((i) => i !== null);
      model.fill(found);
      view.fill(found);
    } else {
      const allowExpunge = rand() < 0.7;
      const vanished = rand() < 0.3;
      what = `announce (expunges ${allowExpunge}, vanished ${vanished})`;
      model.announce(recorder(logModel), { allowExpunge, vanished });
      view.announce(recorder(logReal), { allowExpunge, vanished });
    }
    compare(step, what);
  }
}

/** A mailbox of three messages (UIDs 1-3, modseq = UID) with the given flags, as the store reports it. */
function threeMessages(flags: string[]): { mailbox: Mailbox; infos: MessageInfo[] } {
  const mailbox = { id: 1, uidValidity: 1, uidNext: 4, highestModseq: 3 } as Mailbox;
  const infos: MessageInfo[] = [1, 2, 3].map((uid) => ({
    mailboxId: 1,
    uid,
    blobId: uid,
    size: 10,
    flags,
    internalDate: new Date(0),
    modseq: uid,
  }));
  return { mailbox, infos };
}

describe('selected view: snapshot + overlay against the array-of-objects model', () => {
  it('agrees over random interleavings of changes and announcements', () => {
    for (let seed = 1; seed <= 300; seed++) run(seed, 80);
  });

  it('shares one snapshot between views until one compacts', () => {
    const { mailbox, infos } = threeMessages(['\\Seen']);
    const snapshot = MailboxSnapshot.fromInfos(mailbox, 3, infos);
    const a = new SelectedMailbox(mailbox, false, snapshot, null, 2);
    const b = new SelectedMailbox(mailbox, false, snapshot, null, 2);
    assert.equal(a.snapshot, b.snapshot);
    a.updateOwnFlags([{ ...infos[0], flags: [], modseq: 4 }]);
    assert.equal(a.overlaySize, 1);
    assert.equal(a.snapshot, snapshot);
    a.removeOwn([2, 3], 5);
    assert.equal(a.overlaySize, 0, 'compacted');
    assert.notEqual(a.snapshot, snapshot);
    assert.deepEqual([...a.snapshot.uids], [1]);
    assert.deepEqual(a.flagsAt(0), []);
    assert.equal(b.exists, 3, 'the other view is untouched');
  });
});

describe('selected view: the queue of changes not announced yet', () => {
  it('keeps one flag change per message however many arrive, and announces in slices when asked', () => {
    const { mailbox, infos } = threeMessages([]);
    const view = new SelectedMailbox(mailbox, false, MailboxSnapshot.fromInfos(mailbox, 3, infos), null, 2);
    let feed: ((c: MailboxChange) => void) | null = null;
    view.listen((_id, fn) => {
      feed = fn;
      return () => {};
    });
    // 60,000 flag changes (a session that sends nothing while another runs STORE 1:* over and over).
    let modseq = 3;
    let most = 0;
    for (let k = 0; k < 60_000; k++) {
      const uid = (k % 3) + 1;
      feed!({ kind: 'flags', mailboxId: 1, uid, flags: k % 2 ? ['\\Seen'] : ['$K'], modseq: ++modseq });
      most = Math.max(most, view.pendingCount);
    }
    feed!({ kind: 'exists', mailboxId: 1, uid: 4, modseq: ++modseq } as MailboxChange);
    assert.ok(most <= 4096, `the queue held ${most} changes`);
    // A limit takes a slice; the rest ends with the last change of each message, then the new one.
    const log: string[] = [];
    view.announce(recorder(log), { allowExpunge: true, vanished: false, limit: 2 });
    assert.equal(log.filter((l) => l.startsWith('flags')).length, 2);
    view.announce(recorder(log), { allowExpunge: true, vanished: false });
    assert.equal(view.pendingCount, 0);
    const told = log.filter((l) => l.startsWith('flags') || l.startsWith('exists'));
    assert.ok(told.length <= 4097, `${told.length} announcements`);
    assert.deepEqual(
      told.slice(-4).map((l) => l.split(' ').slice(0, 4).join(' ')),
      ['flags 1 1 \\Seen', 'flags 2 2 $K', 'flags 3 3 \\Seen', 'exists 4 0'],
    );
    assert.deepEqual([view.flagsAt(0), view.flagsAt(1), view.flagsAt(2)], [['\\Seen'], ['$K'], ['\\Seen']]);
  });
});

describe('snapshot', () => {
  it('apply gives what a fresh read would, over random changes', () => {
    const box = { id: 3, uidValidity: 9 };
    const asInfo = (uid: number, flags: string[], modseq: number): MessageInfo => ({
      mailboxId: 3,
      uid,
      blobId: uid * 3,
      size: uid * 5,
      flags,
      internalDate: new Date(uid * 1000),
      modseq,
    });
    const columns = (s: MailboxSnapshot) =>
      [...s.uids].map((uid, k) => [uid, s.modseqs[k], s.sizes[k], s.internalDates[k], s.blobIds[k], s.flagsAt(k)]);
    for (let seed = 1; seed <= 200; seed++) {
      const rand = random(seed);
      const truth = new Map<number, MessageInfo>();
      let modseq = 1;
      let uidNext = 1;
      for (let i = Math.floor(rand() * 30); i > 0; i--, uidNext++) {
        truth.set(uidNext, asInfo(uidNext, FLAG_CHOICES[Math.floor(rand() * FLAG_CHOICES.length)], ++modseq));
      }
      const sorted = () => [...truth.values()].sort((a, b) => a.uid - b.uid);
      let snap = MailboxSnapshot.fromInfos(box, modseq, sorted());
      for (let round = 0; round < 5; round++) {
        const since = snap.asOf;
        const gone: number[] = [];
        for (let i = Math.floor(rand() * 8); i > 0; i--) {
          const r = rand();
          modseq++;
          if (r < 0.4)
            truth.set(uidNext, asInfo(uidNext++, FLAG_CHOICES[Math.floor(rand() * FLAG_CHOICES.length)], modseq));
          else if (r < 0.7 && truth.size) {
            const uid = [...truth.keys()][Math.floor(rand() * truth.size)];
            truth.set(uid, {
              ...truth.get(uid)!,
              flags: FLAG_CHOICES[Math.floor(rand() * FLAG_CHOICES.length)],
              modseq,
            });
          } else if (truth.size) {
            const uid = [...truth.keys()][Math.floor(rand() * truth.size)];
            truth.delete(uid);
            gone.push(uid);
          }
        }
        const changed = sorted().filter((m) => m.modseq > since);
        // A read may also see a change twice (already in the snapshot): harmless.
        const again = rand() < 0.3 && snap.count ? [snap.uids[0]] : [];
        snap = snap.apply(
          modseq,
          [
            ...changed,
            ...again.filter((u) => truth.has(u) && !changed.some((c) => c.uid === u)).map((u) => truth.get(u)!),
          ].sort((a, b) => a.uid - b.uid),
          gone.sort((a, b) => a - b),
        );
        const fresh = MailboxSnapshot.fromInfos(box, modseq, sorted());
        assert.deepEqual(columns(snap), columns(fresh), `seed ${seed} round ${round}`);
        assert.deepEqual(snap.flagLists, fresh.flagLists, `seed ${seed} round ${round}: flag lists`);
        assert.equal(snap.asOf, modseq);
        assert.equal(snap.maxModseq, fresh.maxModseq);
      }
    }
  });
});

describe('snapshot cache', () => {
  it('brings a cached snapshot up to date from the store, and shares it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'postbode-snapshot-'));
    const store = await openTestStore({ dataDir: dir });
    try {
      const account = await store.accounts.create({ address: 'snap@example.test', passwordHash: 'x' });
      const raw = (i: number) => Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`);
      for (let i = 0; i < 20; i++) {
        await store.deliver({ raw: raw(i), meta: {}, local: [{ accountId: account.id, mailbox: 'INBOX' }] });
      }
      const cache = new SnapshotCache();
      const row = async () => (await store.mailboxes.get(account.id, 'INBOX'))!;
      const same = async (s: MailboxSnapshot) => {
        const r = await row();
        const fresh = MailboxSnapshot.fromColumns(r, r.highestModseq, await store.messages.listColumns(r.id));
        assert.deepEqual([...s.uids], [...fresh.uids]);
        assert.deepEqual([...s.modseqs], [...fresh.modseqs]);
        assert.deepEqual([...s.blobIds], [...fresh.blobIds]);
        assert.deepEqual([...s.sizes], [...fresh.sizes]);
        assert.deepEqual([...s.internalDates], [...fresh.internalDates]);
        assert.deepEqual(
          [...s.uids].map((_, k) => s.flagsAt(k)),
          [...fresh.uids].map((_, k) => fresh.flagsAt(k)),
        );
        assert.deepEqual(s.flagLists, fresh.flagLists, 'only the flag lists in use, in order of first use');
      };
      const first = await cache.load(store, await row());
      await same(first);
      assert.equal(await cache.load(store, await row()), first, 'nothing changed: the same snapshot');
      const inbox = await row();
      await store.messages.setFlags({ mailboxId: inbox.id, uids: [2, 5], op: 'add', flags: ['\\Seen', '$Work'] });
      await store.messages.expunge(inbox.id, [3, 4, 20]);
      await store.deliver({
        raw: raw(99),
        meta: {},
        local: [{ accountId: account.id, mailbox: 'INBOX', flags: ['\\Flagged'] }],
      });
      await store.messages.setFlags({ mailboxId: inbox.id, uids: [1, 2, 3, 4, 5, 6], op: 'replace', flags: [] });
      const second = await cache.load(store, await row());
      assert.notEqual(second, first);
      await same(second);
      assert.equal(cache.get(inbox), second);

      // Many changes (a COPY of a big mailbox into this one): read whole, with the same result.
      const other = await store.mailboxes.create(account.id, 'Other');
      await store.messages.appendMany(
        Array.from({ length: 1500 }, (_, i) => ({ mailboxId: other.id, raw: raw(1000 + i), meta: {} })),
      );
      await store.messages.copy(
        other.id,
        Array.from({ length: 1500 }, (_, i) => i + 1),
        inbox.id,
      );
      let changedReads = 0;
      const watching = {
        ...store,
        messages: {
          ...store.messages,
          changedSince: (id: number, since: number) => {
            changedReads++;
            return store.messages.changedSince(id, since);
          },
        },
      };
      const third = await cache.load(watching, await row());
      await same(third);
      assert.equal(changedReads, 0, '1,500 changes on 18 messages: read as columns');
      await store.messages.setFlags({ mailboxId: inbox.id, uids: [1], op: 'add', flags: ['\\Answered'] });
      await same(await cache.load(watching, await row()));
      assert.equal(changedReads, 1, 'one change: applied');

      // Sessions selecting an uncached mailbox at once share one read and one snapshot.
      let reads = 0;
      const counting = {
        ...store,
        messages: {
          ...store.messages,
          listColumns: (id: number) => {
            reads++;
            return store.messages.listColumns(id);
          },
        },
      };
      const cold = new SnapshotCache();
      const r = await row();
      const all = await Promise.all([cold.load(counting, r), cold.load(counting, r), cold.load(counting, r)]);
      assert.equal(reads, 1);
      assert.equal(all[1], all[0]);
      assert.equal(all[2], all[0]);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
