/**
 * Pigeonhole's `sieve-test` (Debian package dovecot-sieve) as the reference Sieve implementation of
 * the differential tests (test/sieve-diff.test.ts), and the one action list both sides are reduced to.
 *
 * - `pigeonholeSkip()` says why the tests cannot run (no `sieve-test` on PATH, or none at
 *   `$SIEVE_TEST` when that names one); in CI (`CI` set, as .ci/run does) a missing `sieve-test` is a
 *   failure, never a skip, like PostgreSQL (postgres.ts).
 * - `preparePigeonhole(corpus, settings)` copies the corpus into a temporary directory (sieve-test writes
 *   compiled `.svbin` files beside every script it compiles, which must not land in the repository),
 *   writes the message files with CRLF line ends and a Dovecot configuration of its own (no system
 *   dovecot.conf is read) with a Maildir holding the mailboxes `settings.mailboxes`, and runs
 *   `sieve-test` with at most `parallel` processes at once. Dovecot refuses mail access as root: run
 *   as root, the directory belongs to `nobody` and sieve-test drops to that user (`mail_uid`).
 * - Both outcomes are reduced to an `Outcome`: a compile error, a runtime error, or a sorted list of
 *   normalised action lines (`store MAILBOX [flags] [create]`, `redirect ADDRESS`, `reject REASON`,
 *   `vacation ...`, `track duplicate`). `discard` is no line: it only means "no store".
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const SIEVE_TEST_PACKAGE = 'dovecot-sieve';

let found: string | null | undefined;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The path of `sieve-test` (`$SIEVE_TEST`, else the first on PATH), or null when there is none. */
export function sieveTestPath(): string | null {
  if (found !== undefined) return found;
  const named = process.env.SIEVE_TEST;
  if (named) {
    found = executable(named) ? named : null;
    return found;
  }
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin']);
  found =
    dirs.map((dir) => path.join(dir, 'sieve-test')).find((file) => file !== 'sieve-test' && executable(file)) ?? null;
  return found;
}

/** Why the differential tests cannot run, or false; throws in CI (see the header). */
export function pigeonholeSkip(): string | false {
  if (sieveTestPath()) return false;
  const reason = `Pigeonhole's sieve-test is not installed: install the Debian package ${SIEVE_TEST_PACKAGE} (apt-get install ${SIEVE_TEST_PACKAGE}) to run the differential Sieve tests`;
  if (process.env.CI) throw new Error(`${reason} (CI needs it; .ci/run installs it)`);
  return reason;
}

// ---------------------------------------------------------------------------------------------
// The normalised outcome

export type Outcome =
  | { kind: 'compile-error'; detail: string }
  | { kind: 'runtime-error'; detail: string }
  | { kind: 'actions'; actions: string[] };

/** Dovecot's str_sanitize: control characters and invalid UTF-8 become '?', longer text ends in "...". */
export function strSanitize(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes && !/[\x00-\x1f]/.test(text)) return text;
  let out = '';
  let used = 0;
  let cut = false;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > maxBytes) {
      cut = true;
      break;
    }
    out += ch.charCodeAt(0) < 32 ? '?' : ch;
    used += size;
  }
  if (!cut) return out;
  while (Buffer.byteLength(out, 'utf8') > maxBytes - 3) out = Array.from(out).slice(0, -1).join('');
  return `${out}...`;
}

const SYSTEM_FLAGS = new Set(['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft']);

/** Flags as one sorted, de-duplicated list; system flags lower case, keywords as written. */
export function normaliseFlags(flags: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const flag of flags) {
    const lower = flag.toLowerCase();
    const shown = SYSTEM_FLAGS.has(lower) ? lower : flag;
    if (!seen.has(lower)) seen.set(lower, shown);
  }
  return [...seen.values()].sort();
}

export function storeLine(mailbox: string, flags: readonly string[], create: boolean): string {
  const list = normaliseFlags(flags);
  return `store ${strSanitize(mailbox, 128)}${list.length ? ` flags=[${list.join(' ')}]` : ''}${create ? ' create' : ''}`;
}

/** An address as `local@domain` with the domain in lower case; a display name and brackets dropped. */
export function normaliseAddress(address: string): string {
  const angle = /<([^<>]*)>\s*$/.exec(address);
  const bare = (angle ? angle[1] : address).trim();
  const at = bare.lastIndexOf('@');
  return at < 0 ? bare : `${bare.slice(0, at)}@${bare.slice(at + 1).toLowerCase()}`;
}

