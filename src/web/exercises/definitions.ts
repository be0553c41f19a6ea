/**
 * The web lab's exercises as data: the format of `builtin.json` and of a teacher's own file
 * (`lab.exercises_file`, docs/web.md "Exercises"), checked when it is read, and the set the server uses.
 *
 * Invariants:
 * - The built-in set and a teacher's file have one format (`ExerciseFile`), checked by the same schema;
 *   a file that does not fit is refused as a whole with every problem named (field path and reason),
 *   never half-used.
 * - Every regular expression of a rule compiles when the file is read (case-insensitive); a rule
 *   without steps must be a download rule.
 * - Titles and hints are kept per language (en, nl, fr); a text missing in one language falls back to
 *   English, then to any language the exercise has. The built-ins have all three (a test checks it).
 *   `{server}` in them stands for the server's name, filled in where they are shown (`fillIn`).
 * - A teacher's exercise with a built-in's id replaces it in place; new ids follow the built-ins in
 *   file order; `"builtin": false` drops the built-in set. Ids are unique in the result.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Protocol } from '../../trace/bus.js';
import builtinData from './builtin.json' with { type: 'json' };

export const LANGUAGES = ['en', 'nl', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];
const PROTOS = ['smtp', 'pop3', 'imap'] as const;

const oneOrMore = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const regex = z
  .string()
  .min(1)
  .refine(
    (source) => {
      try {
        new RegExp(source, 'i');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression' },
  );

/** A reply code: exact (`250`, `+OK`, `OK`) or with `x` for any digit (`2xx`, `5.1.x`). */
const code = z.string().regex(/^[+-]?[A-Za-z0-9.]+$/, 'a reply code such as 250, 2xx, +OK, -ERR, OK, NO');

const commandStep = z.strictObject({
  /** The command (verb), or any of several; IMAP: `FETCH`, `UID FETCH`. Case-insensitive. */
  command: oneOrMore(z.string().min(1).max(40)),
  /** A regular expression the command's arguments must match (case-insensitive). */
  args: regex.optional(),
  /** The command's last reply so far must have this code (or one of these). */
  reply: oneOrMore(code).optional(),
  /** SMTP: the enhanced status code of that reply (RFC 3463), e.g. `5.1.1`. */
  enhanced: code.optional(),
  /** IMAP: an untagged response the server sent while the command ran, e.g. `EXISTS`. */
  untagged: z.string().min(1).max(40).optional(),
  /** The command travelled inside TLS (true) or in clear (false). */
  encrypted: z.boolean().optional(),
});

const step = z.union([commandStep, z.strictObject({ all: z.array(commandStep).min(1) })]);

const rule = z
  .strictObject({
    proto: oneOrMore(z.enum(PROTOS)),
    /** Listener names (`smtp` is port 25, `submission` 587 …). */
    listener: oneOrMore(z.string().min(1)).optional(),
    /** The session used TLS at some point (true), or never (false). */
    tls: z.boolean().optional(),
    /** Someone logged in successfully in the session (true), or nobody did (false). */
    login: z.boolean().optional(),
    steps: z.array(step).default([]),
    /** Done when the student downloads this session's capture (the lab records it), not by itself. */
    download: z.literal('pcap').optional(),
    /**
     * `"autoconfig"`: the session's login counts only when, before it, the web lab served the mail
     * client's autoconfiguration (Thunderbird autoconfig or Autodiscover) for the address that logged in,
     * to the session's client address, within the hour (progress.ts `AutoconfigFetches`).
     */
    after: z.literal('autoconfig').optional(),
  })
  .refine((r) => r.steps.length > 0 || r.download !== undefined || r.after !== undefined, {
    message: 'a rule needs steps, "download": "pcap" or "after": "autoconfig"',
  })
  .refine((r) => r.after === undefined || r.login !== false, {
    message: '"after": "autoconfig" is about a login: it cannot go with "login": false',
  });

