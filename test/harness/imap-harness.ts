/**
 * Test support for the IMAP engine: a real listener (NetServer on 127.0.0.1:0) over a real store (SQLite
 * in a temporary directory, or a PostgreSQL schema with POSTBODE_TEST_STORE=postgresql: harness/store.ts),
 * with the real AuthService, plus a raw IMAP client that sends tagged commands and collects the untagged
 * responses up to the tagged one. Used by src/imap/*.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { SecretBox } from '../../src/auth/secret.js';
import { AuthService } from '../../src/auth/service.js';
import { type ImapSettings, imapHandler } from '../../src/imap/index.js';
import { silentLogger } from '../../src/log.js';
import { parseMessage } from '../../src/mail/parse.js';
import { NetServer } from '../../src/net/listener.js';
import { generateSelfSigned } from '../../src/net/tls.js';
import type { JsonValue, Store } from '../../src/store/types.js';
import { TraceBus } from '../../src/trace/bus.js';
import { openTestStore } from './store.js';

let secureContext: Promise<tls.SecureContext> | null = null;
function tlsContext(): Promise<tls.SecureContext> {
  secureContext ??= generateSelfSigned('localhost').then(({ cert, key }) => tls.createSecureContext({ cert, key }));
  return secureContext;
}

export interface ImapHarness {
  port: number;
  tlsPort: number;
  store: Store;
  bus: TraceBus;
  dataDir: string;
  /** Creates an account (and its domain); returns its id. */
  account(address: string, password: string): Promise<number>;
  /** Delivers a message as SMTP would, into a mailbox of an account (default INBOX); returns the UID. */
  deliver(accountId: number, raw: string | Buffer, mailbox?: string): Promise<number>;
  /** A logged-in client (or not logged in, with `login: false`). */
  connect(opts?: { user?: string; password?: string; login?: boolean; tls?: boolean }): Promise<ImapTestClient>;
  stop(): Promise<void>;
}

