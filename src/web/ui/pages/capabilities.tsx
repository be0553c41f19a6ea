import type { UiKey } from '../../i18n/ui.js';
import { type CapabilitiesResponse, get } from '../api';
import { language, t } from '../i18n';
import { ErrorBox, Loading, useLoad } from '../util';

const TITLES = {
  smtp: ['SMTP', 'EHLO'],
  pop3: ['POP3', 'CAPA'],
  imap: ['IMAP', 'CAPABILITY'],
  managesieve: ['ManageSieve', 'caps.managesieveWhere'],
  sieve: ['caps.sieveTitle', 'caps.sieveWhere'],
} as const;

/** A title's text: protocol names as they are, the others from the catalogue. */
const label = (s: string) => (s.startsWith('caps.') ? t(s as UiKey) : s);

/** Every keyword the server advertises now, with its RFC, what it changes and an example dialogue. */
export function CapabilitiesPage() {
  const caps = useLoad(() => get<CapabilitiesResponse>('/api/capabilities'), `caps:${language()}`);
  return (
    <section>
      <h1>{t('nav.capabilities')}</h1>
      <p class="muted">{t('caps.intro')}</p>
      <ErrorBox error={caps.error} />
      {caps.loading && !caps.data && <Loading what={t('caps.loadingWhat')} />}
      {caps.data && (
        <nav class="jump">
          {(Object.keys(TITLES) as (keyof typeof TITLES)[]).map((p) => (
            <button key={p} type="button" class="link" onClick={() => jump(`cap-${p}`)}>
              {label(TITLES[p][0])} ({caps.data?.[p]?.length ?? 0})
            </button>
          ))}
        </nav>
      )}
      {caps.data &&
        (Object.keys(TITLES) as (keyof typeof TITLES)[]).map((p) => (
          <div key={p} id={`cap-${p}`}>
            <h2>
              {label(TITLES[p][0])} <span class="muted">({label(TITLES[p][1])})</span>
            </h2>
            {(caps.data?.[p] ?? []).length === 0 ? (
              <p class="muted">{p === 'sieve' ? t('caps.noSieve') : t('caps.noListener', { proto: TITLES[p][0] })}</p>
            ) : (
              <div class="scroll">
                <table class="caps">
                  <thead>
                    <tr>
                      <th>{t('caps.keyword')}</th>
                      <th>RFC</th>
                      <th>{t('caps.whatItIs')}</th>
                      <th>{t('caps.whatItChanges')}</th>
                      <th>{t('caps.example')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {caps.data?.[p].map((c) => (
                      <tr key={c.keyword}>
                        <td class="mono kw">{c.keyword}</td>
                        <td>
                          <a href={c.url} target="_blank" rel="noreferrer">
                            {c.rfc}
                          </a>
                        </td>
                        <td>{c.summary}</td>
                        <td>{c.effect}</td>
                        <td>{c.example.length > 0 && <pre class="example">{c.example.join('\n')}</pre>}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        ))}
    </section>
  );
}

function jump(id: string) {
  document.getElementById(id)?.scrollIntoView({ behavior: 'smooth' });
}
