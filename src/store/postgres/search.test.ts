/**
 * The PostgreSQL body search index (search.ts) on its own, with blobs and messages inserted by SQL:
 * the pg_trgm indexes created once (also by several nodes at once), candidates exactly as the IMAP
 * engine compares (folded text, LIKE wildcards literal, only the asked mailbox), pending blobs always
 * candidates until indexed, large blobs pending for good, batches claimed by one indexer at a time,
 * index rows going with their blobs, and NUL in texts and needles.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { pgSkip, pgTestSchema } from '../../../test/harness/postgres.js';
import { parseMessage } from '../../mail/parse.js';
import { SearchableMessage } from '../../mail/search.js';
import { pgAccounts } from './accounts.js';
import { PgContext, StoreBusyError } from './db.js';
import { migratePg } from './schema.js';
import {
  ensurePgSearchIndex,
  INDEX_MAX_BYTES,
  indexExistingBlob,
  indexNewBlob,
  pgSearchIndex,
  prepareIndexText,
  searchText,
} from './search.js';

const CRLF = '\r\n';

const skip = await pgSkip();

function mk(label: string, header: string[], body: string): Buffer {
  return Buffer.from([`Subject: ${label}`, `Message-ID: <${label}@test>`, ...header, '', body, ''].join(CRLF), 'utf8');
}

/** Messages with words in different places (as the contract's), and LIKE's wildcards in a body. */
const MESSAGES: Record<string, Buffer> = {
  plain: mk('plain', [], `Plain text with Grüße aus Köln${CRLF}and a second line`),
  qp: mk(
    'qp',
    [
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
    ],
    `Gr=FC=DFe aus K=F6ln, soft=${CRLF}break`,
  ),
  b64: mk(
    'b64',
    ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'],
    Buffer.from('ZEBRA crossing in base64', 'utf8').toString('base64'),
  ),
  header: mk('header', ['X-Note: zebra in a header only'], 'nothing here'),
  mime: mk(
    'mime',
    ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=b'],
    ['--b', 'Content-Type: text/plain', 'Content-Description: zebra attachment', '', 'body text', '--b--'].join(CRLF),
  ),
  wild: mk('wild', [], 'we are 100% sure: a_b and c\\d'),
  nul: mk('nul', [], 'before\0after and more'),
  none: mk('none', [], 'unrelated words only'),
};

