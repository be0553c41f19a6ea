/**
 * The web lab's exercise progress in PostgreSQL (`exercise_progress`, schema V3; as sqlite/exercises.ts);
 * the contract is `ExerciseProgressStore` in ../types.ts.
 *
 * Invariants:
 * - One row per (student, exercise), the primary key. `record` is one statement over the rows
 *   (`unnest`), first reduced to one row per pair (its earliest) and sorted by the key, so two nodes
 *   recording at once lock the same rows in the same order; a kept row changes only for an earlier
 *   `at` (`ON CONFLICT … WHERE`), and RETURNING gives exactly the rows inserted or changed.
 * - Students are stored lower-case; the columns are `COLLATE "C"`, so lists sort as on SQLite.
 */
import { earliestPerPair } from '../exercise-progress.js';
import type { ExerciseDone, ExerciseProgressStore } from '../types.js';
import type { PgContext } from './db.js';

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

const COLUMNS = 'student, exercise, at, session_id';

export function pgExerciseProgress(ctx: PgContext): ExerciseProgressStore {
  return {
    async record(rows) {
      const unique = earliestPerPair(rows);
      if (unique.length === 0) return [];
      const changed = await ctx.tx((tx) =>
        tx.rows<Row>(
          `INSERT INTO exercise_progress (${COLUMNS})
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[])
           ON CONFLICT (student, exercise) DO UPDATE SET at = EXCLUDED.at, session_id = EXCLUDED.session_id
           WHERE EXCLUDED.at < exercise_progress.at
           RETURNING ${COLUMNS}`,
          [
            unique.map((r) => r.student),
            unique.map((r) => r.exercise),
            unique.map((r) => r.at),
            unique.map((r) => r.sessionId),
          ],
        ),
      );
      return changed.map(toDone);
    },
    async list(filter = {}) {
      const rows = filter.student
        ? await ctx.rows<Row>(
            `SELECT ${COLUMNS} FROM exercise_progress WHERE student = $1 ORDER BY student, exercise`,
            [filter.student.toLowerCase()],
          )
        : await ctx.rows<Row>(`SELECT ${COLUMNS} FROM exercise_progress ORDER BY student, exercise`);
      return rows.map(toDone);
    },
    clear(student) {
      return ctx.tx((tx) =>
        student === undefined
          ? tx.run('DELETE FROM exercise_progress')
          : tx.run('DELETE FROM exercise_progress WHERE student = $1', [student.toLowerCase()]),
      );
    },
  };
}
