/**
 * The bounds on one search command: at most MAX_SEARCH_KEYS keys (BAD beyond, the session goes on),
 * and the body index lookups of many BODY/TEXT keys pause for other sessions and stop once the client
 * is gone (evaluate.ts runSearch).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ImapHarness, startImap } from '../../../test/harness/imap-harness.js';
import { parseMessage } from '../../mail/parse.js';
import { ClientGoneError } from '../../net/connection.js';
import type { JsonValue, Store } from '../../store/types.js';
import type { SearchKey } from '../commands/search-grammar.js';
import { SelectedMailbox } from '../selected.js';
import { DigestCache } from './digest.js';
import { countSearchKeys, MAX_SEARCH_KEYS, search } from './evaluate.js';

const MESSAGES = 20;

/** `BODY q0 BODY q1 ...`: n keys. */
const bodyKeys = (n: number) => Array.from({ length: n }, (_, i) => `BODY q${i}`).join(' ');

const body = (needle: string): SearchKey => ({ op: 'text', field: 'body', value: Buffer.from(needle) });

/** Keeps the CPU busy (as a synchronous SQLite FTS query does) for `ms` milliseconds. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

describe('search limits', () => {
  let h: ImapHarness;
  let accountId: number;

  before(async () => {
    h = await startImap();
    accountId = await h.account('limits@example.test', 'pw');
    await h.store.mailboxes.create(accountId, 'Box');
    for (let i = 0; i < MESSAGES; i++) {
      const raw = Buffer.from(`From: a${i}@example.test\r\nSubject: m${i}\r\n\r\nbody q${i} text\r\n`);
      await h.store.deliver({
        raw,
        meta: parseMessage(raw) as unknown as JsonValue,
        local: [{ accountId, mailbox: 'Box', flags: i % 2 === 0 ? ['\\Seen'] : [] }],
      });
    }
  });
  after(() => h.stop());

  it('counts every key: NOT, OR and the keys inside them and inside parentheses', () => {
    const flag: SearchKey = { op: 'flag', flag: '\\Seen', set: true };
    assert.equal(countSearchKeys(flag), 1);
    assert.equal(countSearchKeys({ op: 'and', keys: [flag, flag, flag] }), 3);
    assert.equal(countSearchKeys({ op: 'not', key: { op: 'or', left: flag, right: { op: 'and', keys: [flag] } } }), 4);
    assert.equal(countSearchKeys({ op: 'and', keys: Array.from({ length: 48_000 }, () => body('x')) }), 48_000);
  });

  it('answers BAD naming the limit for more than MAX_SEARCH_KEYS keys; the session goes on', async () => {
    const c = await h.connect({ user: 'limits@example.test', password: 'pw' });
    assert.equal((await c.cmd('SELECT Box')).status, 'OK');
    const over = MAX_SEARCH_KEYS + 1;
    for (const cmd of [
      `SEARCH ${bodyKeys(over)}`,
      `UID SEARCH ${bodyKeys(over)}`,
      `SEARCH RETURN (COUNT) CHARSET UTF-8 ${bodyKeys(over)}`,
      `SEARCH (${bodyKeys(over - 1)}) NOT SEEN`,
      `SEARCH ${'OR SEEN '.repeat(MAX_SEARCH_KEYS / 2)}SEEN`,
      `SORT (SUBJECT) UTF-8 ${bodyKeys(over)}`,
      `THREAD REFERENCES UTF-8 ${bodyKeys(over)}`,
    ]) {
      const label = `${cmd.slice(0, 40)}...`;
      const r = await c.cmd(cmd);
      assert.equal(r.status, 'BAD', `${label}: ${r.tagged}`);
      assert.match(r.tagged, /Too many search keys \(\d+\); at most 1000 in one command: split the search/, label);
      assert.deepEqual(r.untagged, [], label);
      const next = await c.cmd('SEARCH SEEN');
      assert.equal(next.status, 'OK', `after ${label}: ${next.tagged}`);
    }
    // The exact count is named; exactly MAX_SEARCH_KEYS keys is still fine.
    assert.match((await c.cmd(`SEARCH ${bodyKeys(1500)}`)).tagged, /\(1500\)/);
    const atLimit = await c.cmd(`SEARCH ${bodyKeys(MAX_SEARCH_KEYS)}`);
    assert.equal(atLimit.status, 'OK', atLimit.tagged);
    // BAD leaves a saved result alone (RFC 5182 §2.1).
    assert.equal((await c.cmd('SEARCH RETURN (SAVE) SEEN')).status, 'OK');
    assert.equal((await c.cmd(`SEARCH RETURN (SAVE) ${bodyKeys(MAX_SEARCH_KEYS + 1)}`)).status, 'BAD');
    const saved = await c.cmd('SEARCH $');
    assert.equal(saved.status, 'OK', saved.tagged);
    assert.deepEqual(saved.untagged, [
      `* SEARCH ${Array.from({ length: MESSAGES / 2 }, (_, i) => 2 * i + 1).join(' ')}`,
    ]);
    assert.equal((await c.cmd('NOOP')).status, 'OK');
  });

  describe('the body index lookups of many BODY keys', () => {
    let sel: SelectedMailbox;

    before(async () => {
      const box = await h.store.mailboxes.get(accountId, 'Box');
      assert.ok(box);
      sel = new SelectedMailbox(box, true, await h.store.messages.list(box.id));
    });

    /** A store whose index answers "no candidates" after `ms` of synchronous work per lookup. */
    function slowIndex(ms: number, onLookup: () => void = () => {}): { store: Store; lookups: () => number } {
      let n = 0;
      const store: Store = {
        ...h.store,
        messages: {
          ...h.store.messages,
          searchText: async () => {
            n++;
            onLookup();
            busy(ms);
            return new Set<number>();
          },
        },
      };
      return { store, lookups: () => n };
    }

    const keys = (n: number): SearchKey => ({
      op: 'and',
      keys: Array.from({ length: n }, (_, i) => body(`needle${i}`)),
    });

    it('yield to the event loop between lookups (a timer set before the search runs during it)', async () => {
      const N = 200;
      let ticks = 0;
      let ticking = true;
      const tick = () => {
        ticks++;
        if (ticking) setImmediate(tick);
      };
      const seen: number[] = [];
      const { store, lookups } = slowIndex(1, () => seen.push(ticks));
      let immediateRan = false;
      setImmediate(() => {
        immediateRan = true;
      });
      setImmediate(tick);
      let found: number[];
      try {
        found = await search({ store, selected: sel, cache: new DigestCache(1 << 20) }, keys(N));
      } finally {
        ticking = false;
      }
      assert.deepEqual(found, [], 'no candidates: nothing matches');
      assert.equal(lookups(), N, 'one lookup per key');
      assert.ok(immediateRan, 'the setImmediate scheduled before the search ran before it completed');
      // 200 lookups of 1 ms each, a pause at least every 10 ms: the loop turned during the lookups.
      const turns = new Set(seen).size;
      assert.ok(turns >= 5, `the event loop turned between lookups (${turns} distinct turns seen)`);
    });

    it('ask the index once per distinct string', async () => {
      const { store, lookups } = slowIndex(0);
      const key: SearchKey = { op: 'and', keys: [...Array.from({ length: 50 }, () => body('same')), body('other')] };
      assert.deepEqual(await search({ store, selected: sel, cache: new DigestCache(1 << 20) }, key), []);
      assert.equal(lookups(), 2);
    });

    it('stop with ClientGoneError once the client is gone', async () => {
      let gone = false;
      const { store, lookups } = slowIndex(0, () => {
        if (lookups() === 3) gone = true;
      });
      await assert.rejects(
        search({ store, selected: sel, cache: new DigestCache(1 << 20), cancelled: () => gone }, keys(100)),
        ClientGoneError,
      );
      assert.equal(lookups(), 3, 'no lookup after the client went');
    });

    it('refuse more than MAX_SEARCH_KEYS keys before asking the index', async () => {
      const { store, lookups } = slowIndex(0);
      await assert.rejects(
        search({ store, selected: sel, cache: new DigestCache(1 << 20) }, keys(MAX_SEARCH_KEYS + 1)),
        /Too many search keys \(1001\); at most 1000/,
      );
      assert.equal(lookups(), 0);
    });
  });
});
