/**
 * Three `postbode serve` processes (nodes) on one PostgreSQL schema under load (issue 9 item 7); each test
 * starts its own three nodes on its own schema (test/harness/nodes.ts) and waits for conditions, never
 * for a fixed time:
 *
 * a. IMAP IDLE on node A sees (EXISTS) mail delivered over SMTP on nodes B and C.
 * b. 300 concurrent SMTP deliveries spread over the three nodes into one mailbox: UIDs are exactly
 *    1..300 and every acknowledged message is there once (by Message-ID, over IMAP FETCH).
 * c. kill -9 of a node under SMTP load: every message that got a 250 from any node is stored; the POP3
 *    maildrop lock it held is freed (a login elsewhere got `[IN-USE]` before, succeeds after); the queue
 *    entries it had claimed are sent by the other nodes once its lease (3 s here) has run out.
 * d. the change feed's LISTEN connection of node A terminated (twice) while mail flows from B and C: its
 *    IDLE clients still see every message once (EXISTS rising to N, then UIDs 1..N).
 * e. outbound mail queued on the three nodes to one SMTP sink is sent exactly once; and a node killed
 *    while it holds claims takes them back as soon as it is restarted (the lease is 5 minutes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImapClient, quote, smtpSend } from './harness/imap-client.js';
import { eventually, submitMessages } from './harness/mail-flow.js';
import { type NodeSet, type NodeSetOptions, startNodes } from './harness/nodes.js';
import { Pop3TestClient } from './harness/pop3-client.js';
import { pgSkip } from './harness/postgres.js';
import { SmtpSink } from './harness/smtp-sink.js';

const skip = await pgSkip();

const PASSWORD = 'pw';
const FROM = 'sender@remote.example';
/** Many connections from 127.0.0.1 at once (the default allows 50 SMTP connections per address). */
const MANY_CONNECTIONS = ['--set', 'limits.connections_per_ip=2000'];

async function withNodes(opts: NodeSetOptions, users: string[], fn: (set: NodeSet) => Promise<void>): Promise<void> {
  const set = await startNodes(3, { ...opts, users });
  try {
    await fn(set);
  } finally {
    await set.stop();
  }
}

async function imapLogin(port: number, user: string): Promise<ImapClient> {
  const c = await ImapClient.connect(port);
  await c.ok(`LOGIN ${quote(user)} ${quote(PASSWORD)}`);
  return c;
}

/** A message with a Message-ID (`<id@test>`) and a subject naming it. */
function message(id: string): string {
  return `From: <${FROM}>\r\nSubject: ${id}\r\nMessage-ID: <${id}@test>\r\n\r\nbody of ${id}\r\n`;
}

/** UIDs and Message-IDs (without `@test`) of an account's INBOX, read over IMAP. */
async function inbox(port: number, user: string): Promise<{ uids: number[]; ids: string[] }> {
  const c = await imapLogin(port, user);
  try {
    await c.ok('EXAMINE INBOX');
    const r = await c.ok('UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])', 30_000);
    const uids: number[] = [];
    const ids: string[] = [];
    for (const line of r.untagged) {
      if (!/^\* \d+ FETCH /.test(line)) continue;
      uids.push(Number(/UID (\d+)/.exec(line)?.[1]));
      ids.push(/Message-ID:\s*<([^@>]*)@test>/i.exec(line)?.[1] ?? `?${line}`);
    }
    await c.ok('LOGOUT');
    return { uids, ids };
  } finally {
    c.close();
  }
}

/** 1..n */
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** The ids that occur other than once in `ids`, with their counts (empty: each exactly once). */
function notOnce(wanted: Iterable<string>, ids: string[]): string[] {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...wanted].filter((id) => counts.get(id) !== 1).map((id) => `${id}: ${counts.get(id) ?? 0}`);
}

