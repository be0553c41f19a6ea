/**
 * The web lab's exercise progress in SQLite (`exercise_progress`, schema V15); the contract is
 * `ExerciseProgressStore` in ../types.ts.
 *
 * Invariants:
 * - One row per (student, exercise), the primary key. `record` is one write job over the rows, first
 *   reduced to one per pair (its earliest, ../exercise-progress.ts): each is an upsert that changes a kept row only for an earlier `at` (`ON CONFLICT … WHERE`), and RETURNING
 *   gives exactly the rows inserted or changed.
 * - Students are stored lower-case; nothing is cached (the CLI reads while the server writes).
 */
import { earliestPerPair } from '../exercise-progress.js';
import type { ExerciseDone, ExerciseProgressStore } from '../types.js';
import type { SqliteContext } from './db.js';

interface Row {
  student: string;
  exercise: string;
  at: number;
  session_id: string | null;
}

const toDone = (r: Row): ExerciseDone => ({
  student: r.student,
  exercise: r.exercise,
  at: r.at,
  sessionId: r.session_id,
});

const UPSERT = `INSERT INTO exercise_progress (student, exercise, at, session_id) VALUES (?, ?, ?, ?)
  ON CONFLICT (student, exercise) DO UPDATE SET at = excluded.at, session_id = excluded.session_id
  WHERE excluded.at < exercise_progress.at
  RETURNING student, exercise, at, session_id`;

export function sqliteExerciseProgress(ctx: SqliteContext): ExerciseProgressStore {
  return {
    record(rows) {
      const unique = earliestPerPair(rows);
      if (unique.length === 0) return Promise.resolve([]);
      return ctx.write(() => {
        const upsert = ctx.sql(UPSERT);
        const changed: ExerciseDone[] = [];
        for (const r of unique) {
          const row = upsert.get(r.student, r.exercise, r.at, r.sessionId) as Row | undefined;
          if (row) changed.push(toDone(row));
        }
        return changed;
      });
    },
    async list(filter = {}) {
      const rows = filter.student
        ? ctx
            .sql(
              'SELECT student, exercise, at, session_id FROM exercise_progress WHERE student = ? ORDER BY student, exercise',
            )
            .all(filter.student.toLowerCase())
        : ctx.sql('SELECT student, exercise, at, session_id FROM exercise_progress ORDER BY student, exercise').all();
      return (rows as Row[]).map(toDone);
    },
    clear(student) {
      return ctx.write(() =>
        student === undefined
          ? ctx.sql('DELETE FROM exercise_progress').run().changes
          : ctx.sql('DELETE FROM exercise_progress WHERE student = ?').run(student.toLowerCase()).changes,
      );
    },
  };
}
