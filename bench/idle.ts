/**
 * Idle connections: opens many connections that read the greeting (and, for `pop3-login`, log in;
 * for `imap-idle`, LOGIN, SELECT INBOX and IDLE until the `+` continuation) and then stay silent, so
 * that the server's memory can be measured with them held open.
 *
 * Servers with a process limit (Postfix smtpd: 100 by default) stop greeting new connections: the
 * kernel still completes the TCP handshake into the listen backlog. Opening stops after a full batch
 * of consecutive connections failed to be greeted in time, and the figures count greeted ones only.
 */
import { LineConn } from './conn.js';
import { errorText } from './smtp.js';

export type IdleKind = 'smtp' | 'pop3' | 'pop3-login' | 'imap-idle';

export interface IdleOptions {
  kind: IdleKind;
  host: string;
  port: number;
  count: number;
  /** For pop3-login and imap-idle: connection i logs in as users[i % users.length]. */
  users?: readonly string[];
  password?: string;
  /** Connections being opened at once. */
  concurrency: number;
  /** Per connection: connect + greeting (+ login). */
  timeoutMs: number;
}

export interface IdleResult {
  conns: LineConn[];
  /** Connections opened, greeted (and logged in) and held. */
  held: number;
  attempted: number;
  failed: number;
  errors: Map<string, number>;
  /** Opening stopped early because the server stopped greeting. */
  stoppedEarly: boolean;
  seconds: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

async function openOne(opts: IdleOptions, index: number): Promise<LineConn> {
  let conn: LineConn | null = null;
  const work = async () => {
    conn = await LineConn.connect(opts.host, opts.port, opts.timeoutMs);
    if (opts.kind === 'smtp') {
      for (;;) {
        const line = await conn.readLine();
        if (!line.startsWith('220')) throw new Error(`greeting: ${line.slice(0, 80)}`);
        if (line[3] !== '-') break;
      }
    } else if (opts.kind === 'imap-idle') {
      await imapIdleSession(conn, opts, index);
    } else {
      const line = await conn.readLine();
      if (!line.startsWith('+OK')) throw new Error(`greeting: ${line.slice(0, 80)}`);
      if (opts.kind === 'pop3-login') {
        const users = opts.users ?? [];
        if (users.length === 0) throw new Error('no users to log in as');
        conn.write(`USER ${users[index % users.length]}\r\n`);
        const u = await conn.readLine();
        if (!u.startsWith('+OK')) throw new Error(`USER: ${u.slice(0, 80)}`);
        conn.write(`PASS ${opts.password ?? ''}\r\n`);
        const p = await conn.readLine();
        if (!p.startsWith('+OK')) throw new Error(`PASS: ${p.slice(0, 80)}`);
      }
    }
    return conn;
  };
  try {
    return await withTimeout(work(), opts.timeoutMs, () => (conn as LineConn | null)?.destroy());
  } catch (err) {
    (conn as LineConn | null)?.destroy();
    throw err;
  }
}

/** Greeting, LOGIN, SELECT INBOX, IDLE; returns once the server sent the `+` continuation. */
async function imapIdleSession(conn: LineConn, opts: IdleOptions, index: number): Promise<void> {
  const greeting = await conn.readLine();
  if (!greeting.startsWith('* OK')) throw new Error(`greeting: ${greeting.slice(0, 80)}`);
  const users = opts.users ?? [];
  if (users.length === 0) throw new Error('no users to log in as');
  const tagged = async (tag: string, what: string) => {
    for (;;) {
      const line = await conn.readLine();
      if (!line.startsWith(`${tag} `)) continue; // untagged data (no literals in these responses)
      if (!line.startsWith(`${tag} OK`)) throw new Error(`${what}: ${line.slice(0, 80)}`);
      return;
    }
  };
  conn.write(`a LOGIN "${users[index % users.length]}" "${opts.password ?? ''}"\r\n`);
  await tagged('a', 'LOGIN');
  conn.write('b SELECT INBOX\r\n');
  await tagged('b', 'SELECT');
  conn.write('c IDLE\r\n');
  for (;;) {
    const line = await conn.readLine();
    if (line.startsWith('+')) return;
    if (line.startsWith('c ')) throw new Error(`IDLE: ${line.slice(0, 80)}`);
  }
}

export async function openIdle(opts: IdleOptions): Promise<IdleResult> {
  const result: IdleResult = {
    conns: [],
    held: 0,
    attempted: 0,
    failed: 0,
    errors: new Map(),
    stoppedEarly: false,
    seconds: 0,
  };
  const t0 = performance.now();
  let next = 0;
  let failedInARow = 0;
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency, opts.count) }, async () => {
      while (next < opts.count && !result.stoppedEarly) {
        const i = next++;
        result.attempted++;
        try {
          result.conns.push(await openOne(opts, i));
          result.held++;
          failedInARow = 0;
        } catch (err) {
          result.failed++;
          const key = errorText(err).replace(/\d+ ms/, 'N ms');
          result.errors.set(key, (result.errors.get(key) ?? 0) + 1);
          if (++failedInARow >= opts.concurrency) result.stoppedEarly = true;
        }
      }
    }),
  );
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

export async function closeAll(conns: LineConn[]): Promise<void> {
  // FIN without QUIT: the server sees the client go away, as when a mail client is closed.
  for (let i = 0; i < conns.length; i += 200) await Promise.all(conns.slice(i, i + 200).map((c) => c.close(3000)));
}
