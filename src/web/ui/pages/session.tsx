import { useEffect, useState } from 'preact/hooks';
import { type CaptureInfo, get, type Me, type SessionSummary, seg } from '../api';
import { Conversation, LargeTextToggle, LockIcon, useLiveSession } from '../transcript';
import { ErrorBox, fmtDuration, fmtTime, Loading, protoName, useNow } from '../util';
import { stateText } from './sessions';

export function SessionFacts({ s }: { s: SessionSummary }) {
  const now = useNow(1000);
  return (
    <dl class="facts">
      <dt>Protocol</dt>
      <dd>
        {protoName(s.proto)} on {s.listener} (port {s.localPort})
      </dd>
      <dt>Client</dt>
      <dd class="mono">
        {s.remote}:{s.remotePort}
      </dd>
      <dt>User</dt>
      <dd>{s.user ?? '—'}</dd>
      {s.user === null && (s.helo || s.mailFrom) && (
        <>
          <dt>Client said</dt>
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
            <LockIcon /> {s.tlsInfo ?? 'yes'}
          </>
        ) : (
          'no (cleartext on the wire)'
        )}
      </dd>
      <dt>Started</dt>
      <dd>
        {fmtTime(s.start)} · {fmtDuration((s.end ?? now) - s.start)}
      </dd>
      <dt>State</dt>
      <dd>
        {s.active ? (
          <span class="state live">{s.state}</span>
        ) : (
          <>
            <span class="state">{stateText(s)}</span>
            <span class="muted"> · last state {s.state}</span>
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
        Download capture.pcap
      </a>
      {info?.passwords && (
        <a
          class="button warn"
          href={`${base}/capture.pcap?passwords=1`}
          download
          onClick={() => setTook('passwords')}
          title="The same capture with the password as the client sent it in clear text"
        >
          capture.pcap with passwords
        </a>
      )}
      {took && (
        <span class="muted small" role="status">
          {took === 'passwords'
            ? 'Downloaded the capture with the passwords as they crossed the wire (this session had no TLS).'
            : 'Downloaded the redacted capture: passwords are replaced by * (base64 of * in AUTH), same length.'}
        </span>
      )}
      {info?.cut && (
        <span class="muted small">
          The capture was cut after {info.bytes} bytes (lab.capture_bytes): the pcap ends there.
        </span>
      )}
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
          <a href="#/sessions" class="back" aria-label="back to the list">
            ←
          </a>{' '}
          Session {session ? `${protoName(session.proto)} ${id}` : id}
        </h1>
        {stream === 'live' && <span class="pill ok">● live</span>}
        <LargeTextToggle />
      </div>
      <ErrorBox error={error} />
      {!session && !error && <Loading what="the session" />}
      {session && (
        <>
          <SessionFacts s={session} />
          <div class="actions">
            <a class="button" href={`${base}/transcript.txt`} download>
              Download transcript.txt
            </a>
            <CaptureLinks base={base} session={session} />
            {keylog && (
              <a
                class="button warn"
                href={`${base}/keylog.txt`}
                download
                title="TLS secrets of this session: with them anyone holding a capture can decrypt it"
              >
                Download keylog.txt
              </a>
            )}
            <span class="muted small">
              The pcap holds every byte of the conversation (literals and message bodies included, the part after
              STARTTLS in clear text) as TCP packets on the standard port of this listener (implicit TLS ports become
              587, 110, 143),{' '}
              {session.proto === 'managesieve'
                ? 'port 4190, which Wireshark has no ManageSieve dissector for: Follow TCP Stream reads it.'
                : `so Wireshark decodes it as ${protoName(session.proto)} without Decode As.`}{' '}
              Passwords are masked at the same length unless you take the form with passwords.
            </span>
          </div>
          <Conversation events={events} />
        </>
      )}
    </section>
  );
}
