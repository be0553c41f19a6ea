/**
 * `postbode exercises list|progress`: the web lab's exercises (the built-ins and lab.exercises_file,
 * src/web/exercises/) and every student's progress, read from the store like the other admin commands.
 *
 * Invariants:
 * - Read-only: `progress` merges what the server recorded (`Store.exerciseProgress`) with a check of
 *   the session history made here (the sessions a server has not checked yet), and writes nothing.
 *   Port-25 sessions that counted for a student only by the web lab address they used are known to
 *   the server alone (it records them as they happen).
 * - The same rows count as in the web lab: known exercises, accounts that exist and were created
 *   before the row (src/web/exercises/progress.ts `countingRows`).
 * - `--json` prints one JSON array of `{student, exercise, done, at}` (every student × every exercise,
 *   `at` in milliseconds since the epoch or null), the API's shape; the text forms are for people.
 */
import type { Command } from 'commander';
import type { ExerciseDone } from '../store/types.js';
import {
  type Exercise,
  ExerciseFileError,
  fillIn,
  LANGUAGES,
  type Language,
  loadExercises,
  protocolsOf,
  textIn,
} from '../web/exercises/definitions.js';
import { CliError, configFrom, type GlobalOptions, withConfigOptions, withStore } from './context.js';

type Out = (line: string) => void;

const WIDTH = 100;

function exercisesOf(file: string): Exercise[] {
  try {
    return loadExercises(file);
  } catch (err) {
    if (err instanceof ExerciseFileError) throw new CliError(err.message);
    throw err;
  }
}

/** `text` in lines of at most `width` characters (words are not split), each starting with `indent`. */
export function wrap(text: string, indent: string, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

export function registerExercisesCommands(program: Command, out: Out): void {
  const exercises = program
    .command('exercises')
    .description("the web lab's exercises (checked from the recorded sessions) and the students' progress");

  withConfigOptions(
    exercises
      .command('list')
      .description('list the exercises in course order, with their hints')
      .option('--lang <lang>', `language of the titles and hints: ${LANGUAGES.join(', ')}`, 'en'),
  ).action((opts: GlobalOptions & { lang: string }) => {
    const lang = opts.lang.toLowerCase();
    if (!(LANGUAGES as readonly string[]).includes(lang)) {
      throw new CliError(`--lang must be one of ${LANGUAGES.join(', ')}, not ${opts.lang}`, 2);
    }
    const config = configFrom(opts);
    const list = exercisesOf(config.lab.exercises_file);
    list.forEach((e, i) => {
      const protocols = protocolsOf(e.rule)
        .map((p) => p.toUpperCase())
        .join(', ');
      const how = e.rule.download
        ? `${protocols}, then download capture.pcap`
        : e.rule.after === 'autoconfig'
          ? `${protocols} login after the client's autoconfiguration`
          : protocols;
      out(`${String(i + 1).padStart(2)}. ${e.id} (${how})`);
      const server = { server: config.hostname };
      for (const l of wrap(fillIn(textIn(e.title, lang as Language), server), '    ')) out(l);
      for (const l of wrap(fillIn(textIn(e.hint, lang as Language), server), '      ')) out(l);
      out('');
    });
    out(`${list.length} exercises${config.lab.exercises_file ? ` (built-ins and ${config.lab.exercises_file})` : ''}`);
  });

  withConfigOptions(
    exercises
      .command('progress')
      .description('which student did which exercise, and when (from the store and the session history)')
      .option('--json', 'print a JSON array of {student, exercise, done, at} (at: ms since the epoch, or null)')
      .option('--domain <domain>', 'only the students of this domain'),
  ).action(async (opts: GlobalOptions & { json?: boolean; domain?: string }) => {
    // Loaded here only: the progress check replays the session history (web/exercises/check.ts).
    const { checkHistory, countingRows, progressTable } = await import('../web/exercises/progress.js');
    await withStore(opts, async ({ config, store }) => {
      const list = exercisesOf(config.lab.exercises_file);
      const accounts = await store.accounts.list();
      const recorded = await store.exerciseProgress.list();
      const checked = await checkHistory(store, list);
      const rows = earliest(countingRows([...recorded, ...checked], accounts, list));
      const domain = opts.domain?.trim().toLowerCase();
      const students = accounts
        .map((a) => a.address)
        .filter((a) => !domain || a.endsWith(`@${domain}`))
        .sort();
      const table = progressTable(students, list, rows);
      if (opts.json) {
        out(JSON.stringify(table));
        return;
      }
      if (students.length === 0) {
        out(domain ? `no accounts in ${domain}` : 'no accounts');
        return;
      }
      list.forEach((e, i) => {
        out(`${String(i + 1).padStart(3)}  ${e.id}`);
      });
      out('');
      const nameWidth = Math.max(7, ...students.map((s) => s.length));
      const cols = list.map((_, i) => String(i + 1));
      out(`${'student'.padEnd(nameWidth)}  ${cols.join(' ')}  done`);
      for (const student of students) {
        const mine = table.filter((t) => t.student === student);
        const marks = mine.map((t, i) => (t.done ? 'x' : '.').padEnd(cols[i].length));
        const n = mine.filter((t) => t.done).length;
        out(`${student.padEnd(nameWidth)}  ${marks.join(' ')}  ${n}/${list.length}`);
      }
    });
  });
}

/** One row per student and exercise: the earliest. */
function earliest(rows: ExerciseDone[]): ExerciseDone[] {
  const byKey = new Map<string, ExerciseDone>();
  for (const r of rows) {
    const key = `${r.student}\0${r.exercise}`;
    const kept = byKey.get(key);
    if (!kept || r.at < kept.at) byKey.set(key, r);
  }
  return [...byKey.values()];
}
