/**
 * The Store contract suite: one set of tests every backend must pass (STYLE.md rule 13). A backend's
 * test file calls `runStoreContract('sqlite', open)`; `open` gives a fresh, empty store per test.
 *
 * Invariants of the suite:
 * - Backend-neutral: it uses only the `Store` interface, never SQL or driver types.
 * - Each test opens its own store and cleans it up; tests share nothing and use no fixed ports or paths.
 * - Change-feed assertions wait (bounded) for events, because a multi-node backend delivers them
 *   asynchronously after commit; "not before commit" is checked synchronously right after the call.
 * - Persistence tests (restart) run only when the harness can `reopen` the same data.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  type Account,
  DEFAULT_MAILBOXES,
  type DeliveryRequest,
  type Mailbox,
  type MailboxChange,
  type NewQueueEntry,
  OverQuotaError,
  type Store,
  StoreConflictError,
  StoreNotFoundError,
} from '../../src/store/types.js';
import { adminsContract } from './admins.js';
import { exerciseProgressContract } from './exercise-progress.js';
import { searchIndexContract } from './search-index.js';
import { sessionLogContract } from './session-log.js';
import { sieveContract } from './sieve.js';

export interface StoreHarness {
  store: Store;
  /** Closes the (latest) store and removes its data. */
  cleanup: () => Promise<void>;
  /** Closes `store` and opens the same data again, as after a restart. Enables the persistence tests. */
  reopen?: () => Promise<Store>;
}

let counter = 0;

