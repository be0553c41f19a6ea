/**
 * WebSessions: the per-user cap ends only the user's own oldest session; a full table sweeps expired
 * sessions and otherwise refuses, never ending another user's live session.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebUser } from './context.js';
import { WebSessions } from './session-auth.js';

const teacher: WebUser = { name: 'teacher', role: 'admin' };
const student: WebUser = { name: 'student@example.test', role: 'user' };

describe('WebSessions', () => {
  it("100,000 logins of one student keep 20 of the student's sessions and the teacher's", () => {
    const sessions = new WebSessions();
    const t = sessions.create(teacher);
    assert.ok(t);
    const first = sessions.create(student);
    assert.ok(first);
    let last: string | null = null;
    for (let i = 0; i < 100_000; i++) last = sessions.create(student);
    assert.equal(sessions.countOf(student), 20);
    assert.equal(sessions.size, 21);
    assert.deepEqual(sessions.get(t), teacher);
    assert.equal(sessions.get(first), null, "the student's oldest session went");
    assert.deepEqual(sessions.get(last ?? ''), student);
  });

  it('a full table evicts only expired sessions, and otherwise refuses new ones', () => {
    let now = 0;
    const sessions = new WebSessions(1000, () => now, { maxSessions: 5, perUser: 20 });
    const t = sessions.create(teacher);
    assert.ok(t);
    for (let i = 0; i < 4; i++) assert.ok(sessions.create({ name: `u${i}@x`, role: 'user' }));
    assert.equal(sessions.create(student), null, 'full of live sessions: refused');
    assert.ok(sessions.create(teacher), 'an admin is not locked out by a table full of users');
    assert.deepEqual(sessions.get(t), teacher, "nobody else's session was ended");
    now = 900;
    // The teacher's request at 900 keeps that session alive; the four others expire at 1000.
    assert.deepEqual(sessions.get(t), teacher);
    now = 1500;
    assert.ok(sessions.create(student), 'expired sessions make room');
    assert.deepEqual(sessions.get(t), teacher);
    assert.equal(sessions.size, 2);
  });

  it('deleteUser ends all sessions of one user only', () => {
    const sessions = new WebSessions();
    const t = sessions.create(teacher) ?? '';
    for (let i = 0; i < 3; i++) sessions.create(student);
    sessions.deleteUser(student);
    assert.equal(sessions.countOf(student), 0);
    assert.deepEqual(sessions.get(t), teacher);
    assert.equal(sessions.size, 1);
  });
});