export function redirectLine(address: string): string {
  return `redirect ${normaliseAddress(address)}`;
}

export function rejectLine(reason: string): string {
  return `reject ${strSanitize(reason, 128)}`;
}

export interface VacationFacts {
  to: string;
  seconds: number;
  subject: string | null;
  from: string | null;
  reason: string;
  /** The original's Message-ID the reply refers to, or null. */
  inReplyTo: string | null;
}

export function vacationLine(v: VacationFacts): string {
  const reason = v.reason.replace(/\r\n/g, '\n').replace(/\n+$/, '');
  return [
    `vacation to=${normaliseAddress(v.to)}`,
    `seconds=${v.seconds}`,
    `subject=${v.subject === null ? '(default)' : JSON.stringify(v.subject)}`,
    `from=${v.from === null ? '(default)' : JSON.stringify(v.from)}`,
    `reason=${JSON.stringify(reason)}`,
    `in-reply-to=${v.inReplyTo === null ? '(none)' : v.inReplyTo.trim()}`,
  ].join(' ');
}

export function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'actions' || b.kind !== 'actions') return true;
  return a.actions.length === b.actions.length && a.actions.every((line, i) => line === b.actions[i]);
}

export function describeOutcome(o: Outcome): string {
  if (o.kind !== 'actions') return `${o.kind}: ${o.detail}`;
  return o.actions.length === 0 ? '(no actions: discarded)' : o.actions.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Parsing sieve-test's output

/** What `sieve-test` (without -e) printed for one run, before the vacation decision is known. */
export interface SieveTestRun {
  outcome: Outcome;
  /** The vacation action of the result, when there was one (its decision needs an `-e` run). */
  vacation: Omit<VacationFacts, 'to' | 'inReplyTo'> | null;
}

/**
 * Reads the result sieve-test prints (sieve-result.c `sieve_result_print`): "Performed actions:"
 * then "Implicit keep:", each a list of ` * action` lines with `        + side effect` lines.
 * Throws on a line it does not know, so a corpus case that makes Pigeonhole print something new is
 * noticed instead of compared wrongly.
 */
export function parseSieveTest(stdout: string, stderr: string, status: number | null): SieveTestRun {
  // The lines that say what went wrong: "<script>: line N: error: ..." and "sieve-test: Fatal: ...".
  const errors = stderr
    .split('\n')
    .filter((l) => /\berror:|Fatal:/.test(l))
    .join('\n');
  if (/Fatal: failed to compile sieve script/.test(stderr)) {
    return { outcome: { kind: 'compile-error', detail: errors }, vacation: null };
  }
  if (/final result: (failed|temporary failure|utter failure)/.test(stderr)) {
    return { outcome: { kind: 'runtime-error', detail: errors }, vacation: null };
  }
  if (!stdout.includes('Performed actions:')) {
    throw new Error(`sieve-test printed no result (exit ${status}):\n${stdout}\n${stderr}`);
  }
  const lines = stdout.replace(/\r\n/g, '\n').split('\n');
  const actions: string[] = [];
  let vacation: SieveTestRun['vacation'] = null;
  let section: 'none' | 'performed' | 'implicit' = 'none';
  /** The store action whose side effects are being read. */
  let store: { mailbox: string; flags: string[]; create: boolean } | null = null;
  const flush = () => {
    if (store) actions.push(storeLine(store.mailbox, store.flags, store.create));
    store = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === 'Performed actions:' || line === 'Implicit keep:') {
      flush();
      section = line === 'Performed actions:' ? 'performed' : 'implicit';
      continue;
    }
    if (line.trim() === '' || section === 'none') continue;
    if (line === '  (none)' || line === '  (none; keep or equivalent action executed earlier)') continue;
    const stored = /^ \* store message in folder: (.*)$/.exec(line);
    const flagged = /^ {8}\+ add IMAP flags:(.*)$/.exec(line);
    const redirected = /^ \* redirect message to: (.*)$/.exec(line);
    const rejected = /^ \* reject message with reason: (.*)$/.exec(line);
    if (stored) {
      flush();
      store = { mailbox: stored[1], flags: [], create: false };
    } else if (flagged) {
      if (!store) throw new Error(`flags without a store action: ${line}`);
      store.flags.push(...flagged[1].split(' ').filter(Boolean));
    } else if (/^ {8}\+ create mailbox if it does not exist$/.test(line)) {
      if (!store) throw new Error(`:create without a store action: ${line}`);
      store.create = true;
    } else if (/^ {8}\+ preserve implicit keep$/.test(line)) {
      // :copy; its effect is the implicit keep that stays in the list.
    } else if (redirected) {
      flush();
      actions.push(redirectLine(redirected[1]));
    } else if (rejected) {
      flush();
      actions.push(`reject ${rejected[1]}`);
    } else if (/^ \* reject message without sending a response \(discard\)$/.test(line)) {
      flush();
    } else if (/^ \* discard$/.test(line)) {
      flush();
    } else if (/^ \* track( last)? duplicate( with handle: .*)?$/.test(line)) {
      flush();
      actions.push('track duplicate');
    } else if (/^ \* send vacation message:$/.test(line)) {
      flush();
      const v: NonNullable<SieveTestRun['vacation']> = { seconds: 0, subject: null, from: null, reason: '' };
      let j = i + 1;
      for (; j < lines.length && lines[j].startsWith('    => '); j++) {
        const field = /^ {4}=> (\w+)\s*: (.*)$/.exec(lines[j]);
        if (!field) throw new Error(`unknown vacation field: ${lines[j]}`);
        if (field[1] === 'seconds') v.seconds = Number(field[2]);
        else if (field[1] === 'subject') v.subject = field[2];
        else if (field[1] === 'from') v.from = field[2];
      }
      // A blank line, START MESSAGE, the reason, END MESSAGE.
      while (j < lines.length && lines[j] !== 'START MESSAGE') j++;
      const end = lines.indexOf('END MESSAGE', j + 1);
      if (end < 0) throw new Error('vacation message without END MESSAGE');
      v.reason = lines.slice(j + 1, end).join('\n');
      vacation = v;
      i = end;
    } else {
      throw new Error(`unknown sieve-test result line: ${JSON.stringify(line)}`);
    }
  }
  flush();
  return { outcome: { kind: 'actions', actions: actions.sort() }, vacation };
}