describe('PostgreSQL body search index', { skip }, () => {
  let schema: ReturnType<typeof pgTestSchema>;
  let ctx: PgContext;
  let mailboxId: number;
  let otherMailboxId: number;
  let nextUid = 1;

  async function open(node = 'test'): Promise<PgContext> {
    const c = new PgContext({ url: schema.url, schema: schema.schema, node });
    const client = await c.pool.connect();
    try {
      await migratePg(client, c.schema);
    } finally {
      client.release();
    }
    return c;
  }

  beforeEach(async () => {
    schema = pgTestSchema('search');
    ctx = await open();
    ctx.searchIndex = await ensurePgSearchIndex(ctx);
    const accounts = pgAccounts(ctx);
    const a = await accounts.create({ address: 'search@example.org', passwordHash: 'h' });
    const b = await accounts.create({ address: 'other@example.org', passwordHash: 'h' });
    const inboxOf = async (accountId: number) =>
      (await ctx.value<number>(`SELECT id FROM mailboxes WHERE account_id = $1 AND name = 'INBOX'`, [accountId])) ?? 0;
    mailboxId = await inboxOf(a.id);
    otherMailboxId = await inboxOf(b.id);
    nextUid = 1;
  });
  afterEach(async () => {
    await ctx.close();
    await schema.drop();
  });

  /** Stores a blob and a message of it in `mailbox` (SQL, as the messages part would); returns its UID. */
  async function put(raw: Buffer, opts: { index: boolean; mailbox?: number }): Promise<{ uid: number; blob: number }> {
    const text = opts.index ? prepareIndexText(raw, null) : null;
    return ctx.tx(async (tx) => {
      const hash = createHash('sha256').update(raw).digest('hex');
      const existing = await tx.value<number>('SELECT id FROM blobs WHERE hash = $1 FOR UPDATE', [hash]);
      let blob: number;
      if (existing === undefined) {
        blob =
          (await tx.value<number>(
            `INSERT INTO blobs (hash, size, meta, data) VALUES ($1, $2, 'null', $3) RETURNING id`,
            [hash, raw.length, raw],
          )) ?? 0;
        await indexNewBlob(tx, blob, text);
      } else {
        blob = existing;
        await indexExistingBlob(tx, blob, text);
      }
      const uid = nextUid++;
      await tx.run(
        `INSERT INTO messages (mailbox_id, uid, blob_id, size, internaldate, modseq) VALUES ($1, $2, $3, $4, 0, 1)`,
        [opts.mailbox ?? mailboxId, uid, blob, raw.length],
      );
      return { uid, blob };
    });
  }

  async function fill(index: boolean): Promise<Map<string, number>> {
    const uids = new Map<string, number>();
    for (const [label, raw] of Object.entries(MESSAGES)) uids.set(label, (await put(raw, { index })).uid);
    await put(Buffer.from(`Subject: other${CRLF}${CRLF}zebra grüße köln 100% sure${CRLF}`), {
      index,
      mailbox: otherMailboxId,
    });
    return uids;
  }

  async function find(field: 'body' | 'text', needle: string, uids: Map<string, number>): Promise<string[] | null> {
    const got = await searchText(ctx, mailboxId, field, needle);
    if (got === null) return null;
    const labels = [...uids].filter(([, uid]) => got.has(uid)).map(([label]) => label);
    assert.equal(labels.length, got.size, 'only UIDs of the mailbox');
    return labels.sort();
  }

  it('creates pg_trgm and the trigram indexes once, also from several nodes at once', async () => {
    assert.equal(ctx.searchIndex, true);
    const others = await Promise.all([1, 2, 3].map((n) => open(`n${n}`)));
    try {
      assert.deepEqual(await Promise.all(others.map((o) => ensurePgSearchIndex(o))), [true, true, true]);
    } finally {
      for (const o of others) await o.close();
    }
    // From the catalogs, not pg_indexes: its pg_get_indexdef() can fail on the indexes of a schema
    // that another test process drops meanwhile ("could not open relation with OID").
    const indexes = await ctx.rows<{ indexname: string }>(
      `SELECT c.relname AS indexname FROM pg_index x
         JOIN pg_class c ON c.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND t.relname = 'search_text'
          AND EXISTS (SELECT 1 FROM pg_opclass o WHERE o.oid = ANY (x.indclass::oid[]) AND o.opcname = 'gin_trgm_ops')
        ORDER BY 1`,
      [schema.schema],
    );
    assert.deepEqual(
      indexes.map((i) => i.indexname),
      ['search_text_body_trgm', 'search_text_text_trgm'],
    );
  });

  it('indexed at write: exactly the messages whose folded text contains the folded needle', async () => {
    const uids = await fill(true);
    assert.deepEqual(await pgSearchIndex(ctx).status(), { available: true, indexed: 9, pending: 0 });
    assert.deepEqual(await find('body', 'GRÜßE AUS KÖLN', uids), ['plain', 'qp']);
    assert.deepEqual(await find('body', 'grüsse', uids), [], 'ß does not fold to ss');
    assert.deepEqual(await find('body', 'zebra', uids), ['b64']);
    assert.deepEqual(await find('text', 'ZEBRA', uids), ['b64', 'header', 'mime']);
    assert.deepEqual(await find('body', 'softbreak', uids), ['qp'], 'a soft line break is no break');
    assert.deepEqual(await find('text', 'subject: qp', uids), ['qp']);
    assert.deepEqual(await find('body', 'subject: qp', uids), []);
    assert.deepEqual(await find('body', '100% sure', uids), ['wild']);
    assert.deepEqual(await find('body', '0% s', uids), ['wild']);
    assert.deepEqual(await find('body', '1%0', uids), [], '% is literal');
    assert.deepEqual(await find('body', 'a_b', uids), ['wild']);
    assert.deepEqual(await find('body', 'e_a', uids), [], '_ is literal');
    assert.deepEqual(await find('body', 'c\\d', uids), ['wild']);
    assert.deepEqual(await find('body', 'c\\\\d', uids), [], 'a backslash is literal');
    assert.deepEqual(await find('body', 'after and', uids), ['nul'], 'a text with NUL is indexed');
    assert.equal(await find('body', 'ze', uids), null, 'two characters: no trigram');
    assert.equal(await find('body', 'e\0a', uids), null, 'NUL in the needle');
    assert.deepEqual(await find('body', 'émile', uids), []);
    // Never a message the engine would find missing, whatever the needle.
    const needles = ['Köln\nand', 'köln\r\nand', 'GRÜSSE', 'grüße aus', 'x-note: zebra', 'content-description: z'];
    needles.push('subject: mime', 'message-id: <wild@test>', 'ZEBRA crossing', '%', '___', 'before\ufffdafter');
    for (const needle of needles) {
      for (const field of ['body', 'text'] as const) {
        const got = await find(field, needle, uids);
        if (got === null) continue;
        for (const [label, raw] of Object.entries(MESSAGES)) {
          const m = new SearchableMessage(raw, parseMessage(raw));
          const match = field === 'body' ? m.matchBody(needle) : m.matchText(needle);
          if (match) assert.ok(got.includes(label), `${field} ${JSON.stringify(needle)}: ${label} must be a candidate`);
        }
      }
    }
  });

  it('pending blobs are candidates until indexed; large ones stay pending; reindex', async () => {
    const uids = await fill(false);
    const index = pgSearchIndex(ctx);
    assert.deepEqual(await index.status(), { available: true, indexed: 0, pending: 9 });
    assert.deepEqual(await find('body', 'zebra', uids), [...uids.keys()].sort(), 'pending: all candidates');
    let taken = 0;
    for (;;) {
      const n = await index.indexPending(4);
      assert.ok(n <= 4);
      if (n === 0) break;
      taken += n;
    }
    assert.equal(taken, 9);
    assert.deepEqual(await index.status(), { available: true, indexed: 9, pending: 0 });
    assert.deepEqual(await find('text', 'zebra', uids), ['b64', 'header', 'mime']);

    const big = await put(Buffer.from(`Subject: big${CRLF}${CRLF}no stripes ${'x'.repeat(INDEX_MAX_BYTES)}`), {
      index: false,
    });
    uids.set('big', big.uid);
    assert.equal(await index.indexPending(10), 0, 'over INDEX_MAX_BYTES: never indexed');
    assert.deepEqual(await find('text', 'zebra', uids), ['b64', 'big', 'header', 'mime']);

    assert.equal(await index.markAllPending(), 9, 'the large one was pending already');
    assert.deepEqual(await index.status(), { available: true, indexed: 0, pending: 10 });
    assert.deepEqual(await find('body', 'unrelated', uids), [...uids.keys()].sort());
    while ((await index.indexPending(100)) > 0) {}
    assert.deepEqual(await index.status(), { available: true, indexed: 9, pending: 1 });
    assert.deepEqual(await find('body', 'unrelated', uids), ['big', 'none']);
  });

  it('a pending blob stored again with its text is indexed then; an indexed one is left as it is', async () => {
    const raw = MESSAGES.b64;
    const first = await put(raw, { index: false });
    const uids = new Map([['first', first.uid]]);
    assert.deepEqual(await find('body', 'horse', uids), ['first']);
    const again = await put(raw, { index: true });
    uids.set('again', again.uid);
    assert.equal(again.blob, first.blob);
    assert.deepEqual(await pgSearchIndex(ctx).status(), { available: true, indexed: 1, pending: 0 });
    assert.deepEqual(await find('body', 'horse', uids), []);
    assert.deepEqual(await find('body', 'zebra', uids), ['again', 'first']);
    await put(raw, { index: true });
    assert.equal(await ctx.value('SELECT count(*) FROM search_text'), 1);
  });

  it('the index row and the pending mark go with their blob', async () => {
    const indexed = await put(MESSAGES.plain, { index: true });
    const pending = await put(MESSAGES.none, { index: false });
    await ctx.tx(async (tx) => {
      await tx.run('DELETE FROM messages WHERE mailbox_id = $1', [mailboxId]);
    });
    assert.equal(
      await ctx.value('SELECT count(*) FROM blobs WHERE id = ANY($1::bigint[])', [[indexed.blob, pending.blob]]),
      0,
    );
    assert.equal(await ctx.value('SELECT count(*) FROM search_text'), 0);
    assert.equal(await ctx.value('SELECT count(*) FROM search_pending'), 0);
  });

  it('indexers of several nodes take each pending blob once', async () => {
    for (let i = 0; i < 30; i++) await put(mk(`m${i}`, [], `message ${i} zebra`), { index: false });
    const others = await Promise.all([1, 2].map((n) => open(`n${n}`)));
    try {
      for (const o of others) o.searchIndex = true;
      const indexes = [ctx, ...others].map((c) => pgSearchIndex(c));
      let taken = 0;
      for (;;) {
        const round = await Promise.all(indexes.map((ix) => ix.indexPending(3)));
        taken += round.reduce((a, b) => a + b, 0);
        if (round.every((n) => n === 0)) break;
      }
      assert.equal(taken, 30, 'no blob indexed twice');
    } finally {
      for (const o of others) await o.close();
    }
    assert.deepEqual(await pgSearchIndex(ctx).status(), { available: true, indexed: 30, pending: 0 });
  });

  it('a database that refuses the extension gives no index; a lost connection is an error', async () => {
    const failing = (error: Error) => ({ tx: () => Promise.reject(error) }) as unknown as PgContext;
    const refused = new pg.DatabaseError('permission denied to create extension "pg_trgm"', 0, 'error');
    refused.code = '42501';
    assert.equal(await ensurePgSearchIndex(failing(refused)), false);
    const busy = new StoreBusyError('locked', {
      cause: Object.assign(new pg.DatabaseError('lock', 0, 'error'), { code: '55P03' }),
    });
    assert.equal(await ensurePgSearchIndex(failing(busy)), false);
    const lost = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await assert.rejects(ensurePgSearchIndex(failing(lost)), /ECONNREFUSED/);
  });

  it('without the index: searchText answers null and nothing is indexed', async () => {
    await put(MESSAGES.plain, { index: false });
    ctx.searchIndex = false;
    assert.equal(await searchText(ctx, mailboxId, 'body', 'plain text'), null);
    assert.equal(await pgSearchIndex(ctx).indexPending(10), 0);
    assert.deepEqual(await pgSearchIndex(ctx).status(), { available: false, indexed: 0, pending: 1 });
  });
});
