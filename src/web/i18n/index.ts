/**
 * The web lab's languages (issue 12, docs/web.md "Languages"): one catalogue per language and per
 * area — `ui.*` for the pages and the lab sheet, `lab.*` for the lab's explanations, `caps.*` for the
 * capability keywords' own texts, `api.*` for the web API's error messages — each a flat record of
 * keys to texts with `{name}` placeholders.
 *
 * Invariants:
 * - English is the reference: every key exists in en, and the nl and fr catalogues have exactly the
 *   same keys with the same placeholders (typed here, checked again by catalogues.test.ts).
 * - `translate` never throws: a key missing in a language falls back to English, a key missing in
 *   English comes back as the key itself (so a mistake shows, never breaks a page); a placeholder
 *   without a value stays as written.
 * - Protocol replies are never translated (they are what the server sent); only the texts around them.
 * - This module imports only the catalogues. The browser bundle (src/web/ui) imports ui.ts alone (the
 *   languages and the UI catalogue), so the lab, capability and API catalogues stay on the server.
 */
import { apiEn } from './api.en.js';
import { apiFr } from './api.fr.js';
import { apiNl } from './api.nl.js';
import { capsEn } from './caps.en.js';
import { capsFr } from './caps.fr.js';
import { capsNl } from './caps.nl.js';
import { labEn } from './lab.en.js';
import { labFr } from './lab.fr.js';
import { labNl } from './lab.nl.js';
import { uiEn } from './ui.en.js';
import { uiFr } from './ui.fr.js';
import { type Catalogue, fill, type Language } from './ui.js';
import { uiNl } from './ui.nl.js';

export * from './ui.js';

/** Every catalogue by area and language (the test walks this). */
export const CATALOGUES: Record<string, Record<Language, Catalogue>> = {
  ui: { en: uiEn, nl: uiNl, fr: uiFr },
  lab: { en: labEn, nl: labNl, fr: labFr },
  caps: { en: capsEn, nl: capsNl, fr: capsFr },
  api: { en: apiEn, nl: apiNl, fr: apiFr },
};

/** The lab's keys: lab.en.ts, and caps.en.ts for the capability explainer's keyword texts. */
export type LabKey = keyof typeof labEn | keyof typeof capsEn;

const LAB: Record<Language, Catalogue> = {
  en: { ...labEn, ...capsEn },
  nl: { ...labNl, ...capsNl },
  fr: { ...labFr, ...capsFr },
};

/** A lab explanation in `lang` (else English, else the key), placeholders filled in. */
export function labText(lang: Language, key: LabKey, params?: Readonly<Record<string, string | number>>): string {
  return fill(LAB[lang][key] ?? LAB.en[key] ?? key, params);
}

let englishIndex: Map<string, LabKey> | null = null;

/**
 * A lab text the modules produced in English, in `lang`: the catalogue entry whose English is exactly
 * `text`; a text that is no entry (made of parts, or naming what the client sent) stays as it is.
 */
export function labTranslated(lang: Language, text: string): string {
  if (lang === 'en') return text;
  englishIndex ??= new Map(Object.entries(LAB.en).map(([k, v]) => [v, k as LabKey]));
  const key = englishIndex.get(text);
  return key === undefined ? text : labText(lang, key);
}

/**
 * The lab's words in one language, as the explaining modules (src/web/lab) use them: `t` a catalogue
 * entry with its placeholders filled in, `tr` an English text of a data table (a command's summary, a
 * code's meaning) that is a catalogue entry. What the client or the server sent goes in as a
 * placeholder's value and is never translated.
 */
export interface LabWords {
  readonly lang: Language;
  t(key: LabKey, params?: Readonly<Record<string, string | number>>): string;
  tr(english: string): string;
}

const WORDS = new Map<Language, LabWords>();

export function labWords(lang: Language = 'en'): LabWords {
  let w = WORDS.get(lang);
  if (!w) {
    w = { lang, t: (key, params) => labText(lang, key, params), tr: (text) => labTranslated(lang, text) };
    WORDS.set(lang, w);
  }
  return w;
}

/**
 * Words that say nothing: for a tracker whose notes nobody reads (the exercise checker needs only which
 * line is a command and which reply answers it), so that no text is looked up or filled in per line.
 */
export const SILENT_WORDS: LabWords = { lang: 'en', t: () => '', tr: () => '' };

/** The web API's error keys (api.en.ts). */
export type ApiKey = keyof typeof apiEn;

const API: Record<Language, Catalogue> = { en: apiEn, nl: apiNl, fr: apiFr };

export function isApiKey(s: string): s is ApiKey {
  return Object.hasOwn(apiEn, s);
}

/**
 * A web API error text in `lang` (else English, else the key), placeholders filled in; a `problem`
 * placeholder holds a lower layer's English text and is said in `lang` too (`apiTranslated`).
 */
export function apiText(lang: Language, key: ApiKey, params?: Readonly<Record<string, string | number>>): string {
  const text = API[lang][key] ?? API.en[key] ?? key;
  if (params && typeof params.problem === 'string' && lang !== 'en') {
    return fill(text, { ...params, problem: apiTranslated(lang, params.problem) });
  }
  return fill(text, params);
}

let problemTemplates: { key: ApiKey; re: RegExp }[] | null = null;

/**
 * A lower layer's English text (an address syntax problem, a password rule, an alias rule…) in
 * `lang`: the `problem.*` entry whose English it is, with what stands for `{name}` in it kept as it
 * is; a text no entry matches stays English.
 */
export function apiTranslated(lang: Language, english: string): string {
  if (lang === 'en') return english;
  problemTemplates ??= (Object.keys(apiEn) as ApiKey[])
    .filter((k) => k.startsWith('problem.'))
    .map((key) => {
      const names: string[] = [];
      const parts = apiEn[key].split(/\{([A-Za-z0-9_]+)\}/);
      const source = parts
        .map((part, i) => {
          if (i % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          if (names.includes(part)) return `\\k<${part}>`;
          names.push(part);
          return `(?<${part}>[\\s\\S]+?)`;
        })
        .join('');
      return { key, re: new RegExp(`^${source}$`) };
    });
  for (const { key, re } of problemTemplates) {
    const m = re.exec(english);
    if (m) return fill(API[lang][key] ?? apiEn[key], { ...m.groups });
  }
  return english;
}
