import { useState } from 'preact/hooks';
import type { Language } from '../../i18n/ui.js';
import { ApiError, api, type Me } from '../api';
import { t, tx } from '../i18n';
import { LanguageSwitch } from '../language-switch';
import { ErrorBox, errorText } from '../util';

/** Admins log in with their admin name; mail users with their mail address and mail password. */
export function LoginPage({
  error,
  onLogin,
  lang,
  onLanguage,
}: {
  error: string | null;
  onLogin: (me: Me) => void;
  lang: Language;
  onLanguage: (l: Language) => void;
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      onLogin(await api<Me>('POST', '/api/login', { username, password }));
    } catch (e) {
      // 401 is the server's "wrong name or password"; other errors (throttling, a full server) say their own.
      setFailure(e instanceof ApiError && e.status === 401 ? t('login.wrong') : errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <LanguageSwitch value={lang} onChange={onLanguage} />
      <h1>
        postbode <span class="sub">lab</span>
      </h1>
      <p class="muted">{t('login.intro')}</p>
      <form onSubmit={submit} class="card">
        <label>
          {t('login.username')}
          <input
            name="username"
            autoComplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('login.password')}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
        <ErrorBox error={failure ?? error} />
        <p class="muted small">{tx('login.help', { command: <code>postbode admin add NAME</code> })}</p>
      </form>
    </main>
  );
}
