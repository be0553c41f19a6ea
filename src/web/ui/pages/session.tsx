import { type Me, type SessionSummary, seg } from '../api';
import { Conversation, LargeTextToggle, LockIcon, useLiveSession } from '../transcript';
import { ErrorBox, fmtDuration, fmtTime, Loading, useNow } from '../util';
import { stateText } from './sessions';

export function SessionFacts({ s }: { s: SessionSummary }) {
  const now = useNow(1000);
  return (
    <dl class="facts">
      <dt>Protocol</dt>
      <dd>
        {s.proto.toUpperCase()} on {s.listener} (port {s.localPort})
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
          Session {session ? `${session.proto.toUpperCase()} ${id}` : id}
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
            <a class="button" href={`${base}/capture.pcap`} download>
              Download capture.pcap
            </a>
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
              The pcap holds the cleartext conversation as TCP packets on the standard port of this listener (implicit
              TLS ports become 587, 110, 143), so Wireshark decodes it as {session.proto.toUpperCase()} without Decode
              As.
            </span>
          </div>
          <Conversation events={events} />
        </>
      )}
    </section>
  );
}