/** A distinct small RFC 5322 message. */
function message(label = `m${++counter}`, extraBody = ''): Buffer {
  return Buffer.from(
    `From: sender@example.net\r\nTo: rcpt@example.org\r\nSubject: ${label}\r\nMessage-ID: <${label}@test>\r\n\r\nBody of ${label}\r\n${extraBody}`,
  );
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

function sorted(flags: string[]): string[] {
  return [...flags].sort();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The change feed of a multi-node backend reads after a commit (postgres/feed.ts): a busy CI machine
// has taken over 2 s. Waiting longer costs nothing when the event is there.
async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const remoteEntry = (overrides: Partial<NewQueueEntry> = {}): NewQueueEntry => ({
  envelopeFrom: 'sender@example.org',
  recipients: [
    { address: 'x@remote.example', notify: ['FAILURE', 'DELAY'], orcpt: 'rfc822;x@remote.example' },
    { address: 'y@remote.example', notify: null, orcpt: null },
  ],
  dsnRet: 'HDRS',
  dsnEnvid: 'envid-1',
  ...overrides,
});

export function runStoreContract(name: string, open: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;

    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    async function account(address = `user${++counter}@example.org`): Promise<Account> {
      return store.accounts.create({ address, passwordHash: 'hash' });
    }

    async function mailbox(accountId: number, name = 'INBOX'): Promise<Mailbox> {
      const mb = await store.mailboxes.get(accountId, name);
      assert.ok(mb, `mailbox ${name} exists`);
      return mb;
    }

    async function deliver(accountId: number, raw = message(), extra: Partial<DeliveryRequest> = {}) {
      const result = await store.deliver({
        raw,
        meta: { label: 'x' },
        local: [{ accountId, mailbox: 'INBOX' }],
        ...extra,
      });
      return result;
    }

    async function uids(mailboxId: number): Promise<number[]> {
      return (await store.messages.list(mailboxId)).map((m) => m.uid);
    }

    describe('accounts', () => {
      it('create lower-cases the address and creates the default mailboxes', async () => {
        const a = await store.accounts.create({ address: ' Alice@Example.ORG ', passwordHash: 'h1' });
        assert.equal(a.address, 'alice@example.org');
        assert.equal(a.passwordHash, 'h1');
        assert.equal(a.apopSecret, null);
        assert.equal(a.quotaBytes, null);
        assert.equal(a.disabled, false);
        assert.ok(a.createdAt instanceof Date);
        assert.ok(Math.abs(a.createdAt.getTime() - Date.now()) < 60_000);
        const boxes = await store.mailboxes.list(a.id);
        assert.deepEqual(boxes.map((b) => b.name).sort(), DEFAULT_MAILBOXES.map((m) => m.name).sort());
        for (const want of DEFAULT_MAILBOXES) {
          const got = boxes.find((b) => b.name === want.name);
          assert.ok(got);
          assert.equal(got.specialUse, want.specialUse);
          assert.equal(got.accountId, a.id);
          assert.equal(got.uidNext, 1);
          assert.equal(got.subscribed, true);
          assert.ok(got.uidValidity > 0 && got.uidValidity <= 0xffffffff);
        }
      });

      it('create keeps the optional fields', async () => {
        const a = await store.accounts.create({
          address: 'b@example.org',
          passwordHash: 'h',
          apopSecret: 'secret',
          quotaBytes: 1000,
        });
        assert.equal(a.apopSecret, 'secret');
        assert.equal(a.quotaBytes, 1000);
        assert.deepEqual(await store.accounts.get('b@example.org'), a);
      });

      it('create throws StoreConflictError for an existing address, in any case', async () => {
        await account('dup@example.org');
        await assert.rejects(
          store.accounts.create({ address: 'DUP@example.org', passwordHash: 'x' }),
          StoreConflictError,
        );
        assert.equal((await store.accounts.list()).length, 1);
      });

      it('get, getById and list', async () => {
        const a = await account('a@example.org');
        const b = await account('b@example.org');
        assert.deepEqual(await store.accounts.get('A@EXAMPLE.ORG'), a);
        assert.deepEqual(await store.accounts.getById(b.id), b);
        assert.equal(await store.accounts.get('nobody@example.org'), null);
        assert.equal(await store.accounts.getById(b.id + 1000), null);
        assert.deepEqual((await store.accounts.list()).map((x) => x.address).sort(), [
          'a@example.org',
          'b@example.org',
        ]);
      });

      it('withLocalPart finds the accounts of a local part, in any case, and no others', async () => {
        await account('vm@example.org');
        await account('vm@example.net');
        await account('vma@example.org');
        await account('v@example.org');
        await account('x.vm@example.org');
        assert.deepEqual(
          (await store.accounts.withLocalPart('VM')).map((a) => a.address),
          ['vm@example.net', 'vm@example.org'],
        );
        assert.deepEqual(
          (await store.accounts.withLocalPart('v')).map((a) => a.address),
          ['v@example.org'],
        );
        assert.deepEqual(await store.accounts.withLocalPart('nobody'), []);
        assert.deepEqual(await store.accounts.withLocalPart('mail.example.org'), []);
      });

      it('update changes only the given fields', async () => {
        const a = await store.accounts.create({ address: 'u@example.org', passwordHash: 'old', quotaBytes: 5 });
        assert.equal(await store.accounts.update('U@example.org', { passwordHash: 'new' }), true);
        let got = await store.accounts.get('u@example.org');
        assert.equal(got?.passwordHash, 'new');
        assert.equal(got?.quotaBytes, 5);
        assert.equal(
          await store.accounts.update('u@example.org', { disabled: true, quotaBytes: null, apopSecret: 's' }),
          true,
        );
        got = await store.accounts.get('u@example.org');
        assert.deepEqual(got, { ...a, passwordHash: 'new', disabled: true, quotaBytes: null, apopSecret: 's' });
        assert.equal(await store.accounts.update('nobody@example.org', { disabled: true }), false);
      });

      it('delete removes mailboxes, messages and orphaned blobs', async () => {
        const a = await account();
        const b = await account();
        const shared = message();
        const own = message();
        await store.deliver({
          raw: shared,
          meta: null,
          local: [
            { accountId: a.id, mailbox: 'INBOX' },
            { accountId: b.id, mailbox: 'INBOX' },
          ],
        });
        const ownResult = await deliver(a.id, own);
        const inboxA = await mailbox(a.id);
        const ownBlob = (await store.messages.get(inboxA.id, ownResult.local[0].uid))?.blobId;
        assert.ok(ownBlob);
        assert.equal((await store.stats()).blobs, 2);

        assert.equal(await store.accounts.delete(a.address.toUpperCase()), true);
        assert.equal(await store.accounts.get(a.address), null);
        assert.equal(await store.accounts.getById(a.id), null);
        assert.deepEqual(await store.mailboxes.list(a.id), []);
        assert.equal(await store.mailboxes.getById(inboxA.id), null);
        assert.deepEqual(await store.messages.list(inboxA.id), []);
        assert.equal(await store.blobs.get(ownBlob), null);
        const stats = await store.stats();
        assert.equal(stats.blobs, 1);
        assert.equal(stats.messages, 1);
        const inboxB = await mailbox(b.id);
        const [left] = await store.messages.list(inboxB.id);
        assert.deepEqual(await store.blobs.read(left.blobId), shared);
        assert.equal(await store.accounts.delete(a.address), false);
      });

      it('usage sums the sizes of all messages of the account', async () => {
        const a = await account();
        const other = await account();
        assert.equal(await store.accounts.usage(a.id), 0);
        const m1 = message();
        const m2 = message('m2', 'x'.repeat(500));
        await deliver(a.id, m1);
        await store.deliver({ raw: m2, meta: null, local: [{ accountId: a.id, mailbox: 'Archive' }] });
        await deliver(other.id, message());
        assert.equal(await store.accounts.usage(a.id), m1.length + m2.length);
        // Copies count again, moves do not change it, expunges and deleted mailboxes give it back.
        const inbox = await mailbox(a.id);
        const archive = (await store.mailboxes.get(a.id, 'Archive'))!;
        const [first] = await store.messages.list(inbox.id);
        const [[, copyUid]] = await store.messages.copy(inbox.id, [first.uid], archive.id);
        assert.equal(await store.accounts.usage(a.id), 2 * m1.length + m2.length);
        await store.messages.move(archive.id, [copyUid], inbox.id);
        assert.equal(await store.accounts.usage(a.id), 2 * m1.length + m2.length);
        await store.messages.expunge(inbox.id, [first.uid]);
        assert.equal(await store.accounts.usage(a.id), m1.length + m2.length);
        assert.equal(await store.mailboxes.delete(a.id, 'Archive'), true);
        assert.equal(await store.accounts.usage(a.id), m1.length);
      });
    });

    describe('domains', () => {
      it('add, has, list, remove, lower-cased', async () => {
        assert.equal(await store.domains.add('Example.ORG'), true);
        assert.equal(await store.domains.add('example.org'), false);
        assert.equal(await store.domains.add('b.example'), true);
        assert.equal(await store.domains.has('EXAMPLE.org'), true);
        assert.equal(await store.domains.has('other.example'), false);
        assert.deepEqual((await store.domains.list()).sort(), ['b.example', 'example.org']);
        assert.equal(await store.domains.remove('EXAMPLE.ORG'), true);
        assert.equal(await store.domains.remove('example.org'), false);
        assert.deepEqual(await store.domains.list(), ['b.example']);
      });
    });

    describe('aliases', () => {
      it('set, replace, get, list, remove, catch-all, lower-cased', async () => {
        await store.aliases.set('Info@Example.org', ['A@x.example', 'b@x.example']);
        assert.deepEqual(await store.aliases.get('info@example.org'), ['a@x.example', 'b@x.example']);
        await store.aliases.set('info@example.org', ['c@x.example']);
        assert.deepEqual(await store.aliases.get('INFO@example.org'), ['c@x.example']);
        await store.aliases.set('@Example.org', ['catch@x.example']);
        assert.deepEqual(await store.aliases.get('@example.org'), ['catch@x.example']);
        assert.equal(await store.aliases.get('nobody@example.org'), null);
        const list = (await store.aliases.list()).sort((x, y) => x.alias.localeCompare(y.alias));
        assert.deepEqual(list, [
          { alias: '@example.org', targets: ['catch@x.example'] },
          { alias: 'info@example.org', targets: ['c@x.example'] },
        ]);
        assert.equal(await store.aliases.remove('Info@example.org'), true);
        assert.equal(await store.aliases.remove('info@example.org'), false);
        assert.equal(await store.aliases.get('info@example.org'), null);
      });
    });

    describe('mailboxes', () => {
      it('INBOX is case-insensitive and always spelled INBOX', async () => {
        const a = await account();
        const inbox = await mailbox(a.id, 'inbox');
        assert.equal(inbox.name, 'INBOX');
        assert.deepEqual(await store.mailboxes.get(a.id, 'InBoX'), inbox);
        await assert.rejects(store.mailboxes.create(a.id, 'Inbox'), StoreConflictError);
        const child = await store.mailboxes.create(a.id, 'inbox/Sub');
        assert.equal(child.name, 'INBOX/Sub');
        assert.equal((await store.mailboxes.get(a.id, 'Inbox/Sub'))?.id, child.id);
      });

      it('create, get, getById; other names are case-sensitive', async () => {
        const a = await account();
        const mb = await store.mailboxes.create(a.id, 'Work/Projects', '\\Archive');
        assert.equal(mb.name, 'Work/Projects');
        assert.equal(mb.accountId, a.id);
        assert.equal(mb.specialUse, '\\Archive');
        assert.equal(mb.uidNext, 1);
        assert.ok(mb.highestModseq >= 1);
        assert.deepEqual(await store.mailboxes.get(a.id, 'Work/Projects'), mb);
        assert.deepEqual(await store.mailboxes.getById(mb.id), mb);
        assert.equal(await store.mailboxes.get(a.id, 'work/projects'), null);
        await assert.rejects(store.mailboxes.create(a.id, 'Work/Projects'), StoreConflictError);
        const lower = await store.mailboxes.create(a.id, 'work/projects');
        assert.notEqual(lower.id, mb.id);
        assert.equal((await store.mailboxes.create(a.id, 'Plain')).specialUse, null);
        await assert.rejects(store.mailboxes.create(a.id + 1000, 'X'));
      });

      it('UIDVALIDITY is unique per creation, also for a re-created name', async () => {
        const a = await account();
        const first = await store.mailboxes.create(a.id, 'Again');
        assert.equal(await store.mailboxes.delete(a.id, 'Again'), true);
        const second = await store.mailboxes.create(a.id, 'Again');
        assert.notEqual(second.uidValidity, first.uidValidity);
        const b = await account();
        const all = [...(await store.mailboxes.list(a.id)), ...(await store.mailboxes.list(b.id))];
        assert.equal(new Set(all.map((m) => m.uidValidity)).size, all.length);
      });

      it('rename moves children and keeps ids, UIDVALIDITY and messages', async () => {
        const a = await account();
        const top = await store.mailboxes.create(a.id, 'a');
        const mid = await store.mailboxes.create(a.id, 'a/b');
        const leaf = await store.mailboxes.create(a.id, 'a/b/c');
        const sibling = await store.mailboxes.create(a.id, 'ab');
        await store.deliver({ raw: message(), meta: null, local: [{ accountId: a.id, mailbox: 'a/b' }] });
        await store.mailboxes.rename(a.id, 'a', 'z');
        assert.equal(await store.mailboxes.get(a.id, 'a'), null);
        assert.equal(await store.mailboxes.get(a.id, 'a/b'), null);
        const z = await mailbox(a.id, 'z');
        const zb = await mailbox(a.id, 'z/b');
        const zbc = await mailbox(a.id, 'z/b/c');
        assert.deepEqual([z.id, zb.id, zbc.id], [top.id, mid.id, leaf.id]);
        assert.deepEqual(
          [z.uidValidity, zb.uidValidity, zbc.uidValidity],
          [top.uidValidity, mid.uidValidity, leaf.uidValidity],
        );
        assert.deepEqual(await mailbox(a.id, 'ab'), sibling);
        assert.deepEqual(await uids(zb.id), [1]);
      });

      it('rename reports conflicts and missing mailboxes, and changes nothing then', async () => {
        const a = await account();
        await store.mailboxes.create(a.id, 'x');
        await store.mailboxes.create(a.id, 'x/y');
        await store.mailboxes.create(a.id, 'w/y');
        await assert.rejects(store.mailboxes.rename(a.id, 'x', 'Sent'), StoreConflictError);
        await assert.rejects(store.mailboxes.rename(a.id, 'x', 'inbox'), StoreConflictError);
        await assert.rejects(store.mailboxes.rename(a.id, 'missing', 'q'), StoreNotFoundError);
        // 'w' is free but the child 'x/y' would become the existing 'w/y'.
        await assert.rejects(store.mailboxes.rename(a.id, 'x', 'w'), StoreConflictError);
        assert.ok(await store.mailboxes.get(a.id, 'x'));
        assert.ok(await store.mailboxes.get(a.id, 'x/y'));
        assert.equal(await store.mailboxes.get(a.id, 'w'), null);
      });

      it('rename into its own subtree', async () => {
        const a = await account();
        const m = await store.mailboxes.create(a.id, 'm');
        const n = await store.mailboxes.create(a.id, 'm/n');
        await store.mailboxes.rename(a.id, 'm', 'm/o');
        assert.equal((await mailbox(a.id, 'm/o')).id, m.id);
        assert.equal((await mailbox(a.id, 'm/o/n')).id, n.id);
        assert.equal(await store.mailboxes.get(a.id, 'm'), null);
      });

      it('renaming INBOX moves its messages to a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6)', async () => {
        const a = await account();
        const child = await store.mailboxes.create(a.id, 'INBOX/child');
        for (let i = 0; i < 3; i++) await deliver(a.id);
        const before = await mailbox(a.id);
        await store.messages.setFlags({ mailboxId: before.id, uids: [2], op: 'add', flags: ['\\Seen', '$Kw'] });
        const modseqBefore = (await mailbox(a.id)).highestModseq;

        await store.mailboxes.rename(a.id, 'inbox', 'Old Mail');
        const inbox = await mailbox(a.id);
        assert.equal(inbox.id, before.id);
        assert.equal(inbox.uidValidity, before.uidValidity);
        assert.equal(inbox.uidNext, 4);
        assert.ok(inbox.highestModseq > modseqBefore);
        assert.deepEqual(await uids(inbox.id), []);
        assert.deepEqual(await store.messages.expungedSince(inbox.id, modseqBefore), [1, 2, 3]);
        const old = await mailbox(a.id, 'Old Mail');
        assert.notEqual(old.id, inbox.id);
        const moved = await store.messages.list(old.id);
        assert.equal(moved.length, 3);
        assert.deepEqual(sorted(moved[1].flags), ['$Kw', '\\Seen']);
        assert.ok(old.uidNext > Math.max(...moved.map((m) => m.uid)));
        assert.deepEqual(await mailbox(a.id, 'INBOX/child'), child);
        const next = await deliver(a.id);
        assert.equal(next.local[0].uid, 4);
        await assert.rejects(store.mailboxes.rename(a.id, 'INBOX', 'Sent'), StoreConflictError);
      });

      it('delete removes the mailbox and its messages but not its children; INBOX cannot be deleted', async () => {
        const a = await account();
        const tmp = await store.mailboxes.create(a.id, 'Tmp');
        await store.mailboxes.create(a.id, 'Tmp/kid');
        await store.deliver({ raw: message(), meta: null, local: [{ accountId: a.id, mailbox: 'Tmp' }] });
        assert.equal((await store.stats()).blobs, 1);
        assert.equal(await store.mailboxes.delete(a.id, 'Tmp'), true);
        assert.equal(await store.mailboxes.get(a.id, 'Tmp'), null);
        assert.deepEqual(await store.messages.list(tmp.id), []);
        assert.equal((await store.stats()).blobs, 0);
        assert.ok(await store.mailboxes.get(a.id, 'Tmp/kid'));
        assert.equal(await store.mailboxes.delete(a.id, 'Tmp'), false);
        await assert.rejects(store.mailboxes.delete(a.id, 'inbox'));
        assert.ok(await store.mailboxes.get(a.id, 'INBOX'));
      });

      it('setSubscribed', async () => {
        const a = await account();
        assert.equal(await store.mailboxes.setSubscribed(a.id, 'Junk', false), true);
        assert.equal((await mailbox(a.id, 'Junk')).subscribed, false);
        assert.equal(await store.mailboxes.setSubscribed(a.id, 'Junk', true), true);
        assert.equal((await mailbox(a.id, 'Junk')).subscribed, true);
        assert.equal(await store.mailboxes.setSubscribed(a.id, 'inbox', false), true);
        assert.equal((await mailbox(a.id)).subscribed, false);
        assert.equal(await store.mailboxes.setSubscribed(a.id, 'Nope', true), false);
      });

      it('keeps the subscription of a deleted mailbox by name (RFC 3501 §6.3.6)', async () => {
        const a = await account();
        assert.equal((await store.mailboxes.create(a.id, 'Plain', null, { subscribed: false })).subscribed, false);
        await store.mailboxes.create(a.id, 'Kept', null, { subscribed: false });
        await store.mailboxes.setSubscribed(a.id, 'Kept', true);
        assert.equal(await store.mailboxes.delete(a.id, 'Kept'), true);
        await store.mailboxes.delete(a.id, 'Plain');
        assert.deepEqual(await store.mailboxes.subscribedWithoutMailbox(a.id), ['Kept']);
        // Created again (even without subscribing): the kept subscription is the mailbox's again.
        assert.equal((await store.mailboxes.create(a.id, 'Kept', null, { subscribed: false })).subscribed, true);
        assert.deepEqual(await store.mailboxes.subscribedWithoutMailbox(a.id), []);
        // A mailbox renamed to a subscribed name takes the subscription too.
        await store.mailboxes.delete(a.id, 'Kept');
        await store.mailboxes.create(a.id, 'Other', null, { subscribed: false });
        await store.mailboxes.rename(a.id, 'Other', 'Kept');
        assert.equal((await mailbox(a.id, 'Kept')).subscribed, true);
        assert.deepEqual(await store.mailboxes.subscribedWithoutMailbox(a.id), []);
        // Unsubscribing removes a kept name (true), and a later mailbox of that name is unsubscribed.
        await store.mailboxes.delete(a.id, 'Kept');
        assert.equal(await store.mailboxes.setSubscribed(a.id, 'Kept', false), true);
        assert.deepEqual(await store.mailboxes.subscribedWithoutMailbox(a.id), []);
        assert.equal((await store.mailboxes.create(a.id, 'Kept', null, { subscribed: false })).subscribed, false);
      });

      it('status counts messages, unseen and size', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        assert.deepEqual(await store.mailboxes.status(inbox.id), {
          messages: 0,
          unseen: 0,
          size: 0,
          uidNext: 1,
          uidValidity: inbox.uidValidity,
          highestModseq: inbox.highestModseq,
        });
        const raws = [message(), message('longer', 'y'.repeat(100)), message()];
        for (const raw of raws) await deliver(a.id, raw);
        await store.messages.setFlags({ mailboxId: inbox.id, uids: [2], op: 'add', flags: ['\\Seen'] });
        const now = await mailbox(a.id);
        assert.deepEqual(await store.mailboxes.status(inbox.id), {
          messages: 3,
          unseen: 2,
          size: raws.reduce((n, r) => n + r.length, 0),
          uidNext: 4,
          uidValidity: inbox.uidValidity,
          highestModseq: now.highestModseq,
        });
        await assert.rejects(store.mailboxes.status(inbox.id + 100_000));
      });
    });

    describe('messages', () => {
      it('deliver stores flags, size, internal date and bytes', async () => {
        const a = await account();
        const raw = message();
        const date = new Date('2024-02-03T04:05:06.000Z');
        const result = await store.deliver({
          raw,
          meta: { subject: 'x' },
          internalDate: date,
          local: [{ accountId: a.id, mailbox: 'INBOX', flags: ['\\Seen', '$Label'] }],
        });
        const inbox = await mailbox(a.id);
        assert.deepEqual(result, {
          local: [{ accountId: a.id, mailboxId: inbox.id, uid: 1 }],
          queueId: null,
          overQuota: [],
        });
        const got = await store.messages.get(inbox.id, 1);
        assert.ok(got);
        assert.equal(got.mailboxId, inbox.id);
        assert.equal(got.uid, 1);
        assert.equal(got.size, raw.length);
        assert.deepEqual(sorted(got.flags), ['$Label', '\\Seen']);
        assert.equal(got.internalDate.getTime(), date.getTime());
        assert.equal(got.modseq, inbox.highestModseq);
        assert.deepEqual(await store.messages.list(inbox.id), [got]);
        assert.deepEqual(await store.blobs.read(got.blobId), raw);
        assert.equal(await store.messages.get(inbox.id, 2), null);
      });

      it('deliver falls back to INBOX when the mailbox does not exist', async () => {
        const a = await account();
        const result = await store.deliver({
          raw: message(),
          meta: null,
          local: [{ accountId: a.id, mailbox: 'No/Such' }],
        });
        assert.equal(result.local[0].mailboxId, (await mailbox(a.id)).id);
        assert.equal(await store.mailboxes.get(a.id, 'No/Such'), null);
      });

      it('deliver to several local accounts stores one blob', async () => {
        const accounts = [await account(), await account(), await account()];
        const raw = message();
        const result = await store.deliver({
          raw,
          meta: null,
          local: [
            ...accounts.map((a) => ({ accountId: a.id, mailbox: 'INBOX' })),
            { accountId: accounts[0].id, mailbox: 'Archive' },
          ],
        });
        assert.equal(result.local.length, 4);
        const infos = await Promise.all(result.local.map((l) => store.messages.get(l.mailboxId, l.uid)));
        assert.equal(new Set(infos.map((i) => i?.blobId)).size, 1);
        const stats = await store.stats();
        assert.equal(stats.blobs, 1);
        assert.equal(stats.messages, 4);
      });

      it('the same bytes delivered twice share one blob', async () => {
        const a = await account();
        const raw = message();
        const r1 = await deliver(a.id, raw);
        const r2 = await deliver(a.id, Buffer.from(raw));
        const inbox = await mailbox(a.id);
        const [m1, m2] = await store.messages.list(inbox.id);
        assert.deepEqual([r1.local[0].uid, r2.local[0].uid], [1, 2]);
        assert.equal(m1.blobId, m2.blobId);
        assert.equal((await store.stats()).blobs, 1);
      });

      it('a delivery with an unknown account fails as a whole', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        await assert.rejects(
          store.deliver({
            raw: message(),
            meta: null,
            local: [
              { accountId: a.id, mailbox: 'INBOX' },
              { accountId: a.id + 1000, mailbox: 'INBOX' },
            ],
            remote: remoteEntry(),
          }),
        );
        assert.deepEqual(await uids(inbox.id), []);
        assert.equal((await mailbox(a.id)).uidNext, 1);
        const stats = await store.stats();
        assert.equal(stats.blobs, 0);
        assert.equal(stats.queue, 0);
      });

      it('UIDs are strictly ascending and never reused after expunge', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        for (let i = 0; i < 3; i++) await deliver(a.id);
        assert.deepEqual(await uids(inbox.id), [1, 2, 3]);
        assert.deepEqual(await store.messages.expunge(inbox.id, [3]), [3]);
        assert.equal((await deliver(a.id)).local[0].uid, 4);
        assert.deepEqual(await store.messages.expunge(inbox.id, [1, 2, 4]), [1, 2, 4]);
        assert.equal((await deliver(a.id)).local[0].uid, 5);
        assert.equal((await mailbox(a.id)).uidNext, 6);
      });

      it('every change bumps HIGHESTMODSEQ and stamps the message', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        let last = inbox.highestModseq;
        const bumped = async () => {
          const now = (await mailbox(a.id)).highestModseq;
          assert.ok(now > last, `highestModseq ${now} > ${last}`);
          last = now;
          return now;
        };
        await deliver(a.id);
        assert.equal((await store.messages.get(inbox.id, 1))?.modseq, await bumped());
        const [flagged] = await store.messages.setFlags({
          mailboxId: inbox.id,
          uids: [1],
          op: 'add',
          flags: ['\\Flagged'],
        });
        assert.equal(flagged.modseq, await bumped());
        const appended = await store.messages.append({ mailboxId: inbox.id, raw: message(), meta: null });
        assert.equal(appended.modseq, await bumped());
        const [[, copiedUid]] = await store.messages.copy(inbox.id, [1], inbox.id);
        assert.equal((await store.messages.get(inbox.id, copiedUid))?.modseq, await bumped());
        await store.messages.expunge(inbox.id, [2]);
        const expungedAt = await bumped();
        assert.deepEqual(await store.messages.expungedSince(inbox.id, expungedAt - 1), [2]);
        // No change, no bump.
        assert.deepEqual(
          await store.messages.setFlags({ mailboxId: inbox.id, uids: [1], op: 'add', flags: ['\\Flagged'] }),
          [],
        );
        assert.deepEqual(await store.messages.expunge(inbox.id, [2]), []);
        assert.equal((await mailbox(a.id)).highestModseq, last);
      });

      it('setFlags add, remove and replace with keywords', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        await deliver(a.id);
        await deliver(a.id);
        const set = async (op: 'add' | 'remove' | 'replace', flags: string[], list = [1]) =>
          store.messages.setFlags({ mailboxId: inbox.id, uids: list, op, flags });
        let changed = await set('add', ['\\Seen', '$Work']);
        assert.equal(changed.length, 1);
        assert.equal(changed[0].uid, 1);
        assert.deepEqual(sorted(changed[0].flags), ['$Work', '\\Seen']);
        assert.deepEqual(await set('add', ['\\seen', '$work']), [], 'flags are case-insensitive');
        changed = await set('add', ['\\Flagged']);
        assert.deepEqual(sorted(changed[0].flags), ['$Work', '\\Flagged', '\\Seen']);
        changed = await set('remove', ['\\Seen', '$WORK']);
        assert.deepEqual(changed[0].flags, ['\\Flagged']);
        changed = await set('replace', ['\\Draft', '\\Answered', 'custom']);
        assert.deepEqual(sorted(changed[0].flags), ['\\Answered', '\\Draft', 'custom']);
        assert.deepEqual(sorted((await store.messages.get(inbox.id, 1))?.flags ?? []), [
          '\\Answered',
          '\\Draft',
          'custom',
        ]);
        changed = await set('add', ['\\Deleted'], [1, 2, 999]);
        assert.deepEqual(
          changed.map((m) => m.uid),
          [1, 2],
        );
        assert.equal(changed[0].modseq, changed[1].modseq);
        changed = await set('replace', [], [1, 2]);
        assert.deepEqual(
          changed.map((m) => m.flags),
          [[], []],
        );
        assert.deepEqual((await store.messages.get(inbox.id, 2))?.flags, []);
      });

      it('expunge removes only existing messages and returns their UIDs', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        for (let i = 0; i < 3; i++) await deliver(a.id);
        assert.deepEqual(await store.messages.expunge(inbox.id, [3, 1, 99]), [1, 3]);
        assert.deepEqual(await uids(inbox.id), [2]);
        assert.deepEqual(await store.messages.expunge(inbox.id, [1]), []);
      });

      it('expungedSince lists UIDs expunged after a modseq', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        for (let i = 0; i < 4; i++) await deliver(a.id);
        const m0 = (await mailbox(a.id)).highestModseq;
        await store.messages.expunge(inbox.id, [2]);
        const m1 = (await mailbox(a.id)).highestModseq;
        await store.messages.expunge(inbox.id, [4]);
        const m2 = (await mailbox(a.id)).highestModseq;
        assert.deepEqual(await store.messages.expungedSince(inbox.id, 0), [2, 4]);
        assert.deepEqual(await store.messages.expungedSince(inbox.id, m0), [2, 4]);
        assert.deepEqual(await store.messages.expungedSince(inbox.id, m1), [4]);
        assert.deepEqual(await store.messages.expungedSince(inbox.id, m2), []);
      });

      it('listColumns has what list has, as columns with interned flag lists', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const empty = await store.messages.listColumns(inbox.id);
        assert.equal(empty.uids.length, 0);
        for (let i = 0; i < 5; i++) await deliver(a.id);
        await store.messages.setFlags({ mailboxId: inbox.id, uids: [1, 3, 5], op: 'add', flags: ['\\Seen'] });
        await store.messages.setFlags({ mailboxId: inbox.id, uids: [4], op: 'add', flags: ['$Work', '\\Flagged'] });
        await store.messages.expunge(inbox.id, [2]);
        const list = await store.messages.list(inbox.id);
        const cols = await store.messages.listColumns(inbox.id);
        assert.deepEqual([...cols.uids], [1, 3, 4, 5]);
        assert.deepEqual(
          list.map((m) => [m.uid, m.blobId, m.size, m.internalDate.getTime(), m.modseq, m.flags]),
          [...cols.uids].map((uid, k) => [
            uid,
            cols.blobIds[k],
            cols.sizes[k],
            cols.internalDates[k],
            cols.modseqs[k],
            cols.flagLists[cols.flagIds[k]],
          ]),
        );
        assert.equal(cols.flagLists.length, 2, 'one list per distinct flags: [\\Seen] and [\\Flagged $Work]');
      });

      it('changedSince lists the messages added or changed after a modseq, with expungedSince what brings a copy up to date', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        for (let i = 0; i < 3; i++) await deliver(a.id);
        const m0 = (await mailbox(a.id)).highestModseq;
        assert.deepEqual(await store.messages.changedSince(inbox.id, m0), []);
        await store.messages.setFlags({ mailboxId: inbox.id, uids: [2], op: 'add', flags: ['\\Seen'] });
        await deliver(a.id);
        await store.messages.expunge(inbox.id, [1]);
        const changed = await store.messages.changedSince(inbox.id, m0);
        assert.deepEqual(
          changed.map((m) => [m.uid, m.flags]),
          [
            [2, ['\\Seen']],
            [4, []],
          ],
        );
        assert.deepEqual(await store.messages.expungedSince(inbox.id, m0), [1]);
        const all = await store.messages.changedSince(inbox.id, 0);
        assert.deepEqual(
          all.map((m) => m.uid),
          [2, 3, 4],
        );
        const m1 = (await mailbox(a.id)).highestModseq;
        assert.deepEqual(await store.messages.changedSince(inbox.id, m1), []);
        assert.equal(await store.messages.countChangedSince(inbox.id, m0), 2);
        assert.equal(await store.messages.countChangedSince(inbox.id, 0), 3);
        assert.equal(await store.messages.countChangedSince(inbox.id, m1), 0);
      });

      it('append stores a message into an existing mailbox', async () => {
        const a = await account();
        const drafts = await mailbox(a.id, 'Drafts');
        const raw = message();
        const date = new Date('2020-01-01T00:00:00Z');
        const info = await store.messages.append({
          mailboxId: drafts.id,
          raw,
          meta: { a: 1 },
          flags: ['\\Draft'],
          internalDate: date,
        });
        assert.equal(info.uid, 1);
        assert.equal(info.mailboxId, drafts.id);
        assert.equal(info.size, raw.length);
        assert.deepEqual(info.flags, ['\\Draft']);
        assert.equal(info.internalDate.getTime(), date.getTime());
        assert.deepEqual(await store.messages.get(drafts.id, 1), info);
        assert.deepEqual(await store.blobs.read(info.blobId), raw);
        assert.deepEqual((await store.blobs.get(info.blobId))?.meta, { a: 1 });
        await assert.rejects(store.messages.append({ mailboxId: drafts.id + 100_000, raw, meta: null }));
      });

      it('copy references the same blobs and keeps flags and dates', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const archive = await mailbox(a.id, 'Archive');
        await store.deliver({ raw: message(), meta: null, local: [{ accountId: a.id, mailbox: 'Archive' }] });
        for (let i = 0; i < 3; i++) await deliver(a.id);
        await store.messages.setFlags({ mailboxId: inbox.id, uids: [3], op: 'add', flags: ['\\Answered', 'kw'] });
        const blobsBefore = (await store.stats()).blobs;
        const pairs = await store.messages.copy(inbox.id, [3, 1, 99], archive.id);
        assert.deepEqual(pairs, [
          [1, 2],
          [3, 3],
        ]);
        for (const [src, dst] of pairs) {
          const from = await store.messages.get(inbox.id, src);
          const to = await store.messages.get(archive.id, dst);
          assert.ok(from && to);
          assert.equal(to.blobId, from.blobId);
          assert.equal(to.size, from.size);
          assert.deepEqual(to.flags, from.flags);
          assert.equal(to.internalDate.getTime(), from.internalDate.getTime());
        }
        assert.deepEqual(await uids(inbox.id), [1, 2, 3]);
        assert.equal((await store.stats()).blobs, blobsBefore);
        assert.deepEqual(await store.messages.copy(inbox.id, [], archive.id), []);
        await assert.rejects(store.messages.copy(inbox.id, [1], archive.id + 100_000));
      });

      it('copy, move and expunge take any UID set: runs, gaps, repeats, any order, UIDs that are gone', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const archive = await mailbox(a.id, 'Archive');
        for (let i = 0; i < 12; i++) await deliver(a.id);
        await store.messages.expunge(inbox.id, [4, 8]);
        const before = await mailbox(a.id, 'Archive');
        const set = [12, 1, 2, 3, 3, 4, 7, 0, -1, 99, 5, 6, 2.5, 11, 10];
        const pairs = await store.messages.copy(inbox.id, set, archive.id);
        const sources = [1, 2, 3, 5, 6, 7, 10, 11, 12];
        assert.deepEqual(
          pairs,
          sources.map((uid, i) => [uid, i + 1]),
        );
        const copies = await store.messages.list(archive.id);
        assert.deepEqual(
          copies.map((m) => m.uid),
          sources.map((_, i) => i + 1),
        );
        for (let i = 1; i < copies.length; i++) assert.ok(copies[i].modseq >= copies[i - 1].modseq);
        const after = await mailbox(a.id, 'Archive');
        assert.equal(after.uidNext, before.uidNext + sources.length);
        assert.equal(after.highestModseq, copies[copies.length - 1].modseq);
        const moved = await store.messages.move(archive.id, [9, 1, 2, 3, 7, 7], inbox.id);
        assert.deepEqual(moved.pairs, [
          [1, 13],
          [2, 14],
          [3, 15],
          [7, 16],
          [9, 17],
        ]);
        assert.deepEqual(await uids(archive.id), [4, 5, 6, 8]);
        assert.deepEqual(
          await store.messages.expunge(inbox.id, [17, 1, 2, 3, 3, 4, 99, 13, 15]),
          [1, 2, 3, 13, 15, 17],
        );
        assert.deepEqual(await uids(inbox.id), [5, 6, 7, 9, 10, 11, 12, 14, 16]);
        assert.deepEqual(await store.messages.expungedSince(inbox.id, 0), [1, 2, 3, 4, 8, 13, 15, 17]);
      });

      it('storeFlags over mixed flags, gaps and repeats changes each message as the operation says, no other', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        for (let i = 0; i < 40; i++) await deliver(a.id);
        await store.messages.expunge(inbox.id, [7, 8, 20]);
        let seed = 7;
        const random = (n: number) => {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          return seed % n;
        };
        const choices = ['\\Seen', '\\Flagged', '\\Deleted', '$Work', 'Later'];
        const model = new Map((await store.messages.list(inbox.id)).map((m) => [m.uid, new Set(m.flags)]));
        for (let round = 0; round < 12; round++) {
          const flags = choices.filter(() => random(2) === 0);
          const op = (['add', 'remove', 'replace'] as const)[random(3)];
          const uids = Array.from({ length: 1 + random(45) }, () => 1 + random(42));
          const result = await store.messages.storeFlags({ mailboxId: inbox.id, uids, op, flags });
          for (const uid of new Set(uids)) {
            const have = model.get(uid);
            if (!have) continue;
            const next = op === 'replace' ? new Set(flags) : new Set(have);
            for (const f of op === 'replace' ? [] : flags) {
              if (op === 'add') next.add(f);
              else next.delete(f);
            }
            model.set(uid, next);
          }
          const now = await store.messages.list(inbox.id);
          assert.deepEqual(
            now.map((m) => [m.uid, [...m.flags].sort()]),
            [...model].map(([uid, f]) => [uid, [...f].sort()]),
            `round ${round}: ${op} ${flags.join(' ')} on ${uids.join(',')}`,
          );
          const changed = new Set(result.changed.map((m) => m.uid));
          for (const m of result.changed) assert.deepEqual([...m.flags].sort(), [...model.get(m.uid)!].sort());
          for (const m of now) if (changed.has(m.uid)) assert.equal(m.modseq, result.changed[0].modseq);
        }
      });

      it('appendMany stores several messages atomically, in order', async () => {
        const a = await account();
        const drafts = await mailbox(a.id, 'Drafts');
        const raws = [message(), message(), message()];
        const infos = await store.messages.appendMany(
          raws.map((raw, i) => ({ mailboxId: drafts.id, raw, meta: { i }, flags: i === 1 ? ['\\Seen'] : [] })),
        );
        assert.deepEqual(
          infos.map((m) => m.uid),
          [1, 2, 3],
        );
        assert.deepEqual(infos[1].flags, ['\\Seen']);
        assert.deepEqual((await store.blobs.get(infos[2].blobId))?.meta, { i: 2 });
        // One missing mailbox fails the whole call and stores nothing.
        await assert.rejects(
          store.messages.appendMany([
            { mailboxId: drafts.id, raw: message(), meta: null },
            { mailboxId: drafts.id + 100_000, raw: message(), meta: null },
          ]),
          StoreNotFoundError,
        );
        assert.deepEqual(await uids(drafts.id), [1, 2, 3]);
        assert.equal((await mailbox(a.id, 'Drafts')).uidNext, 4);
      });

      it('storeFlags reports changed, unchanged and UNCHANGEDSINCE failures atomically (RFC 7162 §3.1.3)', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        for (let i = 0; i < 3; i++) await deliver(a.id);
        await store.messages.setFlags({ mailboxId: inbox.id, uids: [2], op: 'add', flags: ['\\Flagged'] });
        const m2 = (await store.messages.get(inbox.id, 2))?.modseq ?? 0;
        const m1 = (await store.messages.get(inbox.id, 1))?.modseq ?? 0;
        assert.ok(m2 > m1);
        // Message 2 changed after m2 - 1: it fails the test; 1 and 3 pass and change.
        const r = await store.messages.storeFlags({
          mailboxId: inbox.id,
          uids: [1, 2, 3, 99],
          op: 'add',
          flags: ['\\Flagged'],
          unchangedSince: m2 - 1,
        });
        assert.deepEqual(
          r.changed.map((m) => m.uid),
          [1, 3],
        );
        assert.deepEqual(
          r.modified.map((m) => [m.uid, m.modseq, m.flags]),
          [[2, m2, ['\\Flagged']]],
        );
        assert.deepEqual(r.unchanged, []);
        assert.equal(r.changed[0].modseq, (await mailbox(a.id)).highestModseq);
        // Without a test, a no-op is reported as unchanged and bumps nothing.
        const before = (await mailbox(a.id)).highestModseq;
        const again = await store.messages.storeFlags({
          mailboxId: inbox.id,
          uids: [1, 2],
          op: 'add',
          flags: ['\\Flagged'],
        });
        assert.deepEqual(
          again.unchanged.map((m) => m.uid),
          [1, 2],
        );
        assert.deepEqual(again.changed, []);
        assert.equal((await mailbox(a.id)).highestModseq, before);
        // UNCHANGEDSINCE 0 always fails; setFlags takes the option too.
        const zero = await store.messages.storeFlags({
          mailboxId: inbox.id,
          uids: [1, 2, 3],
          op: 'remove',
          flags: ['\\Flagged'],
          unchangedSince: 0,
        });
        assert.equal(zero.modified.length, 3);
        assert.deepEqual(
          await store.messages.setFlags({
            mailboxId: inbox.id,
            uids: [1],
            op: 'remove',
            flags: ['\\Flagged'],
            unchangedSince: 0,
          }),
          [],
        );
        assert.deepEqual((await store.messages.get(inbox.id, 1))?.flags, ['\\Flagged']);
      });

      it('expungeDeleted removes only messages with \\Deleted, with one modseq', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        for (let i = 0; i < 4; i++) await deliver(a.id);
        await store.messages.setFlags({ mailboxId: inbox.id, uids: [1, 3, 4], op: 'add', flags: ['\\Deleted'] });
        const events: MailboxChange[] = [];
        const off = store.changes.subscribe(inbox.id, (c) => events.push(c));
        await store.changes.ready?.(inbox.id); // subscribe-then-write, as a session does (types.ts ChangeFeed)
        const r = await store.messages.expungeDeleted(inbox.id, [1, 2, 3, 99]);
        assert.deepEqual(r.uids, [1, 3]);
        assert.equal(r.modseq, (await mailbox(a.id)).highestModseq);
        assert.deepEqual(await uids(inbox.id), [2, 4]);
        assert.deepEqual(await store.messages.expungedSince(inbox.id, r.modseq - 1), [1, 3]);
        await waitFor(() => events.length === 1, 'the expunge event');
        assert.deepEqual(events[0], { kind: 'expunge', mailboxId: inbox.id, uids: [1, 3], modseq: r.modseq });
        off();
        assert.deepEqual(await store.messages.expungeDeleted(inbox.id, [2]), { uids: [], modseq: 0 });
        assert.equal((await mailbox(a.id)).highestModseq, r.modseq);
      });

      it('move copies and expunges in one step, keeping flags, dates and blobs', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const archive = await mailbox(a.id, 'Archive');
        for (let i = 0; i < 3; i++) await deliver(a.id);
        await store.messages.setFlags({ mailboxId: inbox.id, uids: [3], op: 'add', flags: ['\\Seen', 'kw'] });
        const before = await store.messages.list(inbox.id);
        const events: MailboxChange[] = [];
        const offIn = store.changes.subscribe(inbox.id, (c) => events.push(c));
        const offAr = store.changes.subscribe(archive.id, (c) => events.push(c));
        await Promise.all([store.changes.ready?.(inbox.id), store.changes.ready?.(archive.id)]);
        const r = await store.messages.move(inbox.id, [3, 1, 99], archive.id);
        assert.deepEqual(r.pairs, [
          [1, 1],
          [3, 2],
        ]);
        assert.equal(r.modseq, (await mailbox(a.id)).highestModseq);
        assert.deepEqual(await uids(inbox.id), [2]);
        const moved = await store.messages.get(archive.id, 2);
        assert.ok(moved);
        assert.deepEqual(moved.flags, ['\\Seen', 'kw']);
        assert.equal(moved.blobId, before[2].blobId);
        assert.equal(moved.internalDate.getTime(), before[2].internalDate.getTime());
        assert.ok(await store.blobs.get(before[0].blobId), 'the blob survives the move');
        assert.deepEqual(await store.messages.expungedSince(inbox.id, r.modseq - 1), [1, 3]);
        await waitFor(() => events.length === 3, 'two exists and one expunge');
        assert.deepEqual(
          events.map((e) => e.kind),
          ['exists', 'exists', 'expunge'],
        );
        offIn();
        offAr();
        assert.deepEqual(await store.messages.move(inbox.id, [77], archive.id), { pairs: [], modseq: 0 });
        await assert.rejects(store.messages.move(inbox.id, [2], archive.id + 100_000), StoreNotFoundError);
        assert.deepEqual(await uids(inbox.id), [2], 'a failed move changes nothing');
      });

      it('metaMany and readMany read by (mailbox, UID), ranges only, and skip expunged messages', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const raws = [message('one'), message('two')];
        for (const raw of raws)
          await store.deliver({ raw, meta: { n: raw.length }, local: [{ accountId: a.id, mailbox: 'INBOX' }] });
        const metas = await store.messages.metaMany(inbox.id, [2, 1, 5]);
        assert.deepEqual([...metas.keys()].sort(), [1, 2]);
        assert.deepEqual(metas.get(1), { hash: sha256(raws[0]), meta: { n: raws[0].length } });
        const bytes = await store.messages.readMany(inbox.id, [{ uid: 1 }, { uid: 2, start: 6, end: 10 }, { uid: 5 }]);
        assert.deepEqual(bytes.get(1), raws[0]);
        assert.deepEqual(bytes.get(2), raws[1].subarray(6, 10));
        assert.equal(bytes.has(5), false);
        const tail = await store.messages.readMany(inbox.id, [
          { uid: 2, start: raws[1].length - 3, end: raws[1].length + 50 },
        ]);
        assert.deepEqual(tail.get(2), raws[1].subarray(raws[1].length - 3));
        const empty = await store.messages.readMany(inbox.id, [
          { uid: 2, start: raws[1].length + 10, end: raws[1].length + 20 },
        ]);
        assert.equal(empty.get(2)?.length, 0);
        await store.messages.expunge(inbox.id, [1]);
        assert.equal((await store.messages.metaMany(inbox.id, [1])).size, 0);
        assert.equal((await store.messages.readMany(inbox.id, [{ uid: 1 }])).size, 0);
      });
    });

    describe('blobs', () => {
      it('read, readRange and get', async () => {
        const a = await account();
        const raw = Buffer.from('Subject: x\r\n\r\n0123456789');
        const result = await store.deliver({
          raw,
          meta: { headerLength: 14 },
          local: [{ accountId: a.id, mailbox: 'INBOX' }],
        });
        const info = await store.messages.get(result.local[0].mailboxId, result.local[0].uid);
        assert.ok(info);
        assert.deepEqual(await store.blobs.read(info.blobId), raw);
        assert.deepEqual(await store.blobs.readRange(info.blobId, 0, 7), raw.subarray(0, 7));
        assert.deepEqual(await store.blobs.readRange(info.blobId, 14, 18), Buffer.from('0123'));
        assert.deepEqual(await store.blobs.readRange(info.blobId, 20, raw.length + 100), Buffer.from('6789'));
        assert.equal((await store.blobs.readRange(info.blobId, 5, 5)).length, 0);
        assert.deepEqual(await store.blobs.get(info.blobId), {
          id: info.blobId,
          hash: sha256(raw),
          size: raw.length,
          meta: { headerLength: 14 },
        });
        assert.equal(await store.blobs.get(info.blobId + 1000), null);
        await assert.rejects(store.blobs.read(info.blobId + 1000));
      });

      it('a large blob (several MiB) reads whole and by any range, across its pieces', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        // 3 MiB + 123 bytes of a pattern that differs at every offset modulo 251, so a piece read at the
        // wrong offset shows.
        const raw = Buffer.alloc(3 * 1024 * 1024 + 123);
        for (let i = 0; i < raw.length; i++) raw[i] = i % 251;
        raw.write('Subject: big\r\n\r\n', 0);
        const result = await store.deliver({
          raw,
          meta: { big: true },
          local: [{ accountId: a.id, mailbox: 'INBOX' }],
        });
        const info = await store.messages.get(inbox.id, result.local[0].uid);
        assert.ok(info);
        assert.ok((await store.blobs.read(info.blobId)).equals(raw));
        const K = 256 * 1024;
        for (const [from, to] of [
          [0, 10],
          [K - 5, K + 5],
          [K, 2 * K],
          [3 * K + 17, 9 * K],
          [raw.length - 50, raw.length + 1000],
          [raw.length + 1, raw.length + 10],
        ]) {
          assert.ok(
            (await store.blobs.readRange(info.blobId, from, to)).equals(raw.subarray(from, to)),
            `readRange ${from}..${to}`,
          );
        }
        const many = await store.messages.readMany(inbox.id, [{ uid: info.uid, start: K - 3, end: 5 * K + 3 }]);
        assert.ok(many.get(info.uid)?.equals(raw.subarray(K - 3, 5 * K + 3)));
        const whole = await store.messages.readMany(inbox.id, [{ uid: info.uid }]);
        assert.ok(whole.get(info.uid)?.equals(raw));
        // The same bytes again are the same blob; the last reference takes it away.
        const again = await store.deliver({ raw, meta: { big: true }, local: [{ accountId: a.id, mailbox: 'INBOX' }] });
        const second = await store.messages.get(inbox.id, again.local[0].uid);
        assert.equal(second?.blobId, info.blobId);
        await store.messages.expunge(inbox.id, [info.uid, again.local[0].uid]);
        assert.equal(await store.blobs.get(info.blobId), null);
        await assert.rejects(store.blobs.readRange(info.blobId, 0, 10), StoreNotFoundError);
      });

      it('a blob is deleted when its last message or queue reference goes', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const archive = await mailbox(a.id, 'Archive');
        const result = await deliver(a.id, message(), { remote: remoteEntry() });
        assert.ok(result.queueId);
        await store.messages.copy(inbox.id, [1], archive.id);
        const blobId = (await store.messages.get(inbox.id, 1))?.blobId;
        assert.ok(blobId);
        await store.messages.expunge(inbox.id, [1]);
        assert.ok(await store.blobs.get(blobId), 'still referenced by Archive and the queue');
        await store.messages.expunge(archive.id, [1]);
        assert.ok(await store.blobs.get(blobId), 'still referenced by the queue');
        assert.equal(await store.queue.delete(result.queueId), true);
        assert.equal(await store.blobs.get(blobId), null);
        assert.equal((await store.stats()).blobs, 0);
      });
    });

    describe('queue', () => {
      it('never gives a queue id twice, even once the queue has emptied', async () => {
        const first = await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
        assert.ok(first.queueId !== null);
        assert.equal(await store.queue.delete(first.queueId), true);
        const second = await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
        assert.ok(
          second.queueId !== null && second.queueId > first.queueId,
          `${second.queueId} after ${first.queueId}`,
        );
        assert.equal(await store.queue.delete(second.queueId), true);
      });

      it('deliver with remote recipients creates one entry', async () => {
        const a = await account();
        const raw = message();
        const before = Date.now();
        const result = await store.deliver({
          raw,
          meta: null,
          local: [{ accountId: a.id, mailbox: 'INBOX' }],
          remote: remoteEntry(),
        });
        assert.equal(result.local.length, 1);
        assert.ok(result.queueId !== null);
        const entry = await store.queue.get(result.queueId);
        assert.ok(entry);
        assert.equal(entry.id, result.queueId);
        assert.equal(entry.envelopeFrom, 'sender@example.org');
        assert.equal(entry.size, raw.length);
        assert.equal(entry.dsnRet, 'HDRS');
        assert.equal(entry.dsnEnvid, 'envid-1');
        assert.equal(entry.attempts, 0);
        assert.equal(entry.lastError, null);
        assert.equal(entry.delayWarnedAt, null);
        assert.ok(entry.createdAt.getTime() >= before - 1000 && entry.createdAt.getTime() <= Date.now() + 1000);
        assert.ok(entry.nextAttemptAt.getTime() <= Date.now() + 1000);
        assert.deepEqual(entry.recipients, [
          {
            address: 'x@remote.example',
            notify: ['FAILURE', 'DELAY'],
            orcpt: 'rfc822;x@remote.example',
            state: 'pending',
            lastError: null,
          },
          { address: 'y@remote.example', notify: null, orcpt: null, state: 'pending', lastError: null },
        ]);
        const inboxMsg = await store.messages.get(result.local[0].mailboxId, result.local[0].uid);
        assert.equal(entry.blobId, inboxMsg?.blobId);
        assert.deepEqual(await store.blobs.read(entry.blobId), raw);
        assert.equal(await store.queue.count(), 1);
        assert.deepEqual(await store.queue.list(), [entry]);
        assert.equal(await store.queue.get(result.queueId + 1000), null);
      });

      it('a remote-only delivery stores the blob for the queue alone', async () => {
        const result = await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
        assert.deepEqual(result.local, []);
        assert.ok(result.queueId);
        const stats = await store.stats();
        assert.equal(stats.blobs, 1);
        assert.equal(stats.messages, 0);
        assert.equal(stats.queue, 1);
      });

      it('due, recordAttempt with per-recipient state, retry, and removal when done', async () => {
        const { queueId } = await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
        assert.ok(queueId);
        const soon = () => new Date(Date.now() + 1000);
        assert.deepEqual(
          (await store.queue.due(soon(), 10)).map((e) => e.id),
          [queueId],
        );
        assert.deepEqual(await store.queue.due(new Date(0), 10), []);

        const later = new Date(Date.now() + 3_600_000);
        await store.queue.recordAttempt(queueId, {
          recipients: [
            { address: 'X@remote.example', state: 'delivered', error: null },
            { address: 'y@remote.example', state: 'pending', error: '451 4.4.1 try later' },
          ],
          nextAttemptAt: later,
          error: '451 4.4.1 try later',
        });
        let entry = await store.queue.get(queueId);
        assert.ok(entry);
        assert.equal(entry.attempts, 1);
        assert.equal(entry.lastError, '451 4.4.1 try later');
        assert.equal(entry.nextAttemptAt.getTime(), later.getTime());
        assert.deepEqual(
          entry.recipients.map((r) => [r.address, r.state, r.lastError]),
          [
            ['x@remote.example', 'delivered', null],
            ['y@remote.example', 'pending', '451 4.4.1 try later'],
          ],
        );
        assert.deepEqual(await store.queue.due(soon(), 10), []);

        assert.equal(await store.queue.retry(queueId), true);
        assert.deepEqual(
          (await store.queue.due(soon(), 10)).map((e) => e.id),
          [queueId],
        );
        assert.equal(await store.queue.retry(queueId + 1000), false);

        const blobId = entry.blobId;
        await store.queue.recordAttempt(queueId, {
          recipients: [{ address: 'y@remote.example', state: 'failed', error: '550 5.1.1 no such user' }],
          nextAttemptAt: later,
          error: '550 5.1.1 no such user',
        });
        entry = await store.queue.get(queueId);
        assert.equal(entry, null, 'no pending recipient left: the entry is gone');
        assert.equal(await store.queue.count(), 0);
        assert.equal(await store.blobs.get(blobId), null, 'and so is its blob');
        // Recording an attempt for a gone entry is harmless.
        await store.queue.recordAttempt(queueId, { recipients: [], nextAttemptAt: later, error: null });
      });

      it('due honours the limit and the order of next attempts; delete and count', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 3; i++) {
          const { queueId } = await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
          assert.ok(queueId);
          ids.push(queueId);
        }
        // Push the first one back: the others become due first.
        await store.queue.recordAttempt(ids[0], {
          recipients: [],
          nextAttemptAt: new Date(Date.now() + 500),
          error: 'x',
        });
        const far = new Date(Date.now() + 60_000);
        assert.deepEqual(
          (await store.queue.due(far, 2)).map((e) => e.id),
          [ids[1], ids[2]],
        );
        assert.equal(await store.queue.count(), 3);
        assert.equal(await store.queue.delete(ids[1]), true);
        assert.equal(await store.queue.delete(ids[1]), false);
        assert.equal(await store.queue.count(), 2);
        assert.deepEqual(
          (await store.queue.list()).map((e) => e.id).sort((x, y) => x - y),
          [ids[0], ids[2]],
        );
      });

      it('markDelayWarned sets a durable mark that attempts keep; false for an entry that is gone', async () => {
        const { queueId } = await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
        assert.ok(queueId);
        assert.equal((await store.queue.get(queueId))?.delayWarnedAt, null);
        const at = new Date(Date.now() - 5_000);
        assert.equal(await store.queue.markDelayWarned(queueId, at), true);
        await store.queue.recordAttempt(queueId, {
          recipients: [{ address: 'x@remote.example', state: 'pending', error: '451 later' }],
          nextAttemptAt: new Date(),
          error: '451 later',
        });
        const entry = await store.queue.get(queueId);
        assert.equal(entry?.delayWarnedAt?.getTime(), at.getTime());
        assert.equal(
          (await store.queue.due(new Date(Date.now() + 1000), 100))
            .find((e) => e.id === queueId)
            ?.delayWarnedAt?.getTime(),
          at.getTime(),
        );
        assert.equal(await store.queue.delete(queueId), true);
        assert.equal(await store.queue.markDelayWarned(queueId, at), false);
      });

      it('summary counts messages, pending and deferred recipients, oldest entry, next attempt', async () => {
        assert.deepEqual(await store.queue.summary(), {
          messages: 0,
          recipientsPending: 0,
          oldestCreatedAt: null,
          nextAttemptAt: null,
          deferred: 0,
          deferredByError: [],
        });
        const ids: number[] = [];
        const before = Date.now();
        for (let i = 0; i < 3; i++) {
          const { queueId } = await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
          assert.ok(queueId);
          ids.push(queueId);
        }
        const created = (await store.queue.get(ids[0]))?.createdAt;
        const later = new Date(Date.now() + 3_600_000);
        const refused = 'ECONNECTION: connect ECONNREFUSED 127.0.0.1:25';
        await store.queue.recordAttempt(ids[0], {
          recipients: [
            { address: 'x@remote.example', state: 'delivered', error: null },
            { address: 'y@remote.example', state: 'pending', error: '451 4.4.1 try later' },
          ],
          nextAttemptAt: later,
          error: '451 4.4.1 try later',
        });
        for (const id of ids.slice(1)) {
          await store.queue.recordAttempt(id, {
            recipients: [
              { address: 'x@remote.example', state: 'pending', error: refused },
              { address: 'y@remote.example', state: 'pending', error: refused },
            ],
            nextAttemptAt: new Date(later.getTime() + 1000),
            error: refused,
          });
        }
        // A fresh entry, never tried: pending but not deferred, and due now.
        await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
        const s = await store.queue.summary();
        assert.equal(s.messages, 4);
        assert.equal(s.recipientsPending, 7);
        assert.equal(s.deferred, 5);
        assert.equal(s.oldestCreatedAt?.getTime(), created?.getTime());
        assert.ok((s.oldestCreatedAt?.getTime() ?? 0) >= before - 1000);
        assert.ok((s.nextAttemptAt?.getTime() ?? Infinity) <= Date.now() + 1000, 'the fresh entry is due now');
        assert.deepEqual(s.deferredByError, [
          { error: refused, recipients: 4 },
          { error: '451 4.4.1 try later', recipients: 1 },
        ]);
        assert.deepEqual((await store.queue.summary({ maxErrorGroups: 1 })).deferredByError, [
          { error: refused, recipients: 4 },
        ]);
      });

      async function queued(n: number): Promise<number[]> {
        const ids: number[] = [];
        for (let i = 0; i < n; i++) {
          const { queueId } = await store.deliver({ raw: message(), meta: null, local: [], remote: remoteEntry() });
          assert.ok(queueId);
          ids.push(queueId);
        }
        return ids;
      }
      const byId = (ids: number[]) => [...ids].sort((x, y) => x - y);

      it('claim leases due entries in order; nobody else gets them while the lease runs', async () => {
        const ids = await queued(3);
        const now = new Date(Date.now() + 1000);
        const a = { owner: 'node-a:1', leaseMs: 60_000 };
        const b = { owner: 'node-b:2', leaseMs: 60_000 };
        assert.deepEqual(await store.queue.claim(new Date(0), 10, a), [], 'nothing is due at 0');
        const first = await store.queue.claim(now, 2, a);
        assert.deepEqual(
          first.map((e) => e.id),
          ids.slice(0, 2),
        );
        assert.deepEqual(first[0], await store.queue.get(ids[0]), 'a claimed entry reads as get() reads it');
        assert.deepEqual(
          (await store.queue.claim(now, 10, b)).map((e) => e.id),
          [ids[2]],
        );
        assert.deepEqual(await store.queue.claim(now, 10, a), [], 'every entry is held');
        assert.deepEqual(await store.queue.claim(now, 10, b), [], 'also for the holder itself');
        assert.deepEqual(byId((await store.queue.due(now, 10)).map((e) => e.id)), ids, 'due() ignores leases');
        assert.deepEqual(await store.queue.leases(), [
          { owner: a.owner, entries: 2, until: new Date(now.getTime() + a.leaseMs) },
          { owner: b.owner, entries: 1, until: new Date(now.getTime() + b.leaseMs) },
        ]);
        // retry makes an entry due now but keeps its lease: a flush never sends it a second time.
        assert.equal(await store.queue.retry(ids[0]), true);
        assert.deepEqual(await store.queue.claim(new Date(Date.now() + 1000), 10, b), []);
      });

      it('concurrent claims never return the same entry', async () => {
        const ids = await queued(12);
        const now = new Date(Date.now() + 1000);
        const got: number[] = [];
        for (;;) {
          const rounds = await Promise.all(
            [1, 2, 3, 4].map((n) => store.queue.claim(now, 2, { owner: `node-${n}:${n}`, leaseMs: 60_000 })),
          );
          const round = rounds.flat().map((e) => e.id);
          if (round.length === 0) break;
          got.push(...round);
        }
        assert.deepEqual(byId(got), ids, 'each entry exactly once');
        assert.deepEqual(
          (await store.queue.leases()).map((l) => l.entries).reduce((x, y) => x + y),
          12,
        );
      });

      it('a lease that ran out is taken over; renew keeps a lease; the old holder can no longer record', async () => {
        const [id, other] = await queued(2);
        const t = Date.now() + 1000;
        const a = { owner: 'node-a:1', leaseMs: 1000 };
        const b = { owner: 'node-b:2', leaseMs: 60_000 };
        assert.deepEqual(
          (await store.queue.claim(new Date(t), 2, a)).map((e) => e.id),
          [id, other],
        );
        // a renews `other` only; both leases would have run out at t + 1000.
        assert.deepEqual(await store.queue.renew([other, other + 1000], new Date(t + 500), a), [other]);
        assert.deepEqual(await store.queue.claim(new Date(t + 1000), 10, b), [], 'not before it runs out');
        assert.deepEqual(
          (await store.queue.claim(new Date(t + 1001), 10, b)).map((e) => e.id),
          [id],
          'the renewed lease still holds',
        );
        assert.deepEqual(await store.queue.renew([id], new Date(t + 1001), a), [], 'a lost it');
        assert.equal(
          await store.queue.recordAttempt(
            id,
            {
              recipients: [{ address: 'x@remote.example', state: 'delivered', error: null }],
              nextAttemptAt: new Date(t),
              error: null,
            },
            { owner: a.owner },
          ),
          false,
          'a record of the old holder is refused',
        );
        let entry = await store.queue.get(id);
        assert.equal(entry?.attempts, 0);
        assert.deepEqual(
          entry?.recipients.map((r) => r.state),
          ['pending', 'pending'],
        );
        // A lease that ran out but was not taken over still counts for its holder.
        assert.equal(
          await store.queue.recordAttempt(
            other,
            { recipients: [], nextAttemptAt: new Date(t + 5000), error: '451 later' },
            { owner: a.owner },
          ),
          true,
        );
        // The new holder records: the lease ends, and the entry can be claimed once due again.
        assert.equal(
          await store.queue.recordAttempt(
            id,
            {
              recipients: [{ address: 'x@remote.example', state: 'delivered', error: null }],
              nextAttemptAt: new Date(t + 5000),
              error: null,
            },
            { owner: b.owner },
          ),
          true,
        );
        entry = await store.queue.get(id);
        assert.equal(entry?.attempts, 1);
        assert.deepEqual(await store.queue.leases(), [], 'recording ends the lease');
        assert.deepEqual(await store.queue.claim(new Date(t + 4999), 10, a), []);
        assert.deepEqual(
          (await store.queue.claim(new Date(t + 5000), 10, a)).map((e) => e.id),
          [id, other],
        );
        // Without an owner (the CLI, tests) an attempt always counts and ends whatever lease there is.
        assert.equal(
          await store.queue.recordAttempt(id, { recipients: [], nextAttemptAt: new Date(t), error: null }),
          true,
        );
        assert.deepEqual(await store.queue.leases(), [{ owner: a.owner, entries: 1, until: new Date(t + 6000) }]);
        assert.equal(
          await store.queue.recordAttempt(id + 1000, { recipients: [], nextAttemptAt: new Date(t), error: null }),
          false,
          'an entry that is gone',
        );
      });

      it('release ends leases of one owner, on some entries or all', async () => {
        const ids = await queued(3);
        const now = new Date(Date.now() + 1000);
        const a = { owner: 'node-a:1', leaseMs: 60_000 };
        assert.equal((await store.queue.claim(now, 10, a)).length, 3);
        assert.equal(await store.queue.release('node-b:2'), 0, 'not the holder');
        assert.equal(await store.queue.release(a.owner, [ids[1]]), 1);
        assert.deepEqual(
          (await store.queue.claim(now, 10, { owner: 'node-b:2', leaseMs: 60_000 })).map((e) => e.id),
          [ids[1]],
        );
        assert.equal(await store.queue.release(a.owner), 2);
        assert.deepEqual(await store.queue.leases(), [
          { owner: 'node-b:2', entries: 1, until: new Date(now.getTime() + 60_000) },
        ]);
        assert.deepEqual(await store.queue.renew([], now, a), []);
      });
    });

    describe('locks', () => {
      it('one owner at a time; only the owner releases', async () => {
        assert.equal(await store.locks.tryAcquire(1, 'a'), true);
        assert.equal(await store.locks.tryAcquire(1, 'a'), true, 'the owner may acquire again');
        assert.equal(await store.locks.tryAcquire(1, 'b'), false);
        assert.equal(await store.locks.tryAcquire(2, 'b'), true, 'locks are per mailbox');
        await store.locks.release(1, 'b');
        assert.equal(await store.locks.tryAcquire(1, 'b'), false);
        await store.locks.release(1, 'a');
        assert.equal(await store.locks.tryAcquire(1, 'b'), true);
        await store.locks.release(1, 'b');
        await store.locks.release(2, 'b');
      });
    });

    describe('change feed', () => {
      /**
       * Subscribes as a session does: subscribe, then await `ready` (a backend whose feed reads a
       * baseline first, such as PostgreSQL's, publishes only what commits after it).
       */
      async function record(mailboxId: number) {
        const events: MailboxChange[] = [];
        const unsubscribe = store.changes.subscribe(mailboxId, (c) => events.push(c));
        await store.changes.ready?.(mailboxId);
        return { events, unsubscribe };
      }

      it('deliver publishes exists, only after commit', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const { events } = await record(inbox.id);
        const pending = deliver(a.id);
        assert.equal(events.length, 0, 'nothing before the write is durable');
        const result = await pending;
        await waitFor(() => events.length === 1, 'exists');
        const info = await store.messages.get(inbox.id, result.local[0].uid);
        assert.deepEqual(events, [{ kind: 'exists', mailboxId: inbox.id, uid: 1, modseq: info?.modseq }]);
      });

      it('setFlags publishes flags, expunge publishes expunge, append and copy publish exists', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const archive = await mailbox(a.id, 'Archive');
        await deliver(a.id);
        await deliver(a.id);
        const inInbox = await record(inbox.id);
        const inArchive = await record(archive.id);

        const [changed] = await store.messages.setFlags({
          mailboxId: inbox.id,
          uids: [1],
          op: 'add',
          flags: ['\\Seen', 'k'],
        });
        await waitFor(() => inInbox.events.length === 1, 'flags');
        assert.deepEqual(inInbox.events[0], {
          kind: 'flags',
          mailboxId: inbox.id,
          uid: 1,
          flags: changed.flags,
          modseq: changed.modseq,
        });

        await store.messages.expunge(inbox.id, [2]);
        await waitFor(() => inInbox.events.length === 2, 'expunge');
        const modseq = (await mailbox(a.id)).highestModseq;
        assert.deepEqual(inInbox.events[1], { kind: 'expunge', mailboxId: inbox.id, uids: [2], modseq });

        const appended = await store.messages.append({ mailboxId: archive.id, raw: message(), meta: null });
        await waitFor(() => inArchive.events.length === 1, 'exists after append');
        assert.deepEqual(inArchive.events[0], {
          kind: 'exists',
          mailboxId: archive.id,
          uid: appended.uid,
          modseq: appended.modseq,
        });

        const [[, copied]] = await store.messages.copy(inbox.id, [1], archive.id);
        await waitFor(() => inArchive.events.length === 2, 'exists after copy');
        const copiedInfo = await store.messages.get(archive.id, copied);
        assert.deepEqual(inArchive.events[1], {
          kind: 'exists',
          mailboxId: archive.id,
          uid: copied,
          modseq: copiedInfo?.modseq,
        });
        // A change on the source after the copy is the next event there: one from the copy came before it.
        const probe = await deliver(a.id);
        await waitFor(() => inInbox.events.length >= 3, 'exists of the probe on the source');
        const last = inInbox.events.slice(2).map((e) => [e.kind, e.kind === 'exists' ? e.uid : 0]);
        assert.deepEqual(last, [['exists', probe.local[0].uid]], 'a copy publishes nothing on the source');
      });

      it('unsubscribe stops events; other mailboxes are not notified', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const sent = await mailbox(a.id, 'Sent');
        const inInbox = await record(inbox.id);
        const inSent = await record(sent.id);
        await deliver(a.id);
        await waitFor(() => inInbox.events.length === 1, 'exists');
        inInbox.unsubscribe();
        inInbox.unsubscribe();
        // A subscriber still on INBOX sees the next delivery: the unsubscribed one would have by then.
        const still = await record(inbox.id);
        await deliver(a.id);
        await waitFor(() => still.events.length === 1, 'exists for the subscriber still on INBOX');
        assert.equal(inInbox.events.length, 1);
        // Sent's subscriber sees a change of Sent: an event for INBOX's deliveries would have come first.
        await store.deliver({ raw: message(), meta: null, local: [{ accountId: a.id, mailbox: 'Sent' }] });
        await waitFor(() => inSent.events.length >= 1, 'exists on Sent');
        assert.deepEqual(
          inSent.events.map((e) => [e.kind, e.mailboxId]),
          [['exists', sent.id]],
        );
        still.unsubscribe();
      });

      it('a failed write publishes nothing', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const { events } = await record(inbox.id);
        await assert.rejects(
          store.deliver({
            raw: message(),
            meta: null,
            local: [
              { accountId: a.id, mailbox: 'INBOX' },
              { accountId: a.id + 1000, mailbox: 'INBOX' },
            ],
          }),
        );
        // The next successful write is the first event: one from the failed write would have come before.
        const probe = await deliver(a.id);
        await waitFor(() => events.length >= 1, 'exists of the probe');
        assert.deepEqual(
          events.map((e) => [e.kind, e.kind === 'exists' ? e.uid : 0]),
          [['exists', probe.local[0].uid]],
        );
      });
    });

    describe('concurrency', () => {
      it('50 concurrent deliveries all succeed with distinct ascending UIDs', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => deliver(a.id, message(`c${i}`))));
        const got = results.map((r) => r.local[0].uid).sort((x, y) => x - y);
        assert.deepEqual(
          got,
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        assert.deepEqual(await uids(inbox.id), got);
        const after = await mailbox(a.id);
        assert.equal(after.uidNext, 51);
        assert.ok(after.highestModseq >= inbox.highestModseq + 50);
        assert.equal((await store.stats()).blobs, 50);
      });

      it('a failing write among concurrent writes fails alone', async () => {
        const a = await account();
        const inbox = await mailbox(a.id);
        const settled = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            store.deliver({
              raw: message(),
              meta: null,
              local: [{ accountId: i === 4 ? a.id + 1000 : a.id, mailbox: 'INBOX' }],
            }),
          ),
        );
        assert.deepEqual(
          settled.map((s) => s.status),
          settled.map((_, i) => (i === 4 ? 'rejected' : 'fulfilled')),
        );
        assert.equal((await uids(inbox.id)).length, 9);
        const creates = await Promise.allSettled([
          store.accounts.create({ address: 'same@example.org', passwordHash: 'x' }),
          store.accounts.create({ address: 'SAME@example.org', passwordHash: 'y' }),
          store.domains.add('parallel.example'),
        ]);
        // One of the two spellings wins (which one is a race on a backend with concurrent writers), the
        // other is refused as a conflict; the unrelated write goes through.
        assert.deepEqual(creates.map((s) => s.status).sort(), ['fulfilled', 'fulfilled', 'rejected']);
        assert.equal(creates[2].status, 'fulfilled');
        const lost = creates.find((s) => s.status === 'rejected');
        assert.ok(lost?.status === 'rejected' && lost.reason instanceof StoreConflictError);
      });
    });

    describe('quota, decided in the write', () => {
      /** An account whose quota leaves room for exactly `room` more bytes. */
      async function limited(room: number): Promise<Account> {
        return store.accounts.create({ address: `q${++counter}@example.org`, passwordHash: 'hash', quotaBytes: room });
      }

      async function refused(write: Promise<unknown>, accountIds: number[]): Promise<void> {
        await assert.rejects(write, (err: unknown) => {
          assert.ok(err instanceof OverQuotaError, `expected OverQuotaError, got ${String(err)}`);
          assert.deepEqual(err.accountIds, accountIds);
          return true;
        });
      }

      it('append and appendMany store what fits and refuse, storing nothing, what does not', async () => {
        const m1 = message();
        const a = await limited(m1.length * 2);
        const inbox = await mailbox(a.id);
        await store.messages.append({ mailboxId: inbox.id, raw: m1, meta: null });
        await refused(
          store.messages.appendMany([
            { mailboxId: inbox.id, raw: message(), meta: null },
            { mailboxId: inbox.id, raw: message(), meta: null },
          ]),
          [a.id],
        );
        assert.equal((await uids(inbox.id)).length, 1);
        assert.equal(await store.accounts.usage(a.id), m1.length);
        // Exactly up to the limit is allowed (usage + size <= limit).
        await store.messages.append({ mailboxId: inbox.id, raw: m1, meta: null });
        await refused(store.messages.append({ mailboxId: inbox.id, raw: Buffer.from('x'), meta: null }), [a.id]);
        assert.equal(await store.accounts.usage(a.id), m1.length * 2);
      });

      it('copy is refused over quota; move within the account never is', async () => {
        const m1 = message();
        const a = await limited(m1.length + 10);
        const inbox = await mailbox(a.id);
        const archive = await mailbox(a.id, 'Archive');
        await store.messages.append({ mailboxId: inbox.id, raw: m1, meta: null });
        await refused(store.messages.copy(inbox.id, [1], archive.id), [a.id]);
        assert.deepEqual(await uids(archive.id), []);
        const moved = await store.messages.move(inbox.id, [1], archive.id);
        assert.deepEqual(moved.pairs, [[1, 1]]);
        assert.equal(await store.accounts.usage(a.id), m1.length);
      });

      it('deliver refuses a message that fits no local recipient, queue entry included', async () => {
        const a = await limited(10);
        const b = await limited(20);
        const before = await store.stats();
        await refused(
          store.deliver({
            raw: message(),
            meta: null,
            local: [
              { accountId: a.id, mailbox: 'INBOX' },
              { accountId: b.id, mailbox: 'INBOX' },
            ],
            remote: remoteEntry(),
          }),
          [a.id, b.id],
        );
        assert.deepEqual(await store.stats(), before);
        assert.equal(await store.accounts.usage(a.id), 0);
      });

      it('deliver stores every copy when one recipient has room, and reports who went over', async () => {
        const raw = message();
        const full = await limited(10);
        const roomy = await limited(raw.length);
        const result = await store.deliver({
          raw,
          meta: null,
          local: [
            { accountId: full.id, mailbox: 'INBOX' },
            { accountId: roomy.id, mailbox: 'INBOX' },
          ],
        });
        assert.equal(result.local.length, 2);
        assert.deepEqual(result.overQuota, [full.id]);
        assert.equal(await store.accounts.usage(full.id), raw.length);
        // 'accept' stores even when nobody has room.
        const again = await store.deliver({
          raw: message(),
          meta: null,
          local: [{ accountId: full.id, mailbox: 'INBOX' }],
          overQuota: 'accept',
        });
        assert.deepEqual(again.overQuota, [full.id]);
        assert.equal((await uids((await mailbox(full.id)).id)).length, 2);
        // Without a limit (no own quota, no store default here) nothing is ever over.
        const free = await account();
        if (store.defaultQuotaBytes == null) assert.deepEqual((await deliver(free.id)).overQuota, []);
      });

      it('concurrent writes cannot overshoot together: the check and the insert are one step', async () => {
        const raws = Array.from({ length: 6 }, (_, i) => message(`q-par-${i}`, 'x'.repeat(100)));
        const size = Math.max(...raws.map((r) => r.length));
        // Room for two of them, not three.
        const a = await limited(size * 2 + Math.floor(size / 2));
        const inbox = await mailbox(a.id);
        const settled = await Promise.allSettled([
          ...raws.slice(0, 3).map((raw) => deliver(a.id, raw)),
          ...raws.slice(3).map((raw) => store.messages.append({ mailboxId: inbox.id, raw, meta: null })),
        ]);
        const ok = settled.filter((r) => r.status === 'fulfilled').length;
        assert.equal(ok, 2, settled.map((r) => r.status).join(' '));
        for (const r of settled) if (r.status === 'rejected') assert.ok(r.reason instanceof OverQuotaError);
        assert.equal((await uids(inbox.id)).length, 2);
        assert.ok((await store.accounts.usage(a.id)) <= size * 2 + Math.floor(size / 2));
      });
    });

    describe('stats and close', () => {
      it('stats counts everything', async () => {
        const a = await account();
        await store.domains.add('example.org');
        await store.aliases.set('x@example.org', [a.address]);
        await deliver(a.id, message(), { remote: remoteEntry() });
        await deliver(a.id);
        assert.deepEqual(await store.stats(), { accounts: 1, domains: 1, aliases: 1, messages: 2, blobs: 2, queue: 1 });
        assert.equal(typeof store.kind, 'string');
      });

      it('close waits for pending writes and is idempotent', async () => {
        const a = await account();
        const pending = deliver(a.id);
        await store.close();
        assert.equal((await pending).local[0].uid, 1);
        await store.close();
      });
    });

    sessionLogContract(() => h);
    adminsContract(() => h);
    exerciseProgressContract(() => h);
    searchIndexContract(() => h);
    sieveContract(() => h);

    describe('persistence across a restart', () => {
      it('data, UIDVALIDITY and UIDNEXT survive; UIDs are not reused', async (t) => {
        if (!h.reopen) {
          t.skip('this backend cannot reopen');
          return;
        }
        const a = await account();
        await store.domains.add('example.org');
        const boxes = await store.mailboxes.list(a.id);
        const inbox = await mailbox(a.id);
        for (let i = 0; i < 3; i++) await deliver(a.id);
        await store.messages.expunge(inbox.id, [2, 3]);
        const modseq = (await mailbox(a.id)).highestModseq;
        const { queueId } = await deliver(a.id, message(), { remote: remoteEntry() });
        assert.ok(queueId);

        store = await h.reopen();
        const validity = (list: Mailbox[]) => list.map((b) => [b.id, b.name, b.uidValidity]).sort();
        assert.deepEqual(validity(await store.mailboxes.list(a.id)), validity(boxes));
        const again = await mailbox(a.id);
        assert.equal(again.uidValidity, inbox.uidValidity);
        assert.equal(again.uidNext, 5);
        assert.ok(again.highestModseq > modseq);
        assert.deepEqual(await uids(inbox.id), [1, 4]);
        assert.deepEqual(await store.messages.expungedSince(inbox.id, 0), [2, 3]);
        assert.equal((await deliver(a.id)).local[0].uid, 5);
        assert.equal(await store.domains.has('example.org'), true);
        assert.deepEqual(await store.accounts.get(a.address), a);
        assert.equal((await store.queue.get(queueId))?.recipients.length, 2);
      });
    });
  });
}
