import { useEffect, useState } from 'preact/hooks';
import { type CaptureInfo, get, type Me, type SessionSummary, seg } from '../api';
import { t } from '../i18n';
import { Conversation, LargeTextToggle, LockIcon, useLiveSession } from '../transcript';
import { ErrorBox, fmtDuration, fmtTime, Loading, protoName, useNow } from '../util';
import { stateText } from './sessions';

export function SessionFacts({ s }: { s: SessionSummary }) {
  const now = useNow(1000);
  return (
    <dl class="facts">
      <dt>{t('sessions.protocol')}</dt>
      <dd>{t('session.protocolOn', { proto: protoName(s.proto), listener: s.listener, port: s.localPort })}</dd>
      <dt>{t('sessions.col.client')}</dt>
      <dd class="mono">
        {s.remote}:{s.remotePort}
      </dd>
      <dt>{t('sessions.user')}</dt>
      <dd>{s.user ?? '—'}</dd>
      {s.user === null && (s.helo || s.mailFrom) && (
        <>
          <dt>{t('session.clientSaid')}</dt>
          <dd class="mono">
            {s.helo ? `HELO ${s.helo}` : ''}
            {s.helo && s.mailFrom ? ' · ' : ''}
            {s.mailFrom ? `MAIL FROM:<${s.mailFrom}>` : ''}
          </dd>
        </>
      )}
      <dt>TLS</dt>
      <dd>
        {s.tls ? (
          <>
            <LockIcon /> {s.tlsInfo ?? t('common.yes')}
          </>
        ) : (
          t('session.noTls')
        )}
      </dd>
      <dt>{t('session.started')}</dt>
      <dd>
        {fmtTime(s.start)} · {fmtDuration((s.end ?? now) - s.start)}
      </dd>
      <dt>{t('sessions.col.state')}</dt>
      <dd>
        {s.active ? (
          <span class="state live">{s.state}</span>
        ) : (
          <>
            <span class="state">{stateText(s)}</span>
            <span class="muted"> · {t('sessions.lastState', { state: s.state })}</span>
          </>
        )}
      </dd>
    </dl>
  );
}

/**
 * The pcap downloads: the redacted form always; the form with passwords for admins when the recorder
 * kept them (lab.capture_passwords, a session without TLS). After a download, a note says which form
 * it was.
 */
function CaptureLinks({ base, session }: { base: string; session: SessionSummary }) {
  const [info, setInfo] = useState<CaptureInfo | null>(null);
  const [took, setTook] = useState<'redacted' | 'passwords' | null>(null);
  const active = session.active;
  useEffect(() => {
    // Asked again when the session ends: its last bytes and passwords are known only then.
    get<CaptureInfo>(`${base}/capture`).then(setInfo, () => setInfo(null));
  }, [base, active]);
  return (
    <>
      <a class="button" href={`${base}/capture.pcap`} download onClick={() => setTook('redacted')}>
        {t('session.downloadPcap')}
      </a>
      {info?.passwords && (
        <a
          class="button warn"
          href={`${base}/capture.pcap?passwords=1`}
          download
          onClick={() => setTook('passwords')}
          title={t('session.pcapPasswordsTitle')}
        >
          {t('session.pcapPasswords')}
        </a>
      )}
      {took && (
        <span class="muted small" role="status">
          {took === 'passwords' ? t('session.tookPasswords') : t('session.tookRedacted')}
        </span>
      )}
      {info?.cut && <span class="muted small">{t('session.captureCut', { bytes: info.bytes })}</span>}
    </>
  );
}

export function SessionPage({ id, me }: { id: string; me: Me }) {
  const { session, events, error, stream } = useLiveSession(id);
  const keylog = me.role === 'admin' && session?.keyLogged === true;
  const base = `/api/sessions/${seg(id)}`;
  return (
    <section>
      <div class="titlebar">
        <h1>
          <a href="#/sessions" class="back" aria-label={t('session.back')}>
            ←
          </a>{' '}
          {t('session.title', { session: session ? `${protoName(session.proto)} ${id}` : id })}
        </h1>
        {stream === 'live' && <span class="pill ok">{t('stream.live')}</span>}
        <LargeTextToggle />
      </div>
      <ErrorBox error={error} />
      {!session && !error && <Loading what={t('session.loadingWhat')} />}
      {session && (
        <>
          <SessionFacts s={session} />
          <div class="actions">
            <a class="button" href={`${base}/transcript.txt`} download>
              {t('session.downloadTranscript')}
            </a>
            <CaptureLinks base={base} session={session} />
            {keylog && (
              <a class="button warn" href={`${base}/keylog.txt`} download title={t('session.keylogTitle')}>
                {t('session.downloadKeylog')}
              </a>
            )}
            <span class="muted small">
              {t('session.pcapNote')}{' '}
              {session.proto === 'managesieve'
                ? t('session.pcapSieve')
                : t('session.pcapDecodes', { proto: protoName(session.proto) })}{' '}
              {t('session.pcapMasked')}
            </span>
          </div>
          <Conversation events={events} />
        </>
      )}
    </section>
  );
}
