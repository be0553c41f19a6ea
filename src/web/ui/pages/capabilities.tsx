import { type CapabilitiesResponse, get } from '../api';
import { ErrorBox, Loading, useLoad } from '../util';

const TITLES = {
  smtp: ['SMTP', 'EHLO'],
  pop3: ['POP3', 'CAPA'],
  imap: ['IMAP', 'CAPABILITY'],
  managesieve: ['ManageSieve', 'greeting and CAPABILITY'],
  sieve: ['Sieve extensions', 'the SIEVE capability of ManageSieve'],
} as const;

/** Every keyword the server advertises now, with its RFC, what it changes and an example dialogue. */
export function CapabilitiesPage() {
  const caps = useLoad(() => get<CapabilitiesResponse>('/api/capabilities'), 'caps');
  return (
    <section>
      <h1>Capabilities</h1>
      <p class="muted">
        What the server advertises right now in answer to EHLO (SMTP), CAPA (POP3), CAPABILITY (IMAP) and in the
        ManageSieve greeting, with the Sieve extensions a script may require, and what each keyword lets a client do.
      </p>
      <ErrorBox error={caps.error} />
      {caps.loading && !caps.data && <Loading what="capabilities" />}
      {caps.data && (
        <nav class="jump">
          {(Object.keys(TITLES) as (keyof typeof TITLES)[]).map((p) => (
            <button key={p} type="button" class="link" onClick={() => jump(`cap-${p}`)}>
              {TITLES[p][0]} ({caps.data?.[p]?.length ?? 0})
            </button>
          ))}
        </nav>
      )}
      {caps.data &&
        (Object.keys(TITLES) as (keyof typeof TITLES)[]).map((p) => (
          <div key={p} id={`cap-${p}`}>
            <h2>
              {TITLES[p][0]} <span class="muted">({TITLES[p][1]})</span>
            </h2>
            {(caps.data?.[p] ?? []).length === 0 ? (
              <p class="muted">
                {p === 'sieve'
                  ? 'No ManageSieve listener is on, so no Sieve extensions are advertised.'
                  : `No ${TITLES[p][0]} listener is on, so nothing is advertised.`}
              </p>
            ) : (
              <div class="scroll">
                <table class="caps">
                  <thead>
                    <tr>
                      <th>Keyword</th>
                      <th>RFC</th>
                      <th>What it is</th>
                      <th>What it changes</th>
                      <th>Example</th>
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
