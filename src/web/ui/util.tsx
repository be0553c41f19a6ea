/** Small shared pieces: the hash router, data hooks, formatting and the error box. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/sessions');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/sessions');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** '#/mail/a%40b/3/7' → ['mail', 'a@b', '3', '7'] */
export function routeParts(hash: string): string[] {
  const path = hash.replace(/^#\/?/, '').split('?')[0];
  return path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError || e instanceof Error) return e.message;
  return String(e);
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `key` changes (and on reload()); keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(errorText(e));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/**
 * Subscribes to a server-sent event stream. `handlers` maps event names to callbacks; the returned
 * status says whether the stream is connected (EventSource reconnects by itself after a drop).
 */
export function useEventStream(
  url: string | null,
  handlers: Record<string, (data: string) => void>,
): 'connecting' | 'live' | 'closed' | 'error' {
  const [status, setStatus] = useState<'connecting' | 'live' | 'closed' | 'error'>('connecting');
  useEffect(() => {
    if (!url) return;
    setStatus('connecting');
    const es = new EventSource(url, { withCredentials: true });
    es.onopen = () => setStatus('live');
    es.onerror = () => setStatus(es.readyState === EventSource.CLOSED ? 'closed' : 'error');
    for (const [name, f] of Object.entries(handlers)) {
      es.addEventListener(name, (ev) => f((ev as MessageEvent<string>).data));
    }
    if (handlers.end) {
      es.addEventListener('end', () => {
        es.close();
        setStatus('closed');
      });
    }
    return () => es.close();
  }, [url]);
  return status;
}

/** A protocol as people write it: SMTP, POP3, IMAP, ManageSieve. */
export function protoName(proto: string): string {
  return proto === 'managesieve' ? 'ManageSieve' : proto.toUpperCase();
}

export function fmtTime(t: number | string | null | undefined): string {
  if (t === null || t === undefined || t === '') return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const now = new Date();
  const time = d.toLocaleTimeString(undefined, { hour12: false });
  return d.toDateString() === now.toDateString() ? time : `${d.toISOString().slice(0, 10)} ${time}`;
}

export function fmtDuration(ms: number): string {
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Parses '50M', '1.5G', '200k', '1000' (bytes); '' or 'none' → null (no quota). Throws on nonsense. */
export function parseSize(s: string): number | null {
  const t = s.trim().toLowerCase();
  if (t === '' || t === 'none' || t === 'unlimited') return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/.exec(t);
  if (!m) throw new Error(`"${s}" is not a size: write a number of bytes or e.g. 500M, 2G (empty for no quota).`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2] as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

/** A visible, readable error message; role=alert so screen readers announce it too. */
export function ErrorBox({ error, onClose }: { error: string | null; onClose?: () => void }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <strong>Error:</strong> {error}
      {onClose && (
        <button type="button" class="link" onClick={onClose} aria-label="Dismiss">
          ✕
        </button>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="notice" role="status">
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted">Loading {what}…</p>;
}

/** Runs an async action and reports its error in a shared error state. */
export function useAction(): {
  error: string | null;
  busy: boolean;
  setError: (e: string | null) => void;
  run: (f: () => Promise<void>) => Promise<void>;
} {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (f: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, busy, setError, run };
}

/** `value`, but only once it has stayed the same for `ms` milliseconds (for filters typed into a box). */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** Re-renders every `ms` milliseconds (for live durations). */
export function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