/** Reads responses in IDLE until `* n EXISTS`; returns every EXISTS count seen, in order. */
async function existsUpTo(c: ImapClient, n: number, ms: number): Promise<number[]> {
  const seen: number[] = [];
  const deadline = Date.now() + ms;
  while (seen.at(-1) !== n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no * ${n} EXISTS in ${ms} ms; EXISTS seen: ${seen.join(' ')}`);
    const line = await c.response(left);
    const m = /^\* (\d+) EXISTS$/.exec(line);
    if (m) seen.push(Number(m[1]));
    else assert.match(line, /^\* \d+ RECENT$/, `unexpected in IDLE: ${line}`);
    if (Number(m?.[1]) > n) throw new Error(`more than ${n} EXISTS: ${seen.join(' ')}`);
  }
  return seen;
}

/** Lease owners (`node:pid`) of the queue and the recipients of the entries each holds. */
async function leases(set: NodeSet): Promise<Map<string, string[]>> {
  const rows = await set.sql<{ owner: string; rcpts: string[] }>(
    `SELECT q.leased_by AS owner, array_agg(r.address ORDER BY r.address) AS rcpts
       FROM queue q JOIN queue_recipients r ON r.queue_id = q.id
      WHERE q.leased_by IS NOT NULL GROUP BY q.leased_by`,
  );
  return new Map(rows.map((r) => [r.owner, r.rcpts]));
}

const queueLength = async (set: NodeSet) =>
  (await set.sql<{ n: string }>('SELECT count(*) AS n FROM queue')).map((r) => Number(r.n))[0];

/**
 * Queues `count` outbound messages (`out-i`, one recipient `ri@sink.test` each), message i on node
 * i mod 3, over authenticated submission; one submitting session per node at a time.
 */
async function queueOutbound(set: NodeSet, count: number, sender: string, prefix = 'out'): Promise<string[]> {
  const subjects = range(count).map((i) => `${prefix}-${i}`);
  await Promise.all(
    set.nodes.map(async (node, n) => {
      for (let i = n; i < count; i += set.nodes.length) {
        await submitMessages({
          port: node.ports.submission,
          user: sender,
          password: PASSWORD,
          to: [`r${i + 1}@sink.test`],
          subjects: [subjects[i]],
        });
      }
    }),
  );
  return subjects;
}

/** The node holding the most claims, with the recipients of its entries. */
async function busiestHolder(set: NodeSet): Promise<{ index: number; owner: string; rcpts: string[] }> {
  return eventually('a node holding queue claims', async () => {
    const held = [...(await leases(set))].sort((x, y) => y[1].length - x[1].length);
    if (held.length === 0) return undefined;
    const [owner, rcpts] = held[0];
    const index = set.names.indexOf(owner.slice(0, owner.lastIndexOf(':')));
    assert.ok(index >= 0, `lease owner ${owner} is one of ${set.names.join(', ')}`);
    return { index, owner, rcpts };
  });
}

function outboundArgs(sink: SmtpSink, more: string[] = []): string[] {
  return [
    '--set',
    `delivery.transport={"sink.test":"127.0.0.1:${sink.port}"}`,
    '--set',
    'delivery.retry_interval_scan=1',
    '--set',
    'delivery.concurrency_per_destination=2',
    ...more,
  ];
}

describe('three nodes on one PostgreSQL store, under load', { skip, concurrency: false }, () => {
  it('a: IDLE on one node sees mail delivered over SMTP on each of the two others', async () => {
    const user = 'idle@example.test';
    await withNodes({ label: 'load_idle', listeners: ['smtp', 'imap'] }, [user], async (set) => {
      const [a, b, c] = set.nodes;
      const reader = await imapLogin(a.ports.imap, user);
      try {
        assert.ok((await reader.ok('SELECT INBOX')).untagged.includes('* 0 EXISTS'));
        reader.send('i1 IDLE');
        assert.match(await reader.response(), /^\+ /);
        await smtpSend(b.ports.smtp, FROM, [user], message('via-b'));
        assert.deepEqual(await existsUpTo(reader, 1, 15_000), [1]);
        await smtpSend(c.ports.smtp, FROM, [user], message('via-c'));
        assert.deepEqual(await existsUpTo(reader, 2, 15_000), [2]);
        reader.send('DONE');
        assert.equal((await reader.until('i1')).status, 'OK');
        await reader.ok('LOGOUT');
      } finally {
        reader.close();
      }
      assert.deepEqual(await inbox(a.ports.imap, user), { uids: [1, 2], ids: ['via-b', 'via-c'] });
    });
  });

  it('b: 300 concurrent SMTP deliveries over the three nodes: UIDs exactly 1..300, each acked message once', async () => {
    const user = 'many@example.test';
    const n = 300;
    await withNodes(
      { label: 'load_many', listeners: ['smtp', 'imap'], extraArgs: MANY_CONNECTIONS },
      [user],
      async (set) => {
        const ids = range(n).map((i) => `many-${i}`);
        const results = await Promise.allSettled(
          ids.map((id, i) => smtpSend(set.nodes[i % 3].ports.smtp, FROM, [user], message(id))),
        );
        const acked = ids.filter((_, i) => results[i].status === 'fulfilled');
        const errors = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        assert.equal(
          acked.length,
          n,
          `every delivery acknowledged; errors: ${[...new Set(errors)].slice(0, 5).join('; ')}`,
        );
        for (const node of set.nodes) {
          const box = await inbox(node.ports.imap, user);
          assert.deepEqual(box.uids, range(n), 'UIDs 1..300, in order, no gap');
          assert.deepEqual(notOnce(acked, box.ids), [], 'every acknowledged message exactly once');
        }
      },
    );
  });

  it('c: kill -9 of a node under load: nothing acked is lost, its POP3 lock is freed, its queue claims are retaken', async () => {
    const sink = await SmtpSink.start({ open: false });
    const [load, pop, sender] = ['load@example.test', 'pop@example.test', 'sender@example.test'];
    const opts: NodeSetOptions = {
      label: 'load_kill',
      outbound: true,
      extraArgs: [...outboundArgs(sink, ['--set', 'delivery.lease_seconds=3']), ...MANY_CONNECTIONS],
    };
    try {
      await withNodes(opts, [load, pop, sender], async (set) => {
        // Outbound mail that every node's worker claims and then holds (the sink answers nothing yet).
        const outbound = await queueOutbound(set, 9, sender);
        const victim = await busiestHolder(set);
        const survivors = [0, 1, 2].filter((i) => i !== victim.index);
        const node = set.nodes[victim.index];

        // The victim holds the POP3 maildrop of `pop`: a login on another node is refused meanwhile.
        const holder = await Pop3TestClient.connect(node.ports.pop3);
        assert.match(await holder.login(pop, PASSWORD), /^\+OK/);
        const refused = await Pop3TestClient.connect(set.nodes[survivors[0]].ports.pop3);
        assert.match(await refused.login(pop, PASSWORD), /^-ERR \[IN-USE\]/);
        refused.destroy();

        // SMTP load on all three nodes; the victim is killed once it has acknowledged a few messages.
        const acked: string[] = [];
        let victimAcks = 0;
        let killed: Promise<void> | null = null;
        const sessions = [0, 1, 2].flatMap((n) =>
          range(3).map(async (s) => {
            for (let i = 1; i <= 12; i++) {
              const id = `load-${n}-${s}-${i}`;
              try {
                await smtpSend(set.nodes[n].ports.smtp, FROM, [load], message(id));
              } catch (error) {
                if (n === victim.index && killed) return; // the victim is gone
                throw error;
              }
              acked.push(id);
              if (n === victim.index && ++victimAcks === 6) killed = node.kill9();
            }
          }),
        );
        await Promise.all(sessions);
        assert.ok(killed, 'the victim was killed under load');
        await killed;
        assert.ok(acked.length >= 2 * 36 + 6, `${acked.length} acknowledged`);

        // Nothing acknowledged is lost: each acked message is stored once, under dense UIDs.
        const box = await inbox(set.nodes[survivors[0]].ports.imap, load);
        assert.deepEqual(notOnce(acked, box.ids), [], 'every acknowledged message stored exactly once');
        assert.deepEqual(box.uids, range(box.uids.length));

        // The maildrop lock died with the victim's lock connection.
        const reply = await eventually('a POP3 login on another node', async () => {
          const c = await Pop3TestClient.connect(set.nodes[survivors[1]].ports.pop3);
          const r = await c.login(pop, PASSWORD);
          if (r.startsWith('-ERR [IN-USE]')) {
            c.destroy();
            return undefined;
          }
          assert.match(await c.command('QUIT'), /^\+OK/);
          c.destroy();
          return r;
        });
        assert.match(reply, /^\+OK/);
        holder.destroy();

        // The claims: once the victim's connections to the sink are gone, the sink answers; the entries
        // the victim had claimed are sent by the others after its lease ran out, each message once.
        const victimHelo = `${set.names[victim.index]}.example.test`;
        await eventually('the sink sees the victim disconnected', async () =>
          sink.openSessions.includes(victimHelo) ? undefined : true,
        );
        sink.open();
        await eventually(
          'an empty queue and every outbound message at the sink',
          async () => ((await queueLength(set)) === 0 && sink.counts().size === outbound.length ? true : undefined),
          30_000,
        );
        assert.deepEqual(
          notOnce(
            outbound.map((s) => `${s}@example.test`),
            sink.received.map((m) => m.messageId),
          ),
          [],
        );
        for (const rcpt of victim.rcpts) {
          const got = sink.received.find((m) => m.rcpts.includes(rcpt));
          assert.ok(got, `${rcpt} (claimed by the victim) was sent`);
          assert.ok(survivors.includes(set.indexOfHelo(got.helo)), `${rcpt} was sent by ${got.helo}, another node`);
        }
      });
    } finally {
      await sink.close();
    }
  });

  it("d: the feed's LISTEN connection terminated while mail flows: IDLE clients still see every message once", async () => {
    const user = 'feed@example.test';
    const n = 60;
    await withNodes({ label: 'load_feed', listeners: ['smtp', 'imap'] }, [user], async (set) => {
      const [a] = set.nodes;
      // The feed's dedicated connection: this node's application_name, and LISTEN as its first query or
      // the heartbeat's `SELECT 1` (no pooled connection runs either).
      const listener = async () =>
        set.sql<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE application_name = $1 AND datname = current_database()
              AND (query LIKE 'LISTEN %' OR query = 'SELECT 1')`,
          [`postbode ${set.names[0]}`],
        );
      const first = await listener();
      assert.equal(first.length, 1, 'one LISTEN connection');
      const readers = await Promise.all(
        range(2).map(async () => {
          const c = await imapLogin(a.ports.imap, user);
          assert.ok((await c.ok('SELECT INBOX')).untagged.includes('* 0 EXISTS'));
          c.send('i1 IDLE');
          assert.match(await c.response(), /^\+ /);
          return c;
        }),
      );
      try {
        const terminated: number[] = [];
        const terminate = async () => {
          // The first, or the one the feed opened after the last cut.
          const rows = await eventually('the LISTEN connection', async () => {
            const found = await listener();
            return found.length === 1 && !terminated.includes(found[0].pid) ? found : undefined;
          });
          await set.sql('SELECT pg_terminate_backend($1)', [rows[0].pid]);
          terminated.push(rows[0].pid);
        };
        // Mail from B and C (three sessions at a time); the LISTEN connection goes at 1/3 and 2/3.
        let next = 0;
        let cuts = Promise.resolve();
        await Promise.all(
          range(3).map(async () => {
            while (next < n) {
              const i = ++next;
              await smtpSend(set.nodes[1 + (i % 2)].ports.smtp, FROM, [user], message(`feed-${i}`));
              if (i === n / 3 || i === (2 * n) / 3) cuts = cuts.then(terminate);
            }
          }),
        );
        await cuts;
        assert.equal(terminated.length, 2);
        for (const c of readers) {
          const seen = await existsUpTo(c, n, 30_000);
          assert.ok(
            seen.every((x, i) => i === 0 || x > seen[i - 1]),
            `EXISTS only rises: ${seen.join(' ')}`,
          );
          c.send('DONE');
          assert.equal((await c.until('i1')).status, 'OK');
          const r = await c.ok('UID FETCH 1:* (UID)');
          const uids = r.untagged.flatMap((l) => /^\* \d+ FETCH \(UID (\d+)\)$/.exec(l)?.[1] ?? []).map(Number);
          assert.deepEqual(uids, range(n), 'UIDs 1..N, once each');
          assert.deepEqual((await c.ok('NOOP')).untagged, [], 'nothing more to announce');
        }
        // The feed listens again, on a new connection.
        const again = await eventually('a new LISTEN connection', async () => {
          const rows = await listener();
          return rows.length === 1 && !terminated.includes(rows[0].pid) ? rows : undefined;
        });
        assert.notEqual(again[0].pid, first[0].pid);
      } finally {
        for (const c of readers) c.close();
      }
    });
  });

  it('e: outbound mail queued on three nodes reaches one sink exactly once; a restarted node retakes its claims', async () => {
    const sink = await SmtpSink.start();
    const sender = 'sender@example.test';
    const opts: NodeSetOptions = {
      label: 'load_out',
      listeners: ['submission'],
      outbound: true,
      extraArgs: outboundArgs(sink),
    };
    try {
      await withNodes(opts, [sender], async (set) => {
        const outbound = await queueOutbound(set, 45, sender);
        await eventually(
          'an empty queue and every message at the sink',
          async () => ((await queueLength(set)) === 0 && sink.counts().size === outbound.length ? true : undefined),
          30_000,
        );
        const ids = sink.received.map((m) => m.messageId);
        assert.deepEqual(
          notOnce(
            outbound.map((s) => `${s}@example.test`),
            ids,
          ),
          [],
        );
        assert.equal(ids.length, outbound.length, 'nothing else arrived');
        assert.ok(
          sink.received.every((m) => set.indexOfHelo(m.helo) >= 0),
          'sent by the nodes',
        );

        // A node killed while it holds claims (the sink answers nothing meanwhile). The lease is the
        // default 5 minutes, so the other nodes leave them alone; the node takes them back as soon as it
        // runs again (its worker's first run releases the claims of its dead process).
        sink.hold();
        const more = await queueOutbound(set, 6, sender, 'again');
        const victim = await busiestHolder(set);
        const victimHelo = `${set.names[victim.index]}.example.test`;
        await set.nodes[victim.index].kill9();
        await eventually('the sink sees the victim disconnected', async () =>
          sink.openSessions.includes(victimHelo) ? undefined : true,
        );
        sink.open();
        await eventually("the queue holding only the dead node's entries", async () => {
          const left = await set.sql<{ owner: string | null }>('SELECT leased_by AS owner FROM queue');
          return left.length === victim.rcpts.length && left.every((r) => r.owner === victim.owner) ? true : undefined;
        });
        const restarted = await set.restart(victim.index);
        await eventually(
          'an empty queue and every message at the sink',
          async () =>
            (await queueLength(set)) === 0 && sink.counts().size === outbound.length + more.length ? true : undefined,
          30_000,
        );
        assert.deepEqual(
          notOnce(
            [...outbound, ...more].map((s) => `${s}@example.test`),
            sink.received.map((m) => m.messageId),
          ),
          [],
        );
        for (const rcpt of victim.rcpts) {
          const got = sink.received.find((m) => m.rcpts.includes(rcpt) && m.messageId.startsWith('again-'));
          assert.equal(got?.helo, victimHelo, `${rcpt} was sent by the restarted node`);
        }
        assert.ok(
          restarted.logs.some(
            (l) => l.msg === 'outbound queue: released the leases of an earlier process' && l.owner === victim.owner,
          ),
          'the restarted node released the claims of its dead process',
        );
      });
    } finally {
      await sink.close();
    }
  });
});
