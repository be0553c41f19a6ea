/**
 * Store contract, part: the web lab's exercise progress (`Store.exerciseProgress`). Called from
 * `runStoreContract` with a getter for the current test's harness.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExerciseDone } from '../../src/store/types.js';
import type { StoreHarness } from './contract.js';

const done = (student: string, exercise: string, at: number, sessionId: string | null = `s-${at}`): ExerciseDone => ({
  student,
  exercise,
  at,
  sessionId,
});

export function exerciseProgressContract(harness: () => StoreHarness): void {
  describe('exercise progress', () => {
    const progress = () => harness().store.exerciseProgress;

    it('records new pairs, returns them, and lists them by student then exercise', async () => {
      const recorded = await progress().record([
        done('Bob@Class.Example', 'smtp-send', 20),
        done('alice@class.example', 'pop3', 10, null),
      ]);
      assert.deepEqual(
        recorded.map((r) => [r.student, r.exercise, r.at, r.sessionId]),
        [
          ['alice@class.example', 'pop3', 10, null],
          ['bob@class.example', 'smtp-send', 20, 's-20'],
        ],
      );
      await progress().record([done('alice@class.example', 'imap-idle', 30)]);
      assert.deepEqual(
        (await progress().list()).map((r) => `${r.student} ${r.exercise}`),
        ['alice@class.example imap-idle', 'alice@class.example pop3', 'bob@class.example smtp-send'],
      );
      assert.deepEqual(
        (await progress().list({ student: 'ALICE@class.example' })).map((r) => r.exercise),
        ['imap-idle', 'pop3'],
      );
      assert.deepEqual(await progress().list({ student: 'nobody@class.example' }), []);
    });

    it('keeps the first time: a later one changes nothing and is not returned, an earlier one replaces it', async () => {
      await progress().record([done('a@x.example', 'e1', 100)]);
      assert.deepEqual(await progress().record([done('a@x.example', 'e1', 200)]), []);
      assert.equal((await progress().list())[0].at, 100);
      assert.deepEqual(await progress().record([done('a@x.example', 'e1', 100)]), [], 'the same time is no change');
      const earlier = await progress().record([done('a@x.example', 'e1', 50, 'early')]);
      assert.deepEqual(earlier, [done('a@x.example', 'e1', 50, 'early')]);
      assert.deepEqual(await progress().list(), [done('a@x.example', 'e1', 50, 'early')]);
    });

    it('takes one row per pair from a batch (the earliest), and an empty batch', async () => {
      assert.deepEqual(await progress().record([]), []);
      const r = await progress().record([
        done('a@x.example', 'e1', 9),
        done('A@x.example', 'e1', 7),
        done('a@x.example', 'e1', 8),
      ]);
      assert.deepEqual(r, [done('a@x.example', 'e1', 7)]);
      assert.deepEqual(await progress().list(), [done('a@x.example', 'e1', 7)]);
    });

    it('concurrent records of one pair keep the earliest once', async () => {
      const results = await Promise.all(
        [5, 3, 9, 4, 3].map((at) => progress().record([done('c@x.example', 'e', at), done('d@x.example', 'e', at)])),
      );
      assert.ok(results.flat().length >= 2);
      assert.deepEqual(
        (await progress().list()).map((r) => [r.student, r.at]),
        [
          ['c@x.example', 3],
          ['d@x.example', 3],
        ],
      );
    });

    it('clear deletes one student or everyone', async () => {
      await progress().record([
        done('a@x.example', 'e1', 1),
        done('a@x.example', 'e2', 2),
        done('b@x.example', 'e1', 3),
      ]);
      assert.equal(await progress().clear('A@x.example'), 2);
      assert.deepEqual(
        (await progress().list()).map((r) => r.student),
        ['b@x.example'],
      );
      assert.equal(await progress().clear('nobody@x.example'), 0);
      assert.equal(await progress().clear(), 1);
      assert.deepEqual(await progress().list(), []);
    });
  });
}
