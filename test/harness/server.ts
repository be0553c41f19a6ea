/**
 * Starts a real postbode server process (the built `bin/postbode.js`) on ephemeral loopback ports
 * with its own temporary data directory, and runs CLI commands against the same data directory.
 * The store is the data dir's SQLite database, or with POSTBODE_TEST_STORE=postgresql a PostgreSQL
 * schema of that data dir (harness/store.ts); an explicit `--store` in the arguments wins, and
 * `pb.cli` runs on the store of its server.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { generateSelfSigned } from '../../src/net/tls.js';
import { storeArgs } from './store.js';

/**
 * Servers started by this file's tests and still running. A test that fails before it stops its server
 * would leave the child running, and a live child keeps the test file from ending (its output pipes):
 * when the file's tests are done, whatever is left is killed. Only under the test runner (a script that
 * imports the harness, e.g. scripts/classroom-screenshots.ts, stops its own servers).
 */
const live = new Set<ChildProcess>();
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin/postbode.js');

/**
 * The suites log in with short passwords ("pw", "secret"): the servers and the CLI runs of this harness
 * accept passwords of any length. The default minimum (auth.min_password_length) is tested by
 * test/cli.test.ts with the CLI alone (runCli), which keeps the default. The CLI runs hash the passwords
 * they set at the servers' cheap cost (auth.scrypt_log_n = 10, below), so that neither `user add` nor
 * the first login pays the default cost.
 */
const SHORT_PASSWORDS = '--set auth.min_password_length=1';
let cliConfigFile: string | null = null;

/** The environment for CLI runs on a harness server: its settings for the CLI (short passwords). */
export function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, POSTBODE_CONFIG: cliConfig() };
}

/** A config file for `pb.cli` (given as $POSTBODE_CONFIG) with the harness's settings for the CLI. */
function cliConfig(): string {
  if (cliConfigFile === null) {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'postbode-harness-')), 'cli.toml');
    writeFileSync(file, '[auth]\nmin_password_length = 1\nscrypt_log_n = 10\n');
    cliConfigFile = file;
  }
  return cliConfigFile;
}

export interface ServerOptions {
  hostname?: string;
  domains?: string[];
  /** Listener names to start on 127.0.0.1:0 (default smtp, submission, submissions, pop3, pop3s, imap, imaps; managesieve and http only when named). */
  listeners?: string[];
  extraArgs?: string[];
  dataDir?: string;
  /**
   * Run the outbound queue worker (default false: tests never reach real DNS or hosts; remote mail
   * stays in the queue for inspection). Turn it on with a transport map to loopback servers.
   */
  outbound?: boolean;
  /** Extra environment variables for the server process (e.g. NODE_EXTRA_CA_CERTS). */
  env?: Record<string, string>;
}

export interface PostbodeProcess {
  dataDir: string;
  ports: Record<string, number>;
  child: ChildProcess;
  /** JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  /** The `--store URL` of the server's store for CLI runs a test spawns itself (empty: the data dir's). */
  store: string[];
  cli(args: string[], input?: string): { code: number; stdout: string; stderr: string };
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/**
 * The self-signed certificates (tls/cert.pem, tls/key.pem) of this test process's servers, by hostname.
 * Generating an RSA key costs a server start about a third of a second of CPU: the first server of the
 * process generates its certificate itself, and its key is then reused. A data dir without a tls/
 * directory gets, before its server starts, the certificate of its hostname, made for that key in this
 * process when no server had that hostname yet. Each node still has its own tls/ (it is not among the
 * key files nodes share, server/node-keys.ts), and a server takes the files only when they match its
 * hostname.
 */
const certificates = new Map<string, { cert: string; key: string }>();
let sharedKey: { privateKey: string; publicKey: string } | null = null;

async function seedCertificate(dataDir: string, hostname: string): Promise<void> {
  const dir = path.join(dataDir, 'tls');
  // A data dir the server is to create is left to it (it makes it 0700); one with a tls/ keeps it.
  if (!existsSync(dataDir) || existsSync(dir)) return;
  let known = certificates.get(hostname);
  if (!known && sharedKey) {
    known = await generateSelfSigned(hostname, sharedKey);
    certificates.set(hostname, known);
  }
  if (!known) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'key.pem'), known.key, { mode: 0o600 });
  writeFileSync(path.join(dir, 'cert.pem'), known.cert);
}

