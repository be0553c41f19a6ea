/**
 * Store contract, part: the body search index (`MessageStore.searchText`, `Store.searchIndex`). Called
 * from `runStoreContract` with a getter for the current test's harness.
 *
 * The contract only asks for candidates (a superset of the matching messages, every message not
 * indexed included); a backend without an index answers null. The tests therefore check that nothing
 * that matches is ever missing, in every state of the index, and that the bookkeeping adds up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/store/types.js';
import type { StoreHarness } from './contract.js';

const CRLF = '\r\n';

/** Messages with the word in different places: plain body, quoted-printable, base64, header, attachment header. */
function messages(): { label: string; raw: Buffer }[] {
  const mk = (label: string, header: string[], body: string) => ({
    label,
    raw: Buffer.from([`Subject: ${label}`, `Message-ID: <${label}@test>`, ...header, '', body, ''].join(CRLF), 'utf8'),
  });
  return [
    mk('plain', [], `Plain text with Grüße aus Köln${CRLF}and a second line`),
    mk(
      'qp',
      [
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=iso-8859-1',
        'Content-Transfer-Encoding: quoted-printable',
      ],
      `Gr=FC=DFe aus K=F6ln, soft=${CRLF}break`,
    ),
    mk(
      'b64',
      ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'],
      Buffer.from('ZEBRA crossing in base64', 'utf8').toString('base64'),
    ),
    mk('header', ['X-Note: zebra in a header only'], 'nothing here'),
    mk(
      'mime',
      ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=b'],
      ['--b', 'Content-Type: text/plain', 'Content-Description: zebra attachment', '', 'body text', '--b--'].join(CRLF),
    ),
    mk('none', [], 'unrelated words only'),
  ];
}

export function searchIndexContract(harness: () => StoreHarness): void {
  describe('body search index', () => {
    const store = (): Store => harness().store;

    async function fill(): Promise<{ mailboxId: number; uid: Map<string, number> }> {
      const s = store();
      const a = await s.accounts.create({
        address: `search${Date.now()}${Math.random()}@example.org`,
        passwordHash: 'h',
      });
      const inbox = await s.mailboxes.get(a.id, 'INBOX');
      assert.ok(inbox);
      const uid = new Map<string, number>();
      for (const m of messages()) {
        const r = await s.deliver({
          raw: m.raw,
          meta: { label: m.label },
          local: [{ accountId: a.id, mailbox: 'INBOX' }],
        });
        uid.set(m.label, r.local[0].uid);
      }
      // Another account's message with the same words must never show up in this mailbox's answer.
      const b = await s.accounts.create({
        address: `other${Date.now()}${Math.random()}@example.org`,
        passwordHash: 'h',
      });
      await s.deliver({
        raw: Buffer.from(`Subject: other${CRLF}${CRLF}zebra grüße köln${CRLF}`),
        meta: null,
        local: [{ accountId: b.id, mailbox: 'INBOX' }],
      });
      // New contents may wait for an indexer (pending: every message a candidate); index them now.
      while ((await s.searchIndex.indexPending(100)) > 0) {}
      const status = await s.searchIndex.status();
      if (status.available) assert.equal(status.pending, 0);
      return { mailboxId: inbox.id, uid };
    }

    /** Asserts that every expected message is a candidate and nothing outside the mailbox is. */
    async function candidates(
      mailboxId: number,
      all: Map<string, number>,
      field: 'body' | 'text',
      needle: string,
      expected: string[],
    ): Promise<Set<number> | null> {
      const got = await store().messages.searchText(mailboxId, field, needle);
      if (got === null) return null;
      const inMailbox = new Set(all.values());
      for (const u of got) assert.ok(inMailbox.has(u), `${field} ${needle}: UID ${u} is not in the mailbox`);
      for (const label of expected) {
        assert.ok(got.has(all.get(label) ?? -1), `${field} "${needle}": ${label} must be a candidate, got ${[...got]}`);
      }
      return got;
    }

    it('every message containing the needle is a candidate: decoded text, any case, headers for TEXT', async () => {
      const { mailboxId, uid } = await fill();
      await candidates(mailboxId, uid, 'body', 'grüsse', []); // ß does not fold to ss: need not match
      await candidates(mailboxId, uid, 'body', 'GRÜSSE'.toLowerCase(), []);
      await candidates(mailboxId, uid, 'body', 'GRÜßE AUS KÖLN', ['plain', 'qp']);
      await candidates(mailboxId, uid, 'body', 'zebra', ['b64']);
      await candidates(mailboxId, uid, 'text', 'zebra', ['b64', 'header', 'mime']);
      await candidates(mailboxId, uid, 'body', 'soft' + 'break', ['qp']); // a soft line break is no break
      await candidates(mailboxId, uid, 'body', `Köln${CRLF}and`.replace(CRLF, '\n'), []);
      await candidates(mailboxId, uid, 'body', 'line', ['plain']);
      await candidates(mailboxId, uid, 'text', 'subject: qp', ['qp']);
      await candidates(mailboxId, uid, 'body', 'a "quoted" needle', []);
      await candidates(mailboxId, uid, 'body', 'ze', ['b64']); // too short for trigrams: null or a superset
    });

    it('expunged messages are no candidates; reindex keeps every match a candidate', async () => {
      const { mailboxId, uid } = await fill();
      await store().messages.expunge(mailboxId, [uid.get('b64') ?? 0]);
      const got = await candidates(mailboxId, uid, 'text', 'zebra', ['header', 'mime']);
      if (got !== null) assert.equal(got.has(uid.get('b64') ?? 0), false, 'an expunged message is not a candidate');

      const index = store().searchIndex;
      const before = await index.status();
      if (!before.available) {
        assert.equal(await index.indexPending(10), 0);
        return;
      }
      const marked = await index.markAllPending();
      assert.ok(marked > 0, 'markAllPending marks the stored contents');
      const pending = await index.status();
      assert.equal(pending.pending, before.indexed + before.pending);
      assert.equal(pending.indexed, 0);
      // While pending, every message of the mailbox is a candidate.
      await candidates(mailboxId, uid, 'body', 'unrelated', ['none', 'plain', 'qp', 'header', 'mime']);
      let taken = 0;
      for (;;) {
        const n = await index.indexPending(2);
        assert.ok(n <= 2);
        if (n === 0) break;
        taken += n;
      }
      assert.equal(taken, pending.pending);
      assert.deepEqual(await index.status(), { available: true, indexed: pending.pending, pending: 0 });
      await candidates(mailboxId, uid, 'body', 'GRÜßE AUS KÖLN', ['plain', 'qp']);
      await candidates(mailboxId, uid, 'text', 'zebra', ['header', 'mime']);
    });
  });
}