/**
 * What an `-e` run did with the vacation reply (cmd-vacation.c `act_vacation_commit`): the address it
 * was sent to and the In-Reply-To of the reply sieve-test printed, or null when it was not sent.
 */
export function parseVacationReply(stdout: string, stderr: string): { to: string; inReplyTo: string | null } | null {
  const output = `${stdout}\n${stderr}`;
  const sent = /sent vacation response to <([^>]*)>/.exec(output);
  if (sent) {
    const inReplyTo = /^In-Reply-To: (.*?)\r?$/im.exec(stdout);
    return { to: sent[1], inReplyTo: inReplyTo ? inReplyTo[1] : null };
  }
  if (
    /discard(ed|ing) (duplicate )?vacation (reply|response)|not sending vacation (reply|response)|vacation action aborted/.test(
      output,
    )
  ) {
    return null;
  }
  throw new Error(`sieve-test -e said nothing about the vacation reply:\n${output}`);
}

// ---------------------------------------------------------------------------------------------
// Running sieve-test

export interface PigeonholeEnvelope {
  from: string;
  to: string;
}

export interface Pigeonhole {
  /** The temporary copy of the corpus (scripts in `cases/`, `personal/`, `global/`, CRLF messages). */
  dir: string;
  /** Runs `script` (a path inside `dir`) on `message`; `-e` executes the actions (for vacation). */
  run(script: string, message: string, envelope: PigeonholeEnvelope, execute?: boolean): Promise<RawRun>;
  close(): void;
}

export interface RawRun {
  stdout: string;
  stderr: string;
  status: number | null;
}

export interface PigeonholeSettings {
  /** Most actions and redirects of one run (sieve_max_actions, sieve_max_redirects). */
  maxActions: number;
  maxRedirects: number;
  /** The site's shortest and longest vacation periods (sieve_vacation_min_period, _max_period). */
  vacationMinSeconds: number;
  vacationMaxSeconds: number;
  /** Most concurrent sieve-test processes. */
  parallel: number;
  /** The mailboxes that exist in the Maildir sieve-test sees (for `mailboxexists`). */
  mailboxes: readonly string[];
}