export async function startImap(
  opts: { settings?: Partial<ImapSettings>; plaintextNetworks?: string[] } = {},
): Promise<ImapHarness> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-imap-'));
  const store = await openTestStore({ dataDir });
  const auth = new AuthService(store, {
    secretBox: SecretBox.open(dataDir),
    plaintextNetworks: opts.plaintextNetworks ?? ['127.0.0.0/8', '::1/128'],
    scryptLogN: 4,
    apop: false,
  });
  const ctx = await tlsContext();
  const bus = new TraceBus();
  const log = silentLogger();
  const server = new NetServer({
    bus,
    log,
    limits: { connectionsPerIp: 1000, maxConnections: 1000 },
    tlsContext: () => ctx,
  });
  const settings: ImapSettings = {
    hostname: 'imap.example.test',
    version: '9.9.9',
    showVersion: true,
    strict: false,
    idleTimeoutMs: 60_000,
    maxLineLength: 65536,
    maxMessageSize: 10 * 1024 * 1024,
    maxErrors: 50,
    maxAuthFailures: 3,
    tlsContext: () => ctx,
    ...opts.settings,
  };
  const handler = imapHandler(settings, { auth, store }, log);
  const plain = await server.listen({ name: 'imap', host: '127.0.0.1', port: 0, implicitTls: false, handler });
  const secure = await server.listen({ name: 'imaps', host: '127.0.0.1', port: 0, implicitTls: true, handler });
  const clients: ImapTestClient[] = [];
  return {
    port: plain.port,
    tlsPort: secure.port,
    store,
    bus,
    dataDir,
    async account(address, password) {
      await store.domains.add(address.split('@')[1]);
      const account = await store.accounts.create({ address, ...(await auth.passwordFields(password)) });
      return account.id;
    },
    async deliver(accountId, raw, mailbox = 'INBOX') {
      const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      const result = await store.deliver({
        raw: bytes,
        meta: parseMessage(bytes) as unknown as JsonValue,
        local: [{ accountId, mailbox }],
      });
      return result.local[0].uid;
    },
    async connect(c = {}) {
      const client = await ImapTestClient.connect(c.tls ? secure.port : plain.port, { tls: c.tls });
      clients.push(client);
      await client.greeting();
      if (c.login !== false) {
        const r = await client.cmd(`LOGIN ${c.user ?? 'alice@example.test'} ${c.password ?? 'pw'}`);
        if (r.status !== 'OK') throw new Error(`login failed: ${r.tagged}`);
      }
      return client;
    },
    async stop() {
      for (const c of clients) c.close();
      await server.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ImapReply {
  /** Untagged and continuation lines before the tagged one (literals inlined as received). */
  untagged: string[];
  tagged: string;
  status: 'OK' | 'NO' | 'BAD' | string;
}

/** A raw IMAP client: `cmd('SELECT INBOX')` adds a tag, sends, and returns everything up to the tagged reply. */
export class ImapTestClient {
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #closed = false;
  #tag = 0;

  private constructor(public socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<ImapTestClient> {
    const socket = opts.tls
      ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new ImapTestClient(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #wait(ms: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`timeout; buffered: ${JSON.stringify(this.#buf.toString('latin1'))}`)),
        ms,
      );
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * One response line; a literal `{n}` at its end is read and appended (with its CRLF) together with
   * the rest of the line, so a FETCH with literals comes back as one string.
   */
  async line(ms = 5000): Promise<string> {
    let out = '';
    for (;;) {
      const nl = this.#buf.indexOf('\r\n');
      if (nl < 0) {
        if (this.#closed)
          throw new Error(`connection closed; buffered: ${JSON.stringify(this.#buf.toString('latin1'))}`);
        await this.#wait(ms);
        continue;
      }
      const text = this.#buf.subarray(0, nl).toString('utf8');
      const m = /~?\{(\d+)\}$/.exec(text);
      if (!m) {
        this.#buf = this.#buf.subarray(nl + 2);
        return out + text;
      }
      const size = Number(m[1]);
      while (this.#buf.length < nl + 2 + size) {
        if (this.#closed) throw new Error('connection closed in a literal');
        await this.#wait(ms);
      }
      out += `${text}\r\n${this.#buf.subarray(nl + 2, nl + 2 + size).toString('utf8')}`;
      this.#buf = this.#buf.subarray(nl + 2 + size);
    }
  }

  async greeting(): Promise<string> {
    return this.line();
  }

  nextTag(): string {
    return `t${++this.#tag}`;
  }

  /** Sends raw bytes (for literals, pipelining, garbage). */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Reads until the tagged response with `tag`. */
  async until(tag: string, ms = 5000): Promise<ImapReply> {
    const untagged: string[] = [];
    for (;;) {
      const line = await this.line(ms);
      if (line.startsWith(`${tag} `)) {
        return { untagged, tagged: line, status: line.slice(tag.length + 1).split(' ')[0] };
      }
      untagged.push(line);
    }
  }

  /** Sends `TAG command` and returns everything up to the tagged response. */
  async cmd(command: string, ms = 5000): Promise<ImapReply> {
    const tag = this.nextTag();
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag, ms);
  }

  /** APPEND with a synchronizing literal: waits for the `+` continuation before sending the message. */
  async append(mailbox: string, message: string | Buffer, extra = ''): Promise<ImapReply> {
    const tag = this.nextTag();
    const bytes = typeof message === 'string' ? Buffer.from(message) : message;
    this.write(`${tag} APPEND ${mailbox}${extra ? ` ${extra}` : ''} {${bytes.length}}\r\n`);
    const cont = await this.line();
    if (!cont.startsWith('+')) return { untagged: [], tagged: cont, status: cont.split(' ')[1] ?? '' };
    this.write(Buffer.concat([bytes, Buffer.from('\r\n')]));
    return this.until(tag);
  }

  close(): void {
    this.socket.destroy();
  }
}
