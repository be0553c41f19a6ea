/**
 * The UI's language (docs/web.md "Languages"): one switch for every page, kept in the browser; until
 * a student picks one, the browser's languages decide, then the server's `lab.language`. Texts come
 * from the catalogues in src/web/i18n through `t`; requests carry the language so the texts the server
 * makes (exercises, explanations) come in it too.
 */
import type { ComponentChildren } from 'preact';
import { isLanguage, type Language, negotiate, translate, type UiKey } from '../i18n/ui.js';

const KEY = 'postbode-language';
/** The exercises page kept its own choice before the whole UI had one; it still counts. */
const OLD_KEY = 'postbode-exercise-language';

let current: Language = 'en';

function stored(): string | null {
  try {
    return localStorage.getItem(KEY) ?? localStorage.getItem(OLD_KEY);
  } catch {
    return null;
  }
}

/** The language before the server is asked: the switch's, else the browser's, else English. */
export function initialLanguage(configured?: string): Language {
  const chosen = stored();
  current = negotiate({
    chosen: isLanguage(chosen) ? chosen : null,
    acceptLanguage: (navigator.languages ?? [navigator.language]).join(','),
    configured,
  });
  document.documentElement.lang = current;
  return current;
}

/** The switch: remembered in the browser for every page. */
export function chooseLanguage(lang: Language): void {
  try {
    localStorage.setItem(KEY, lang);
  } catch {
    // a browser without storage still switches for this visit
  }
  current = lang;
  document.documentElement.lang = lang;
}

export function language(): Language {
  return current;
}

/** A UI text in the current language, `{name}` placeholders filled in. */
export function t(key: UiKey, params?: Readonly<Record<string, string | number>>): string {
  return translate(current, key, params);
}

/**
 * A UI text whose placeholders are elements (`<code>`, links): the text split around them, so a
 * translation may put them where its grammar wants them.
 */
export function tx(key: UiKey, parts: Readonly<Record<string, ComponentChildren>>): ComponentChildren[] {
  const text = translate(current, key);
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
    if (!Object.hasOwn(parts, m[1])) continue;
    out.push(text.slice(last, m.index), parts[m[1]]);
    last = (m.index ?? 0) + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}
