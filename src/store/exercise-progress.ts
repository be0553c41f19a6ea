/**
 * What both backends' `ExerciseProgressStore.record` do first (sqlite/exercises.ts, postgres/exercises.ts):
 * one row per (student, exercise), the earliest, students lower-case, sorted by the key.
 */
import type { ExerciseDone } from './types.js';

export function earliestPerPair(rows: readonly ExerciseDone[]): ExerciseDone[] {
  const byKey = new Map<string, ExerciseDone>();
  for (const r of rows) {
    const row = { ...r, student: r.student.toLowerCase() };
    const key = `${row.student}\0${row.exercise}`;
    const kept = byKey.get(key);
    if (!kept || row.at < kept.at) byKey.set(key, row);
  }
  return [...byKey.values()].sort((a, b) =>
    a.student < b.student
      ? -1
      : a.student > b.student
        ? 1
        : a.exercise < b.exercise
          ? -1
          : a.exercise > b.exercise
            ? 1
            : 0,
  );
}
