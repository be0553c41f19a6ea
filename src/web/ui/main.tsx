/**
 * The postbode web lab: one page, hash routes (docs/web-api.md "UI routes"). Talks to the server
 * only through the JSON API and its server-sent event streams.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Language } from '../i18n/ui.js';
import { api, get, type Me, setUnauthorizedHandler } from './api';
import { chooseLanguage, initialLanguage, t } from './i18n';
import { LanguageSwitch } from './language-switch';
import { AliasesPage, DomainsPage } from './pages/admin-domains';
import { LabAccountsPage } from './pages/admin-lab';
import { QueuePage } from './pages/admin-queue';
import { UsersPage } from './pages/admin-users';
import { CapabilitiesPage } from './pages/capabilities';
import { ComparePage } from './pages/compare';
import { ExercisesPage } from './pages/exercises';
import { FiltersPage } from './pages/filters';
import { LoginPage } from './pages/login';
import { MailPage } from './pages/mail';
import { SessionPage } from './pages/session';
import { SessionsPage } from './pages/sessions';
import { ErrorBox, errorText, routeParts, useHash } from './util';

function Nav({
  me,
  hash,
  onLogout,
  lang,
  onLanguage,
}: {
  me: Me;
  hash: string;
  onLogout: () => void;
  lang: Language;
  onLanguage: (l: Language) => void;
}) {
  const items: [string, string][] = [
    ['#/sessions', t('nav.sessions')],
    ['#/capabilities', t('nav.capabilities')],
    ['#/mail', t('nav.mail')],
    ['#/filters', t('nav.filters')],
    ['#/exercises', me.role === 'admin' ? t('nav.classOverview') : t('nav.exercises')],
  ];
  if (me.role === 'admin') {
    items.push(
      ['#/admin/users', t('nav.users')],
      ['#/admin/domains', t('nav.domains')],
      ['#/admin/aliases', t('nav.aliases')],
      ['#/admin/lab', t('nav.labAccounts')],
      ['#/admin/queue', t('nav.queue')],
    );
  }
  const top = `#/${routeParts(hash)
    .slice(0, hash.startsWith('#/admin') ? 2 : 1)
    .join('/')}`;
  return (
    <header class="top">
      <a class="brand" href="#/sessions">
        postbode <span class="sub">lab</span>
      </a>
      <nav>
        {items.map(([href, label]) => (
          <a
            key={href}
            href={href}
            class={top === href || (href === '#/sessions' && top === '#/compare') ? 'current' : ''}
          >
            {label}
          </a>
        ))}
      </nav>
      <div class="who">
        <LanguageSwitch value={lang} onChange={onLanguage} />
        <span title={me.role === 'admin' ? t('nav.role.adminTitle') : t('nav.role.userTitle')}>
          {me.name} <em>({me.role})</em>
        </span>
        <button type="button" class="link" onClick={onLogout}>
          {t('nav.logout')}
        </button>
      </div>
    </header>
  );
}

function Page({ me, hash }: { me: Me; hash: string }) {
  const p = routeParts(hash);
  const admin = me.role === 'admin';
  switch (p[0]) {
    case 'sessions':
      return p[1] ? <SessionPage id={p[1]} me={me} /> : <SessionsPage me={me} />;
    case 'compare':
      return <ComparePage a={p[1] ?? ''} b={p[2] ?? ''} me={me} />;
    case 'capabilities':
      return <CapabilitiesPage />;
    case 'mail':
      return <MailPage me={me} account={p[1]} mailbox={p[2]} uid={p[3]} />;
    case 'filters':
      return <FiltersPage me={me} account={p[1]} />;
    case 'exercises':
      return <ExercisesPage me={me} />;
    case 'admin':
      if (!admin) return <ErrorBox error={t('page.adminOnly')} />;
      switch (p[1]) {
        case 'users':
          return <UsersPage />;
        case 'domains':
          return <DomainsPage />;
        case 'aliases':
          return <AliasesPage />;
        case 'lab':
          return <LabAccountsPage />;
        case 'queue':
          return <QueuePage />;
      }
      break;
  }
  return <ErrorBox error={t('page.unknown', { hash })} />;
}

function App() {
  const hash = useHash();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [lang, setLang] = useState<Language>(() => initialLanguage());
  const onLanguage = (l: Language) => {
    chooseLanguage(l);
    setLang(l);
  };

  useEffect(() => {
    // The configured default (lab.language) counts when neither the switch nor the browser decide.
    get<{ default: string }>('/api/language').then(
      (r) => setLang(initialLanguage(r.default)),
      () => {},
    );
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    api<Me>('GET', '/api/me').then(
      (m) => setMe(m),
      (e: unknown) => {
        setMe(null);
        if (!(e instanceof Error && 'status' in e && e.status === 401)) setError(errorText(e));
      },
    );
  }, []);

  if (me === undefined) return <p class="muted pad">{t('common.loading')}</p>;
  if (me === null || hash.startsWith('#/login')) {
    return (
      <LoginPage
        lang={lang}
        onLanguage={onLanguage}
        error={error}
        onLogin={(m) => {
          setError(null);
          setMe(m);
          if (hash.startsWith('#/login')) location.hash = '#/sessions';
        }}
      />
    );
  }
  const logout = () => {
    api('POST', '/api/logout').finally(() => {
      setMe(null);
      location.hash = '#/login';
    });
  };
  return (
    <>
      <Nav me={me} hash={hash} onLogout={logout} lang={lang} onLanguage={onLanguage} />
      <main>
        <ErrorBox error={error} onClose={() => setError(null)} />
        <Page me={me} hash={hash} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