/** The file `sieve-test -c` reads: only what the corpus needs; no system dovecot.conf. */
function dovecotConf(dir: string, settings: PigeonholeSettings, owner: Owner | null): string {
  return [
    '# Written by test/harness/pigeonhole.ts for the differential Sieve tests.',
    // Dovecot refuses mail access as root: as root, sieve-test drops to the owner of the directory.
    ...(owner ? [`mail_uid = ${owner.uid}`, `mail_gid = ${owner.gid}`] : []),
    `mail_location = maildir:${path.join(dir, 'mail')}`,
    'ssl = no',
    'log_path = /dev/stderr',
    'info_log_path = /dev/stderr',
    `base_dir = ${path.join(dir, 'run')}`,
    'plugin {',
    `  sieve = file:${path.join(dir, 'personal')};active=${path.join(dir, 'personal', '.active')}`,
    `  sieve_global = file:${path.join(dir, 'global')}`,
    '  sieve_extensions = +vacation-seconds',
    `  sieve_vacation_min_period = ${settings.vacationMinSeconds}s`,
    `  sieve_vacation_max_period = ${settings.vacationMaxSeconds}s`,
    `  sieve_max_actions = ${settings.maxActions}`,
    `  sieve_max_redirects = ${settings.maxRedirects}`,
    '}',
    '',
  ].join('\n');
}

interface Owner {
  uid: number;
  gid: number;
}

/** As root: the user `nobody`, who will own the temporary corpus and run sieve-test. */
function unprivilegedOwner(): Owner | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) {
    throw new Error('sieve-test cannot run as root and there is no user "nobody" to run it as');
  }
  return { uid, gid };
}

function chownTree(target: string, owner: Owner): void {
  chownSync(target, owner.uid, owner.gid);
  if (!statSync(target).isDirectory()) return;
  for (const name of readdirSync(target)) chownTree(path.join(target, name), owner);
}

export function preparePigeonhole(corpus: string, settings: PigeonholeSettings): Pigeonhole {
  const bin = sieveTestPath();
  if (!bin) throw new Error(pigeonholeSkip() || 'sieve-test not found');
  const dir = mkdtempSync(path.join(tmpdir(), 'postbode-sieve-diff-'));
  for (const sub of ['cases', 'personal', 'global'])
    cpSync(path.join(corpus, sub), path.join(dir, sub), { recursive: true });
  cpSync(path.join(corpus, 'messages'), path.join(dir, 'messages'), { recursive: true });
  for (const name of readdirSync(path.join(dir, 'messages'))) {
    const file = path.join(dir, 'messages', name);
    writeFileSync(file, crlf(readFileSync(file)));
  }
  mkdirSync(path.join(dir, 'run'));
  for (const mailbox of settings.mailboxes) {
    const folder = path.join(dir, 'mail', mailbox === 'INBOX' ? '' : `.${mailbox.replaceAll('/', '.')}`);
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(folder, sub), { recursive: true });
  }
  const conf = path.join(dir, 'dovecot.conf');
  const owner = unprivilegedOwner();
  writeFileSync(conf, dovecotConf(dir, settings, owner));
  if (owner) chownTree(dir, owner);

  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    if (running >= settings.parallel) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
  };
  const release = () => {
    running--;
    waiting.shift()?.();
  };

  return {
    dir,
    async run(script, message, envelope, execute = false) {
      const args = ['-c', conf, '-C'];
      if (execute) args.push('-e');
      // An empty -f is the null sender <>.
      args.push('-f', envelope.from === '' ? '<>' : envelope.from, '-a', envelope.to, '-r', envelope.to);
      args.push(path.join(dir, script), path.join(dir, message));
      await slot();
      try {
        return await new Promise<RawRun>((resolve, reject) => {
          const child = spawn(bin, args, { env: { ...process.env, TZ: 'UTC', LANG: 'C.UTF-8' } });
          const out: Buffer[] = [];
          const err: Buffer[] = [];
          child.stdout.on('data', (b: Buffer) => out.push(b));
          child.stderr.on('data', (b: Buffer) => err.push(b));
          child.on('error', reject);
          child.on('close', (status) =>
            resolve({
              stdout: Buffer.concat(out).toString('utf8'),
              stderr: Buffer.concat(err).toString('utf8'),
              status,
            }),
          );
        });
      } finally {
        release();
      }
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** LF line ends to CRLF (lines already ending in CRLF stay as they are). */
export function crlf(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
