/** The one language switch of the UI (in the top bar, and on the login page). */
import { isLanguage, LANGUAGE_NAMES, LANGUAGES, type Language } from '../i18n/ui.js';
import { t } from './i18n';

export function LanguageSwitch({ value, onChange }: { value: Language; onChange: (l: Language) => void }) {
  return (
    <label class="language">
      <span class="sr-only">{t('language.label')}</span>
      <select
        value={value}
        aria-label={t('language.label')}
        onChange={(e) => {
          const l = e.currentTarget.value;
          if (isLanguage(l)) onChange(l);
        }}
      >
        {LANGUAGES.map((l) => (
          <option key={l} value={l} lang={l}>
            {LANGUAGE_NAMES[l]}
          </option>
        ))}
      </select>
    </label>
  );
}
