/**
 * Retry timing for the outbound queue.
 *
 * Invariants:
 * - The delay after the n-th failed attempt (n ≥ 1) is `schedule[n-1]`, and the last value once the
 *   table is exhausted (1 min, 5, 15, 30 min, 1 h, 2 h, 4 h, then every 4 h).
 * - An entry lives `lifetimeMs` (default 5 days, RFC 5321 §4.5.4.1 "at least 4-5 days") from its
 *   creation. The next attempt is never scheduled after the expiry time, so the last attempt happens at
 *   expiry; after an attempt at or past expiry the still-pending recipients are failed as "expired".
 */

const MINUTE = 60_000;

export const DEFAULT_SCHEDULE_MS: readonly number[] = [1, 5, 15, 30, 60, 120, 240].map((m) => m * MINUTE);
export const DEFAULT_LIFETIME_MS = 5 * 24 * 60 * MINUTE;

export interface BackoffOptions {
  scheduleMs?: readonly number[];
  lifetimeMs?: number;
}

/** The delay after `failedAttempts` failed attempts (1 = the first attempt failed). */
export function retryDelay(failedAttempts: number, schedule: readonly number[] = DEFAULT_SCHEDULE_MS): number {
  if (schedule.length === 0) throw new Error('empty backoff schedule');
  const i = Math.min(Math.max(failedAttempts, 1), schedule.length) - 1;
  return schedule[i];
}

export type NextAttempt = { expired: false; at: Date } | { expired: true };

/**
 * What happens to the pending recipients of an entry after an attempt at `now` that left some pending.
 * `entry.attempts` is the entry's attempt count before this attempt.
 */
export function nextAttempt(
  entry: { createdAt: Date; attempts: number },
  now: Date,
  opts: BackoffOptions = {},
): NextAttempt {
  const lifetime = opts.lifetimeMs ?? DEFAULT_LIFETIME_MS;
  const expiresAt = entry.createdAt.getTime() + lifetime;
  if (now.getTime() >= expiresAt) return { expired: true };
  const delay = retryDelay(entry.attempts + 1, opts.scheduleMs);
  return { expired: false, at: new Date(Math.min(now.getTime() + delay, expiresAt)) };
}