const texts = z
  .strictObject({
    en: z.string().min(1).optional(),
    nl: z.string().min(1).optional(),
    fr: z.string().min(1).optional(),
  })
  .refine((t) => Object.keys(t).length > 0, { message: 'give the text in at least one language (en, nl, fr)' });

const exercise = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_" and "-", at most 64, e.g. smtp-ehlo'),
  title: texts,
  hint: texts,
  rule,
});

/** The format of builtin.json and of `lab.exercises_file`. */
export const exerciseFileSchema = z.strictObject({
  /** A teacher's file: keep the built-in exercises (default true). */
  builtin: z.boolean().optional(),
  exercises: z.array(exercise),
});

export type ExerciseFile = z.infer<typeof exerciseFileSchema>;
export type Exercise = z.infer<typeof exercise>;
export type Rule = z.infer<typeof rule>;
export type Step = z.infer<typeof step>;
export type CommandStep = z.infer<typeof commandStep>;
export type Texts = z.infer<typeof texts>;

export class ExerciseFileError extends Error {
  override name = 'ExerciseFileError';
}

/** `data` checked as an exercise file; `where` names it in the error. */
export function parseExerciseFile(data: unknown, where: string): ExerciseFile {
  const result = exerciseFileSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new ExerciseFileError(`${where} is not a valid exercise file: ${problems.join('; ')}`);
  }
  const seen = new Set<string>();
  for (const e of result.data.exercises) {
    if (seen.has(e.id)) throw new ExerciseFileError(`${where}: the exercise id ${e.id} is used twice`);
    seen.add(e.id);
  }
  return result.data;
}

/** The built-in set (builtin.json), checked like a teacher's file. */
export function builtinExercises(): Exercise[] {
  return parseExerciseFile(builtinData, 'the built-in exercise set (src/web/exercises/builtin.json)').exercises;
}

/** The built-ins merged with a teacher's file (see the header). */
export function mergeExercises(builtin: Exercise[], own: ExerciseFile | null): Exercise[] {
  if (!own) return builtin;
  const base = own.builtin === false ? [] : builtin;
  const mine = new Map(own.exercises.map((e) => [e.id, e]));
  const merged = base.map((e) => mine.get(e.id) ?? e);
  const used = new Set(merged.map((e) => e.id));
  for (const e of own.exercises) if (!used.has(e.id)) merged.push(e);
  return merged;
}

/** Reads `lab.exercises_file` (JSON); '' gives the built-in set alone. Throws ExerciseFileError. */
export function loadExercises(file: string): Exercise[] {
  if (file === '') return builtinExercises();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ExerciseFileError(`cannot read the exercise file ${file} (lab.exercises_file): ${code}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ExerciseFileError(
      `the exercise file ${file} (lab.exercises_file) is not valid JSON: ${(err as Error).message}`,
    );
  }
  return mergeExercises(builtinExercises(), parseExerciseFile(data, `the exercise file ${file} (lab.exercises_file)`));
}

/** A text in `lang`, else English, else any language it has. */
export function textIn(t: Texts, lang: Language): string {
  return t[lang] ?? t.en ?? t.nl ?? t.fr ?? '';
}

/** `{server}` in a title or hint becomes the server's name (`hostname`); other braces stay as written. */
export function fillIn(text: string, vars: { server: string }): string {
  return text.replace(/\{server\}/g, vars.server);
}

/** The first supported language of an Accept-Language header (or `lang=` value), else English. */
export function pickLanguage(wanted: string | undefined | null): Language {
  if (!wanted) return 'en';
  const ranked = wanted
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)/.exec(p)?.[1]).find((v) => v !== undefined);
      return { lang: tag.split('-')[0], q: q === undefined ? 1 : Number(q), i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { lang } of ranked) if ((LANGUAGES as readonly string[]).includes(lang)) return lang as Language;
  return 'en';
}

/** The protocols a rule applies to (exercises have none for ManageSieve yet). */
export function protocolsOf(r: Rule): Protocol[] {
  return Array.isArray(r.proto) ? r.proto : [r.proto];
}