function rememberCertificate(dataDir: string, hostname: string): void {
  const certFile = path.join(dataDir, 'tls', 'cert.pem');
  const keyFile = path.join(dataDir, 'tls', 'key.pem');
  if (certificates.has(hostname) || !existsSync(certFile) || !existsSync(keyFile)) return;
  const cert = readFileSync(certFile, 'utf8');
  if (!new X509Certificate(cert).checkHost(hostname)) return;
  const key = readFileSync(keyFile, 'utf8');
  certificates.set(hostname, { cert, key });
  if (!sharedKey) {
    const privateKey = createPrivateKey(key);
    sharedKey = {
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    };
  }
}

const DEFAULT_LISTENERS = ['smtp', 'submission', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps'];

/** How long a test server may take to print its "started" line. */
const START_TIMEOUT_MS = 60_000;

export async function startPostbode(opts: ServerOptions = {}): Promise<PostbodeProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'postbode-test-'));
  const hostname = opts.hostname ?? 'mx.example.test';
  await seedCertificate(dataDir, hostname);
  const domains = opts.domains ?? ['example.test'];
  const listeners = opts.listeners ?? DEFAULT_LISTENERS;
  const args = [BIN, 'serve', '--data-dir', dataDir, '--hostname', hostname];
  for (const d of domains) args.push('--domain', d);
  for (const name of ['smtp', 'submission', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps', 'managesieve', 'http']) {
    args.push('--listen', listeners.includes(name) ? `${name}=127.0.0.1:0` : `${name}=off`);
  }
  // Cheap password hashes keep the suite fast; production uses the default cost.
  args.push('--set', 'auth.scrypt_log_n=10');
  args.push(...SHORT_PASSWORDS.split(' '));
  if (!opts.outbound) args.push('--set', 'delivery.enabled=false');
  args.push(...(opts.extraArgs ?? []));
  // The server's store: the test store of its data dir unless the test names one (the CLI runs use it too).
  const at = args.indexOf('--store');
  const store = at >= 0 ? args.slice(at, at + 2) : storeArgs(dataDir);
  if (at < 0) args.push(...store);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    // Generous: on a loaded 2-core CI machine three nodes starting at once (schema migration under an
    // advisory lock, TLS key generation) have taken over 15 s. A server that does not start is killed,
    // so that it cannot outlive its test and keep the test file from ending.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${START_TIMEOUT_MS / 1000} s: ${stderr}`));
    }, START_TIMEOUT_MS);
    rl.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'postbode started') {
        clearTimeout(timer);
        const result: Record<string, number> = {};
        for (const item of entry.listeners as string[]) {
          const [name, addr] = item.split('=');
          result[name] = Number(addr.slice(addr.lastIndexOf(':') + 1));
        }
        resolve(result);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it started: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  rememberCertificate(dataDir, hostname);
  return {
    dataDir,
    ports,
    child,
    logs,
    store,
    cli(cliArgs, input) {
      const all = [...cliArgs, '--data-dir', dataDir, ...(cliArgs.includes('--store') ? [] : store)];
      const r = spawnSync(process.execPath, [BIN, ...all], {
        input: input ?? '',
        encoding: 'utf8',
        env: cliEnv(),
      });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Runs the CLI alone, exactly with `args` (its store is the one they name: the tests of the CLI on a
 * data dir use its SQLite database under either switch; add `storeArgs(dir)` for the test store).
 */
export function runCli(args: string[], input = ''): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
