import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTestStore } from '../../test/harness/store.js';
import { silentLogger } from '../log.js';
import type { Store } from '../store/types.js';
import { Delivery, type IncomingMessage, SieveRejectError } from './delivery.js';
import { CACHE_ENTRIES, SieveFilter } from './sieve.js';

const D = 'example.test';

describe('delivery: Sieve in process', () => {
  let dataDir: string;
  let store: Store;
  let delivery: Delivery;
  let bob: number;
  let carol: number;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-sieve-dlv-'));
    store = await openTestStore({ dataDir });
    await store.domains.add(D);
    bob = (await store.accounts.create({ address: `bob@${D}`, passwordHash: 'x' })).id;
    carol = (await store.accounts.create({ address: `carol@${D}`, passwordHash: 'x' })).id;
    delivery = new Delivery(store, { hostname: `mx.${D}`, product: 'postbode test', log: silentLogger() });
  });
  after(async () => {
    await store.close();
  });

  async function script(accountId: number, source: string): Promise<void> {
    await store.sieve.put(accountId, 'main', source);
    assert.equal(await store.sieve.setActive(accountId, 'main'), true);
  }

  async function message(
    to: string[],
    subject: string,
    extra: Partial<IncomingMessage> = {},
  ): Promise<IncomingMessage> {
    return {
      envelopeFrom: 'alice@remote.test',
      recipients: await Promise.all(
        to.map(async (address) => ({
          address,
          resolution: await delivery.resolve(address),
          notify: null,
          orcpt: null,
        })),
      ),
      data: Buffer.from(`From: alice@remote.test\r\nTo: ${to.join(', ')}\r\nSubject: ${subject}\r\n\r\nHi.\r\n`),
      trace: {
        helo: 'remote.test',
        remoteAddress: '192.0.2.1',
        protocol: 'ESMTP',
        sessionId: 'test',
        tls: null,
        authUser: null,
      },
      dsnRet: null,
      dsnEnvid: null,
      ...extra,
    };
  }

  /** Subjects and flags of a mailbox's messages. */
  async function box(accountId: number, name: string): Promise<{ subject: string; flags: string[] }[]> {
    const mb = await store.mailboxes.get(accountId, name);
    if (!mb) return [];
    const list = await store.messages.list(mb.id);
    const bytes = await store.messages.readMany(
      mb.id,
      list.map((m) => ({ uid: m.uid })),
    );
    return list.map((m) => ({
      subject: /\r\nSubject: ([^\r\n]*)/.exec(`\r\n${bytes.get(m.uid)?.toString() ?? ''}`)?.[1] ?? '',
      flags: [...m.flags].sort(),
    }));
  }

  it('junk: keep goes to Junk with $Junk; fileinto goes where the script says, with $Junk too', async () => {
    await script(bob, 'require ["fileinto"];\nif header :contains "subject" "file" { fileinto "Archive"; }');
    await delivery.deliver(await message([`bob@${D}`], 'junk kept'), {});
    await delivery.deliver({ ...(await message([`bob@${D}`], 'junk kept 2')), junk: true });
    await delivery.deliver({ ...(await message([`bob@${D}`], 'junk file')), junk: true });
    assert.deepEqual(await box(bob, 'Junk'), [{ subject: 'junk kept 2', flags: ['$Junk'] }]);
    assert.deepEqual(await box(bob, 'Archive'), [{ subject: 'junk file', flags: ['$Junk'] }]);
    assert.ok((await box(bob, 'INBOX')).some((m) => m.subject === 'junk kept'));
  });

  it('reject: throws SieveRejectError, storing nothing, only for a caller that refuses in its protocol', async () => {
    await script(carol, 'require "reject";\nreject "Go away.";');
    await assert.rejects(
      delivery.deliver(await message([`carol@${D}`], 'refused'), { refuseInProtocol: true }),
      (err: unknown) => err instanceof SieveRejectError && err.reason === 'Go away.',
    );
    assert.equal(await store.queue.count(), 0);
    // A caller that cannot refuse (a bounce handler, mail made here): a notice goes to the sender.
    const report = await delivery.deliver(await message([`carol@${D}`], 'noticed'));
    assert.equal(report.localCopies, 0);
    const queued = await store.queue.list();
    assert.equal(queued.length, 1);
    assert.equal(queued[0].envelopeFrom, '');
    assert.deepEqual(
      queued[0].recipients.map((r) => r.address),
      ['alice@remote.test'],
    );
    const notice = (await store.blobs.read(queued[0].blobId)).toString();
    assert.match(notice, /\r\nSubject: Rejected: noticed\r\n/);
    assert.match(notice, /\r\nGo away\.\r\n/);
    await store.queue.delete(queued[0].id);
    // The null sender gets no notice.
    await delivery.deliver(await message([`carol@${D}`], 'bounce', { envelopeFrom: '' }));
    assert.equal(await store.queue.count(), 0);
    assert.deepEqual(await box(carol, 'INBOX'), []);
  });

  it('compiles a script once for many deliveries, and keeps at most CACHE_ENTRIES compiled scripts', async () => {
    const filter = new SieveFilter(store, { maxRedirects: 4, environment: {}, log: silentLogger() });
    const input = {
      accountId: bob,
      account: `bob@${D}`,
      raw: Buffer.from('Subject: x\r\n\r\n'),
      envelopeFrom: 'alice@remote.test',
      envelopeTo: `bob@${D}`,
      auth: null,
      remoteIp: null,
      userAddresses: async () => [`bob@${D}`],
      defaultTarget: { mailbox: 'INBOX', flags: [] },
      now: new Date(),
      id: 't',
    };
    await script(bob, 'keep;');
    await filter.plan(input);
    await filter.plan(input);
    assert.equal(filter.cacheSize, 1);
    for (let i = 0; i <= CACHE_ENTRIES; i++) {
      await store.sieve.put(bob, 'main', `# ${i}\nkeep;`);
      const plan = await filter.plan(input);
      assert.deepEqual(plan.targets, [{ accountId: bob, mailbox: 'INBOX', flags: [] }]);
    }
    assert.equal(filter.cacheSize, CACHE_ENTRIES);
  });
});
