import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loggedSession } from '../../../test/harness/logged-session.js';
import type { LoggedSession } from '../../store/types.js';
import { matches, maySee, ownershipOf, type Viewer, viewerFilter } from './access.js';
import { noteSmtpNames, openLive, updateSummary } from './capture.js';

const ALICE = 'alice@lab.test';
const BOB = 'bob@lab.test';

const session = (overrides: Partial<LoggedSession> = {}): LoggedSession =>
  loggedSession('s1', {
    listener: 'smtp',
    localAddress: '10.0.0.1',
    localPort: 25,
    remoteAddress: '10.0.0.21',
    start: 1,
    state: 'greeted',
    ...overrides,
  });

/** Both paths: maySee (one session) and the list filter (live sessions; the store runs the same in SQL). */
function sees(viewer: Viewer, s: LoggedSession): boolean {
  const one = maySee(viewer, ownershipOf(s));
  const f = viewerFilter(viewer, {});
  const listed = f !== null && matches(s, f);
  assert.equal(listed, one, 'the list and the single view agree');
  return one;
}

describe('recorder access', () => {
  const aliceInClass: Viewer = { role: 'user', name: ALICE, remote: '10.0.0.21' };
  const bobInClass: Viewer = { role: 'user', name: BOB, remote: '10.0.0.22' };

  it('classroom: a port-25 session is visible from the student’s own address only', () => {
    const s = session();
    assert.equal(sees(aliceInClass, s), true);
    assert.equal(sees(bobInClass, s), false);
    // IPv4-mapped on a dual-stack listener is the same address.
    assert.equal(sees(aliceInClass, session({ remoteAddress: '::ffff:10.0.0.21' })), true);
    assert.equal(sees({ ...aliceInClass, remote: '::ffff:10.0.0.21' }, s), true);
    // Outside classroom mode the address says nothing.
    assert.equal(sees({ role: 'user', name: ALICE }, s), false);
  });

  it('a port-25 session that names the user in MAIL FROM or HELO is theirs, in every mode', () => {
    const user: Viewer = { role: 'user', name: BOB };
    assert.equal(sees(user, session({ mailFrom: BOB })), true);
    assert.equal(sees(user, session({ helo: 'bob' })), true);
    assert.equal(sees(user, session({ helo: BOB })), true);
    assert.equal(sees(user, session({ helo: 'bobby', mailFrom: 'bob@other.test' })), false);
    assert.equal(sees({ role: 'user', name: ALICE }, session({ mailFrom: BOB })), false);
  });

  it('a session with a login belongs to that account only; other protocols need a login', () => {
    assert.equal(sees(aliceInClass, session({ user: BOB, mailFrom: ALICE })), false);
    assert.equal(sees(bobInClass, session({ user: BOB })), true);
    assert.equal(sees(aliceInClass, session({ proto: 'pop3', listener: 'pop3', localPort: 110 })), false);
    assert.equal(sees({ role: 'admin', name: 'teacher' }, session()), true);
  });

  it("asking for someone else's sessions gives nothing", () => {
    assert.equal(viewerFilter(aliceInClass, { user: BOB }), null);
    assert.equal(viewerFilter(aliceInClass, { user: ALICE })?.visibleTo, undefined);
  });

  it('captures HELO/EHLO and MAIL FROM from the command lines, not from the message', () => {
    const live = openLive(
      {
        type: 'open',
        sid: 'x',
        t: 1,
        proto: 'smtp',
        listener: 'smtp',
        remote: '10.0.0.21',
        remotePort: 4000,
        local: '10.0.0.1',
        localPort: 25,
        tls: false,
      },
      false,
    );
    const line = (text: string) => updateSummary(live, { type: 'in', sid: 'x', t: 2, text, seq: 1 });
    assert.equal(line('EHLO PC-12'), true);
    assert.equal(live.session.helo, 'pc-12');
    assert.equal(line('MAIL FROM:<Alice@Lab.test> SIZE=10'), true);
    assert.equal(live.session.mailFrom, ALICE);
    updateSummary(live, { type: 'state', sid: 'x', t: 3, state: 'data', seq: 2 });
    assert.equal(line('helo there'), false);
    assert.equal(live.session.helo, 'pc-12');
    const s = session();
    assert.equal(noteSmtpNames(s, 'mail from: bob@lab.test'), true, 'the lab accepts a missing <>');
    assert.equal(s.mailFrom, BOB);
    assert.equal(noteSmtpNames(s, 'RCPT TO:<x@y>'), false);
  });
});
