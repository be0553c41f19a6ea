/**
 * Resetting a class: deleting a batch of lab (student) accounts with their mail, their session history
 * and their exercise progress, after a confirmation that says what goes. Used by the web lab's admin
 * API (`POST /api/class-reset/preview`, `POST /api/class-reset`) and by `postbode classroom reset`.
 *
 * Invariants:
 * - Two steps: `planClassReset` picks the accounts (a pattern, `*` for all) and counts what would go,
 *   changing nothing; `resetClass` deletes exactly the addresses it is given (those the teacher saw and
 *   confirmed), never one the pattern would match now but the preview did not show.
 * - Only mail accounts are touched. Admins are other accounts (`Store.admins`) and are never deleted;
 *   nor are domains, aliases or the outbound queue.
 * - A student's sessions are those the web lab shows them (recorder/access.ts): the sessions in which
 *   they logged in, and port-25 sessions without a login whose MAIL FROM is their address or whose
 *   HELO/EHLO is their address, or its local part when no account outside the batch has that local
 *   part. Sessions counted for someone only by the web address they used are not theirs here (that
 *   address may be shared). Sessions still open are kept (the recorder is still writing them) and
 *   counted apart.
 * - Exercise progress rows go by student (`exerciseProgress.clear`); mail goes with the account.
 */
import type { Account, Store } from '../store/types.js';

/** Sessions read per page while collecting a student's sessions. */
const PAGE = 500;

/** What resetting one account deletes. */
export interface ClassResetAccount {
  address: string;
  /** Messages in all its mailboxes. */
  messages: number;
  /** Bytes of those messages. */
  bytes: number;
  /** Closed sessions of the lab history that are theirs. */
  sessions: number;
  /** Exercises ticked for them. */
  exercises: number;
}

export interface ClassResetPlan {
  accounts: ClassResetAccount[];
  totals: { accounts: number; messages: number; bytes: number; sessions: number; exercises: number };
  /** Sessions of these students still open: kept. */
  openSessions: number;
  /** The ids of the closed sessions that go. */
  sessionIds: string[];
}

export class ClassResetError extends Error {
  override name = 'ClassResetError';
}

/**
 * A pattern of addresses as a test: `*` stands for any characters, `?` for one; the whole address is
 * compared, ignoring case. `*` alone is every mail account.
 */
export function accountPattern(pattern: string): (address: string) => boolean {
  const p = pattern.trim().toLowerCase();
  if (p === '') {
    throw new ClassResetError('give the accounts to delete as a pattern, e.g. student*@class.example (* for all)');
  }
  if (p.length > 320) throw new ClassResetError('the account pattern is too long (at most 320 characters)');
  const source = p
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`);
  return (address) => re.test(address.toLowerCase());
}

/** The accounts a pattern picks, sorted by address. */
export async function accountsMatching(store: Store, pattern: string): Promise<Account[]> {
  const test = accountPattern(pattern);
  return (await store.accounts.list()).filter((a) => test(a.address)).sort(byAddress);
}

const byAddress = (a: Account, b: Account) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);
const localPart = (address: string) => address.slice(0, address.lastIndexOf('@'));

/** What deleting `accounts` (all existing) would delete; changes nothing. */
async function plan(store: Store, accounts: Account[]): Promise<ClassResetPlan> {
  const all = await store.accounts.list();
  const batch = new Set(accounts.map((a) => a.address));
  const localsOutside = new Set(all.filter((a) => !batch.has(a.address)).map((a) => localPart(a.address)));
  const seen = new Set<string>();
  const sessionIds: string[] = [];
  let openSessions = 0;
  const out: ClassResetAccount[] = [];
  for (const account of accounts) {
    let messages = 0;
    for (const mailbox of await store.mailboxes.list(account.id)) {
      messages += (await store.mailboxes.status(mailbox.id)).messages;
    }
    const local = localPart(account.address);
    const heloNames = localsOutside.has(local) ? [account.address] : [account.address, local];
    let sessions = 0;
    let before: number | undefined;
    for (;;) {
      const page = await store.sessionLog.list({
        visibleTo: { user: account.address, heloNames, remotes: [] },
        limit: PAGE,
        ...(before !== undefined ? { before } : {}),
      });
      let fresh = 0;
      for (const s of page) {
        if (seen.has(s.id)) continue;
        seen.add(s.id);
        fresh++;
        if (s.end === null) openSessions++;
        else {
          sessionIds.push(s.id);
          sessions++;
        }
      }
      if (page.length < PAGE || fresh === 0) break;
      // Sessions that started in the same millisecond as the last one are read again and skipped.
      before = page[page.length - 1].start + 1;
    }
    const exercises = (await store.exerciseProgress.list({ student: account.address })).length;
    out.push({
      address: account.address,
      messages,
      bytes: await store.accounts.usage(account.id),
      sessions,
      exercises,
    });
  }
  const sum = (k: 'messages' | 'bytes' | 'sessions' | 'exercises') => out.reduce((n, a) => n + a[k], 0);
  return {
    accounts: out,
    totals: {
      accounts: out.length,
      messages: sum('messages'),
      bytes: sum('bytes'),
      sessions: sum('sessions'),
      exercises: sum('exercises'),
    },
    openSessions,
    sessionIds,
  };
}

/** What resetting the accounts `pattern` picks would delete (see the header); changes nothing. */
export async function planClassReset(store: Store, pattern: string): Promise<ClassResetPlan> {
  return plan(store, await accountsMatching(store, pattern));
}

/**
 * Deletes exactly `addresses` (those that still exist; others are left out of the result), with their
 * mail, their closed sessions and their exercise progress. Returns what was deleted.
 */
export async function resetClass(store: Store, addresses: readonly string[]): Promise<ClassResetPlan> {
  const wanted = new Set(addresses.map((a) => a.trim().toLowerCase()));
  const accounts = (await store.accounts.list()).filter((a) => wanted.has(a.address)).sort(byAddress);
  const p = await plan(store, accounts);
  // The history before the accounts: if this stops halfway, the same pattern still finds what is left.
  await store.sessionLog.delete(p.sessionIds);
  for (const a of accounts) {
    await store.exerciseProgress.clear(a.address);
    await store.accounts.delete(a.address);
  }
  return p;
}

/** `n thing(s)` */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Bytes for people: 1.2 MB, 512 B. */
export function humanBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** One sentence with the counts, as the CLI and the web lab say it before and after. */
export function describePlan(p: ClassResetPlan): string {
  const t = p.totals;
  const kept =
    p.openSessions > 0
      ? `; ${plural(p.openSessions, 'session')} still open ${p.openSessions === 1 ? 'is' : 'are'} kept`
      : '';
  return (
    `${plural(t.accounts, 'account')}, ${plural(t.messages, 'message')} (${humanBytes(t.bytes)}), ` +
    `${plural(t.sessions, 'session')} of the lab history and ${plural(t.exercises, 'exercise tick')}${kept}`
  );
}
