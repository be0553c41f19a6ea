/**
 * Access: who may see which session, and the shape a session is shown in (the API's SessionSummary).
 *
 * Invariants:
 * - Admins see every session; a mail user only those where they authenticated as themselves (an
 *   `auth` event with ok = true for their address, which sets the session's `user`).
 * - A user's list is filtered on that user whatever filter they ask for; asking for someone else's
 *   sessions gives nothing, not an error.
 */
import type { LoggedSession, SessionFilter } from '../../store/types.js';
import type { SessionSummary } from '../api-types.js';

/** Who asks: admins see every session, users only their own. */
export interface Viewer {
  role: 'admin' | 'user';
  name: string;
}

/** Whether `viewer` may see a session of `user` (null: nobody authenticated). */
export function maySee(viewer: Viewer, user: string | null): boolean {
  return viewer.role === 'admin' || (user !== null && user === viewer.name.toLowerCase());
}

/**
 * The filter a list request of `viewer` runs with (the limit clamped to 1..1000, default 200), or null
 * when it can match nothing the viewer may see.
 */
export function viewerFilter(viewer: Viewer, filter: SessionFilter): (SessionFilter & { limit: number }) | null {
  const limit = Math.max(1, Math.min(filter.limit ?? 200, 1000));
  const f = { ...filter, limit };
  if (viewer.role !== 'admin') {
    if (f.user && f.user.toLowerCase() !== viewer.name.toLowerCase()) return null;
    f.user = viewer.name.toLowerCase();
  }
  return f;
}

/** Whether a live session matches a list filter (the store applies the same to the history). */
export function matches(s: LoggedSession, f: SessionFilter): boolean {
  if (f.proto && s.proto !== f.proto) return false;
  if (f.user && s.user !== f.user.toLowerCase()) return false;
  if (f.remote && !s.remoteAddress.startsWith(f.remote)) return false;
  if (f.before !== undefined && s.start >= f.before) return false;
  return true;
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
  };
}

/** Newest first, ties by id. */
export function newestFirst(a: SessionSummary, b: SessionSummary): number {
  return b.start - a.start || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0);
}
