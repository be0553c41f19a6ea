/**
 * Access: who may see which session, and the shape a session is shown in (the API's SessionSummary).
 *
 * Invariants:
 * - Admins see every session. A mail user sees the sessions where they authenticated as themselves
 *   (an `auth` event with ok = true for their address, which sets the session's `user`), and the SMTP
 *   sessions without a login (port 25: a student's first exercise) that name them or, in classroom
 *   mode, came from their address:
 *   - its MAIL FROM is the user's address, or its HELO/EHLO name is the user's address or local part
 *     (case-insensitive; a session names whoever its client chooses, as a letter's sender line does);
 *   - classroom mode only (`Viewer.remote` set): its client address is the address the user's browser
 *     reaches the web lab from (IPv4 and its IPv4-mapped IPv6 form are the same address). Behind one
 *     NAT address every student sees every other's port-25 sessions: docs/web.md says so.
 *   A session in which someone logged in belongs to that account only, whatever it said before.
 * - A user's list is filtered on that user whatever filter they ask for; asking for someone else's
 *   sessions gives nothing, not an error.
 */
import type { LoggedSession, SessionFilter } from '../../store/types.js';
import type { SessionSummary } from '../api-types.js';

/** Who asks: admins see every session, users their own (see the header). */
export interface Viewer {
  role: 'admin' | 'user';
  name: string;
  /** Classroom mode: the client address of the viewer's web requests; else absent. */
  remote?: string;
}

/** What decides who sees a session (a LoggedSession and a SessionSummary both have it). */
export interface SessionOwnership {
  proto: LoggedSession['proto'];
  user: string | null;
  helo: string | null;
  mailFrom: string | null;
  /** `remoteAddress` of a LoggedSession, `remote` of a SessionSummary. */
  remote: string;
}

/** The ownership fields of a stored or live session. */
export function ownershipOf(s: LoggedSession): SessionOwnership {
  return { proto: s.proto, user: s.user, helo: s.helo, mailFrom: s.mailFrom, remote: s.remoteAddress };
}

/** An IP address as compared here: lower-case, IPv4-mapped IPv6 (`::ffff:10.0.0.5`) as plain IPv4. */
export function plainAddress(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The HELO/EHLO names that name `user`: the address and its local part. */
function heloNames(user: string): string[] {
  const at = user.lastIndexOf('@');
  return at > 0 ? [user, user.slice(0, at)] : [user];
}

/** Whether `viewer` may see a session (see the header). */
export function maySee(viewer: Viewer, s: SessionOwnership): boolean {
  if (viewer.role === 'admin') return true;
  const name = viewer.name.toLowerCase();
  if (s.user !== null) return s.user === name;
  if (s.proto !== 'smtp') return false;
  if (s.mailFrom === name) return true;
  if (s.helo !== null && heloNames(name).includes(s.helo)) return true;
  return viewer.remote !== undefined && viewer.remote !== '' && plainAddress(s.remote) === plainAddress(viewer.remote);
}

/** The `visibleTo` part of a store filter for a user (the same rule as `maySee`). */
function visibleTo(viewer: Viewer): NonNullable<SessionFilter['visibleTo']> {
  const user = viewer.name.toLowerCase();
  const remotes: string[] = [];
  if (viewer.remote) {
    const plain = plainAddress(viewer.remote);
    remotes.push(plain);
    if (!plain.includes(':')) remotes.push(`::ffff:${plain}`);
  }
  return { user, heloNames: heloNames(user), remotes };
}

/**
 * The filter a list request of `viewer` runs with (the limit clamped to 1..1000, default 200), or null
 * when it can match nothing the viewer may see.
 */
export function viewerFilter(viewer: Viewer, filter: SessionFilter): (SessionFilter & { limit: number }) | null {
  const limit = Math.max(1, Math.min(filter.limit ?? 200, 1000));
  const f = { ...filter, limit };
  if (viewer.role !== 'admin') {
    // ?user=<me> keeps its meaning (the sessions where I logged in); anything else is what I may see.
    if (f.user && f.user.toLowerCase() !== viewer.name.toLowerCase()) return null;
    if (!f.user) f.visibleTo = visibleTo(viewer);
  }
  return f;
}

/** Whether a live session matches a list filter (the store applies the same to the history). */
export function matches(s: LoggedSession, f: SessionFilter): boolean {
  if (f.proto && s.proto !== f.proto) return false;
  if (f.user && s.user !== f.user.toLowerCase()) return false;
  if (f.remote && !s.remoteAddress.startsWith(f.remote)) return false;
  if (f.before !== undefined && s.start >= f.before) return false;
  if (f.visibleTo && !matchesVisibleTo(s, f.visibleTo)) return false;
  return true;
}

function matchesVisibleTo(s: LoggedSession, v: NonNullable<SessionFilter['visibleTo']>): boolean {
  if (s.user !== null) return s.user === v.user;
  if (s.proto !== 'smtp') return false;
  return (
    s.mailFrom === v.user ||
    (s.helo !== null && v.heloNames.includes(s.helo)) ||
    v.remotes.includes(s.remoteAddress.toLowerCase())
  );
}

export function toSummary(s: LoggedSession, active: boolean): SessionSummary {
  return {
    id: s.id,
    proto: s.proto,
    listener: s.listener,
    localPort: s.localPort,
    remote: s.remoteAddress,
    remotePort: s.remotePort,
    user: s.user,
    tls: s.tls !== null,
    tlsInfo: s.tls,
    start: s.start,
    end: s.end,
    state: s.state,
    active,
    events: s.events,
    closeReason: s.closeReason,
    keyLogged: s.keyLogged,
    helo: s.helo,
    mailFrom: s.mailFrom,
  };
}

/** Newest first, ties by id. */
export function newestFirst(a: SessionSummary, b: SessionSummary): number {
  return b.start - a.start || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0);
}
