/**
 * The languages and the UI's catalogue: what the browser bundle (src/web/ui) needs, and nothing of the
 * lab's, the capability explainer's or the API's catalogues, which only the server uses (index.ts
 * re-exports all of this with them).
 */
import { uiEn } from './ui.en.js';
import { uiFr } from './ui.fr.js';
import { uiNl } from './ui.nl.js';

export const LANGUAGES = ['en', 'nl', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Each language's name in itself, as the switch shows it. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', nl: 'Nederlands', fr: 'Français' };

/** Keys to texts; `{name}` in a text is filled in by `translate`. */
export type Catalogue = Readonly<Record<string, string>>;

/** The UI's keys: English defines them, the other languages must have each one. */
export type UiKey = keyof typeof uiEn;

const ALL: Record<Language, Catalogue> = { en: uiEn, nl: uiNl, fr: uiFr };

export function isLanguage(s: unknown): s is Language {
  return typeof s === 'string' && (LANGUAGES as readonly string[]).includes(s);
}

/** Fills `{name}` placeholders from `params`; unknown ones stay as written. */
export function fill(text: string, params?: Readonly<Record<string, string | number>>): string {
  if (!params) return text;
  return text.replace(/\{([A-Za-z0-9_]+)\}/g, (m, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : m,
  );
}

/** The text of `key` in `lang` (else English, else the key), placeholders filled in. */
export function translate(lang: Language, key: string, params?: Readonly<Record<string, string | number>>): string {
  const text = ALL[lang][key] ?? ALL.en[key] ?? key;
  return fill(text, params);
}

/** The placeholder names of a text, sorted (for the catalogue test). */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
}

/**
 * The first supported language of an Accept-Language header (or a `lang=` value, or the browser's
 * `navigator.languages` joined by commas), by quality then order; null when none is supported.
 */
export function fromAcceptLanguage(header: string | null | undefined): Language | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)/.exec(p)?.[1]).find((v) => v !== undefined);
      return { lang: tag.split('-')[0], q: q === undefined ? 1 : Number(q), i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { lang } of ranked) if (isLanguage(lang)) return lang;
  return null;
}

/**
 * The language to use: the one chosen with the switch (`?lang=`, kept in the browser), else the
 * browser's (Accept-Language), else the configured default (`lab.language`), else English.
 */
export function negotiate(opts: {
  chosen?: string | null;
  acceptLanguage?: string | null;
  configured?: string | null;
}): Language {
  if (isLanguage(opts.chosen)) return opts.chosen;
  return fromAcceptLanguage(opts.acceptLanguage) ?? (isLanguage(opts.configured) ? opts.configured : 'en');
}
