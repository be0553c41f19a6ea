import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeBus } from './changes.js';
import type { MailboxChange } from './types.js';

const change = (mailboxId: number): MailboxChange => ({ mailboxId }) as MailboxChange;

describe('ChangeBus', () => {
  it('calls the listeners of a mailbox in subscription order, one or several, each subscription once', () => {
    const bus = new ChangeBus();
    const seen: string[] = [];
    const a = (c: MailboxChange) => seen.push(`a${c.mailboxId}`);
    const offA = bus.subscribe(1, a);
    bus.publish(change(1));
    bus.publish(change(2));
    assert.deepEqual(seen, ['a1']);
    const offA2 = bus.subscribe(1, a); // the same function again: a second subscription
    const offB = bus.subscribe(1, (c) => seen.push(`b${c.mailboxId}`));
    assert.equal(bus.listenerCount(1), 3);
    bus.publish(change(1));
    assert.deepEqual(seen, ['a1', 'a1', 'a1', 'b1']);
    offA();
    offA(); // idempotent
    assert.equal(bus.listenerCount(1), 2);
    offA2();
    offB();
    assert.equal(bus.listenerCount(1), 0);
    bus.publish(change(1));
    assert.equal(seen.length, 4);
    // One subscription again after all left.
    const offC = bus.subscribe(1, (c) => seen.push(`c${c.mailboxId}`));
    offA(); // an old unsubscribe does not touch the new one
    bus.publish(change(1));
    assert.deepEqual(seen.slice(4), ['c1']);
    offC();
    assert.equal(bus.listenerCount(1), 0);
  });

  it('does not call a listener removed during a publish; a throwing one stops no other', () => {
    const errors: unknown[] = [];
    const bus = new ChangeBus({ onError: (e) => errors.push(e) });
    const seen: string[] = [];
    let offB: () => void = () => {};
    bus.subscribe(1, () => {
      seen.push('a');
      offB();
      throw new Error('boom');
    });
    offB = bus.subscribe(1, () => seen.push('b'));
    bus.subscribe(1, () => seen.push('c'));
    bus.publish(change(1));
    assert.deepEqual(seen, ['a', 'c']);
    assert.equal(errors.length, 1);
    const lone = new ChangeBus({ onError: (e) => errors.push(e) });
    lone.subscribe(7, () => {
      throw new Error('alone');
    });
    lone.publish(change(7));
    assert.equal(errors.length, 2);
  });
});
