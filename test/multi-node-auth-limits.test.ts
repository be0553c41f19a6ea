/**
 * The login limits across two `postbode serve` processes (nodes) on one PostgreSQL schema (issue 9 with
 * the limits of issue 10): the free failures of a client address are free once in all, not once per
 * node. An attacker (127.0.0.2, through `localAddress`) fails once on each node; its next attempts on
 * the first node wait (the penalty is a minute here, so none is checked during the test): four wait in
 * the node's line and the fifth is refused at once with the throttle text, without a password check.
 * The owner (127.0.0.1) still logs in. Counts and replies, not times: the `login failed` lines in each
 * node's log and the shared rows in `login_gates`.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually } from './harness/mail-flow.js';
import { type NodeSet, startNodes } from './harness/nodes.js';
import { pgSkip } from './harness/postgres.js';
import type { PostbodeProcess } from './harness/server.js';

const skip = await pgSkip();

const USER = 'victim@example.test';
const ATTACKER = '127.0.0.2';
const OWNER = '127.0.0.1';

/** An IMAP connection from a chosen loopback address, read line by line. */
class Line {
  #buf = '';
  #wake: (() => void) | null = null;
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  static async open(port: number, localAddress: string): Promise<Line> {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new Line(socket);
    assert.match((await c.until(/^\* OK/)) ?? '', /^\* OK/);
    return c;
  }

  /** The first line matching `re` (null when the connection closes first). */
  async until(re: RegExp): Promise<string | null> {
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl).replace(/\r$/, '');
        this.#buf = this.#buf.slice(nl + 1);
        if (re.test(line)) return line;
        continue;
      }
      if (this.closed) return null;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = null;
    }
  }

  /** Sends a LOGIN and returns its tagged reply. */
  login(tag: string, password: string): Promise<string | null> {
    this.socket.write(`${tag} LOGIN ${USER} ${password}\r\n`);
    return this.until(new RegExp(`^${tag} `));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The `login failed` lines a node logged for one client address. */
function failures(pb: PostbodeProcess, from: string): Record<string, unknown>[] {
  return pb.logs.filter((l) => l.msg === 'login failed' && l.remote === from);
}

describe('login limits across nodes on one PostgreSQL store', { skip }, () => {
  let set: NodeSet;
  before(async () => {
    if (skip) return;
    set = await startNodes(2, {
      label: 'authlimits',
      listeners: ['imap'],
      users: [USER],
      extraArgs: [
        '--set',
        'auth.penalty_free_failures=2',
        '--set',
        'auth.penalty_start_ms=60000',
        '--set',
        'auth.penalty_max_ms=60000',
        '--set',
        'auth.failure_delay_ms=0',
      ],
    });
  });
  after(async () => {
    if (skip) return;
    await set?.stop();
  });

  it("an address's free failures are free once over both nodes; then its attempts wait on either node", async () => {
    const [a, b] = set.nodes;
    const onA = await Line.open(a.ports.imap, ATTACKER);
    assert.match((await onA.login('a1', 'wrong-1')) ?? '', /^a1 NO \[AUTHENTICATIONFAILED\]/);
    onA.close();
    const onB = await Line.open(b.ports.imap, ATTACKER);
    assert.match((await onB.login('b1', 'wrong-2')) ?? '', /^b1 NO \[AUTHENTICATIONFAILED\]/);
    onB.close();
    // Node B counted node A's failure: its own one is the second, and the next attempt waits a minute.
    const onBLogged = await eventually('the failure logged on node B', async () => failures(b, ATTACKER)[0]);
    assert.equal(onBLogged.addressFailures, 2);
    assert.equal(onBLogged.accountFailures, 2);
    assert.equal(onBLogged.nextDelayMs, 60_000);
    assert.deepEqual(
      await set.sql(`SELECT scope, failures FROM login_gates WHERE key IN ($1, $2) ORDER BY scope`, [ATTACKER, USER]),
      [
        { scope: 'a', failures: 2 },
        { scope: 'u', failures: 2 },
      ],
    );

    // Node A has checked one password of this address itself (one of its two free ones, were it alone).
    // Five connections try again there: four wait behind the penalty, the fifth is refused at once.
    const tries = await Promise.all([1, 2, 3, 4, 5].map(() => Line.open(a.ports.imap, ATTACKER)));
    try {
      const first = await Promise.race(tries.map((c, i) => c.login(`t${i}`, `wrong-${i + 3}`)));
      assert.match(
        first ?? '',
        /^t\d NO \[UNAVAILABLE\] Too many login attempts from your address; wait 60 s and try again/,
      );
      assert.equal(failures(a, ATTACKER).length, 1, 'no password of the waiting attempts was checked on node A');
      assert.equal(failures(b, ATTACKER).length, 1);

      // The owner, from another address, logs in on both nodes meanwhile (the account has 2 of its 10).
      for (const pb of [a, b]) {
        const owner = await Line.open(pb.ports.imap, OWNER);
        assert.match((await owner.login('o1', 'pw')) ?? '', /^o1 OK /);
        owner.close();
      }
    } finally {
      for (const c of tries) c.close();
    }
  });
});
