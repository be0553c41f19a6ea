/**
 * Hostile HTTP clients against a real server process (issue 10, docs/security.md): request bodies
 * over the limit are refused before they are read (Content-Length) or cut (chunked), connections are
 * capped per address and in all while other addresses and the mail listeners are still served, slow
 * requests are cut by the request timeout while SSE streams are not, live streams are capped per user,
 * consumers that stop reading are dropped while a reading one gets everything (server memory bounded),
 * the control socket's trace stream does the same, and every response carries the security headers.
 * Bounds are asserted on the server's RSS (/proc/PID/status), on answers and on other clients served.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const ADMIN_PASSWORD = 'limits-admin-1';
const MB = 1 << 20;

/** The server's resident memory in MB. */
function rssMb(pb: PostbodeProcess): number {
  const status = readFileSync(`/proc/${pb.child.pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  assert.ok(m, 'VmRSS in /proc/PID/status');
  return Number(m[1]) / 1024;
}

async function eventually<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A raw HTTP/1.1 client connection: what it received, and whether the server closed it. */
class Raw {
  data = Buffer.alloc(0);
  closed = false;
  #waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, localAddress = '127.0.0.1'): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress });
      socket.once('connect', () => resolve(new Raw(socket)));
      socket.once('error', reject);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `done()` holds, the socket closed, or `ms` passed (then fails). */
  async until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (this.closed) return;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.text.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  get text(): string {
    return this.data.toString('latin1');
  }

  /** The first response: status, lower-case headers and body (by Content-Length), once complete. */
  response(): { status: number; headers: Record<string, string>; body: string } | null {
    const text = this.text;
    let start = 0;
    // Skip interim responses (100 Continue).
    for (;;) {
      const end = text.indexOf('\r\n\r\n', start);
      if (end < 0) return null;
      const head = text.slice(start, end).split('\r\n');
      const status = Number(head[0].split(' ')[1]);
      if (status === 100) {
        start = end + 4;
        continue;
      }
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      const body = text.slice(end + 4, end + 4 + length);
      if (Buffer.byteLength(body, 'latin1') < length) return null;
      return { status, headers, body };
    }
  }

  write(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Streams `total` bytes of zeros as the body (plain or chunked) without allocating them, until the
 * server closes the connection; returns the bytes sent.
 */
async function streamBody(raw: Raw, total: number, chunked: boolean): Promise<number> {
  const piece = Buffer.alloc(64 * 1024);
  const framed = chunked
    ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
    : piece;
  let sent = 0;
  while (sent < total && !raw.closed && !raw.socket.destroyed) {
    const ok = raw.write(framed);
    sent += piece.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          raw.socket.off('drain', done);
          raw.socket.off('close', done);
          resolve();
        };
        raw.socket.on('drain', done);
        raw.socket.on('close', done);
      });
    }
  }
  return sent;
}

/** GET with node's http client from a chosen local address (no keep-alive). */
function get(
  port: number,
  p: string,
  localAddress = '127.0.0.1',
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, localAddress, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function login(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'teacher', password: ADMIN_PASSWORD }),
  });
  assert.equal(res.status, 200, await res.text());
  const cookie = res.headers.get('set-cookie');
  assert.ok(cookie);
  return cookie.split(';')[0];
}

function addAdmin(pb: PostbodeProcess): void {
  const r = pb.cli(['admin', 'add', 'teacher', '--password', ADMIN_PASSWORD]);
  assert.equal(r.code, 0, r.stderr);
}

const EXPECTED_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function assertSecurityHeaders(what: string, headers: Record<string, string | string[] | undefined>): void {
  for (const [name, value] of Object.entries(EXPECTED_HEADERS)) {
    assert.equal(headers[name], value, `${what}: ${name}`);
  }
}

/** Reads an SSE stream with fetch; counts events by name. */
class SseReader {
  readonly ac = new AbortController();
  counts = new Map<string, number>();
  status = 0;
  headers: Record<string, string> = {};
  ended = false;
  #buf = '';

  static async open(port: number, p: string, cookie: string): Promise<SseReader> {
    const r = new SseReader();
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { cookie }, signal: r.ac.signal });
    r.status = res.status;
    r.headers = Object.fromEntries(res.headers);
    assertSecurityHeaders(`GET ${p} (${res.status})`, r.headers);
    if (res.status !== 200) {
      r.ended = true;
      r.#buf = await res.text();
      return r;
    }
    void r.#pump(res);
    return r;
  }

  get body(): string {
    return this.#buf;
  }

  async #pump(res: Response): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        this.#buf += decoder.decode(chunk, { stream: true });
        for (let end = this.#buf.indexOf('\n\n'); end >= 0; end = this.#buf.indexOf('\n\n')) {
          const block = this.#buf.slice(0, end);
          this.#buf = this.#buf.slice(end + 2);
          const m = /^event: (.*)$/m.exec(block);
          if (m) this.counts.set(m[1], (this.counts.get(m[1]) ?? 0) + 1);
        }
      }
    } catch {
      // aborted
    }
    this.ended = true;
  }

  count(event: string): number {
    return this.counts.get(event) ?? 0;
  }

  close(): void {
    this.ac.abort();
  }
}

async function smtpGreeting(port: number): Promise<void> {
  const c = await LineClient.connect(port);
  try {
    assert.match(await c.reply(), /^220 /);
  } finally {
    c.close();
  }
}

async function imapGreeting(port: number): Promise<void> {
  const c = await LineClient.connect(port);
  try {
    assert.match(await c.line(), /^\* OK/);
  } finally {
    c.close();
  }
}

describe('web limits: bodies, connections, headers', () => {
  let pb: PostbodeProcess;
  let port = 0;

  before(async () => {
    pb = await startPostbode({
      listeners: ['smtp', 'imap', 'http'],
      extraArgs: ['--set', 'web.connections_per_ip=16', '--set', 'web.max_connections=40'],
    });
    port = pb.ports.http;
    addAdmin(pb);
    const r = pb.cli(['user', 'add', 'alice@example.test', '--password', 'alice-pw-1']);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
  });

  it('answers five parallel 200 MB POSTs to /api/login with 413 before reading them, RSS bounded', async (t) => {
    const before = rssMb(pb);
    const results = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const raw = await Raw.connect(port);
        raw.write(
          `POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${200 * MB}\r\n\r\n`,
        );
        const sent = await streamBody(raw, 200 * MB, false);
        await raw.until('the answer', () => raw.response() !== null);
        raw.destroy();
        return { response: raw.response(), sent };
      }),
    );
    const grown = rssMb(pb) - before;
    t.diagnostic(`RSS +${grown.toFixed(1)} MB; sent ${results.map((r) => (r.sent / MB).toFixed(0)).join(', ')} MB`);
    // The server lingers after its early 413 (src/web/http.ts), so no reset can eat an answer.
    const answered = results.filter((r) => r.response !== null);
    assert.equal(answered.length, 5, `only ${answered.length} of 5 got an answer`);
    for (const { response } of answered) {
      assert.ok(response, 'an answer');
      assert.equal(response.status, 413);
      assertSecurityHeaders('413', response.headers);
      const body = JSON.parse(response.body) as { error: string; limit: number };
      assert.match(body.error, /larger than the limit of 1 MB \(web\.max_body_size\)/);
      assert.equal(body.limit, MB);
    }
    assert.ok(grown < 50, `RSS grew by ${grown.toFixed(1)} MB`);
  });

  it('refuses a too large Content-Length announced with Expect: 100-continue without asking for the body', async () => {
    const raw = await Raw.connect(port);
    raw.write(
      `POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${200 * MB}\r\n\r\n`,
    );
    await raw.until('the answer', () => raw.response() !== null);
    assert.doesNotMatch(raw.text, /100 Continue/);
    assert.equal(raw.response()?.status, 413);
    raw.destroy();
  });

  it('cuts a chunked body without Content-Length at the limit', async (t) => {
    const before = rssMb(pb);
    const raw = await Raw.connect(port);
    raw.write(
      'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const sent = await streamBody(raw, 200 * MB, true);
    await raw.until('the connection to close', () => raw.closed);
    assert.ok(raw.closed, 'the server closed the connection');
    assert.ok(sent < 100 * MB, `sent ${sent} bytes before the cut`);
    const response = raw.response();
    if (response) assert.equal(response.status, 413);
    const grown = rssMb(pb) - before;
    t.diagnostic(
      `RSS +${grown.toFixed(1)} MB; sent ${(sent / MB).toFixed(1)} MB; answer ${response?.status ?? 'none'}`,
    );
    assert.ok(grown < 50, `RSS grew by ${grown.toFixed(1)} MB`);
  });

  it('still takes a body within the limit (chunked too)', async () => {
    for (const chunked of [false, true]) {
      const raw = await Raw.connect(port);
      // Over 64 KB: the budget for large bodies is used too; the unknown field is ignored by the route.
      const body = JSON.stringify({ username: 'nobody', password: 'wrong', pad: 'x'.repeat(100_000) });
      raw.write(
        `POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`}\r\n\r\n`,
      );
      raw.write(chunked ? `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : body);
      await raw.until('the answer', () => raw.response() !== null);
      // A wrong password, not a refused body.
      const status = raw.response()?.status;
      assert.ok(status === 401 || status === 429, `status ${status}: ${raw.text.slice(0, 300)}`);
      raw.destroy();
    }
  });

  it('caps connections per address and in all; other addresses and the mail listeners are still served', async () => {
    const held: Raw[] = [];
    /** Opens n connections from an address that each started a request (so the server counts them). */
    const hold = async (address: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const raw = await Raw.connect(port, address);
        raw.write('GET / HTTP/1.1\r\nHost: x\r\n');
        held.push(raw);
      }
    };
    /** A full request from `address`: answered (true) or closed without a byte (false). */
    const served = async (address: string) => {
      const raw = await Raw.connect(port, address);
      raw.write('GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await raw.until('an answer or a close', () => raw.response() !== null);
      const answered = raw.response() !== null;
      if (!answered) assert.equal(raw.data.length, 0, 'a refused connection gets no bytes');
      raw.destroy();
      return answered;
    };
    try {
      await hold('127.0.0.1', 16);
      assert.equal(await served('127.0.0.1'), false, 'the 17th connection from 127.0.0.1 is closed');
      assert.equal(await served('127.0.0.2'), true, '127.0.0.2 is served');
      const viaHttp = await get(port, '/api/me', '127.0.0.2');
      assert.equal(viaHttp.status, 401);
      await smtpGreeting(pb.ports.smtp);
      await imapGreeting(pb.ports.imap);

      // 16 + 16 + 8 = 40 = web.max_connections.
      await hold('127.0.0.2', 16);
      await hold('127.0.0.3', 8);
      assert.equal(await served('127.0.0.4'), false, 'a connection beyond the total is closed');
      await smtpGreeting(pb.ports.smtp);
      await imapGreeting(pb.ports.imap);
    } finally {
      for (const raw of held) raw.destroy();
    }
    await eventually('connections to be counted down', () => served('127.0.0.1'));
  });

  it('puts the security headers on the UI, the API, errors and static files', async () => {
    const ui = await get(port, '/');
    assert.ok(ui.status === 200 || ui.status === 503, `GET / ${ui.status}`);
    assert.match(String(ui.headers['content-type']), /text\/html/);
    assertSecurityHeaders('GET /', ui.headers);
    if (ui.status === 200) {
      // The UI works under this policy only without inline scripts and style elements.
      assert.doesNotMatch(ui.body, /<script(?![^>]*\bsrc=)[^>]*>/);
      assert.doesNotMatch(ui.body, /<style|style=/);
      const js = await get(port, '/app.js');
      assertSecurityHeaders('GET /app.js', js.headers);
    }
    assertSecurityHeaders('GET /api/me', (await get(port, '/api/me')).headers);
    assertSecurityHeaders('GET /api/nothing', (await get(port, '/api/nothing')).headers);
    assertSecurityHeaders('GET /nothing.txt', (await get(port, '/nothing.txt')).headers);
  });

  it('serves a mail part of a script type as an inert download', async () => {
    const smtp = await LineClient.connect(pb.ports.smtp);
    try {
      assert.match(await smtp.reply(), /^220 /);
      assert.match(await smtp.cmd('EHLO sender.example'), /^250/);
      assert.match(await smtp.cmd('MAIL FROM:<mallory@sender.example>'), /^250/);
      assert.match(await smtp.cmd('RCPT TO:<alice@example.test>'), /^250/);
      assert.match(await smtp.cmd('DATA'), /^354/);
      smtp.write(
        [
          'From: mallory@sender.example',
          'To: alice@example.test',
          'Subject: script',
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary="b"',
          '',
          '--b',
          'Content-Type: text/plain',
          '',
          'hello',
          '--b',
          'Content-Type: text/javascript; name="x.js"',
          '',
          'alert(document.cookie)',
          '--b--',
          '.',
          '',
        ].join('\r\n'),
      );
      assert.match(await smtp.reply(), /^250/);
    } finally {
      smtp.close();
    }
    const cookie = await login(port);
    const api = async <T>(p: string): Promise<T> => {
      const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { cookie } });
      assert.equal(res.status, 200, p);
      return (await res.json()) as T;
    };
    const base = '/api/mail/alice@example.test/mailboxes';
    const { mailboxes } = await api<{ mailboxes: { id: number; name: string }[] }>(base);
    const inbox = mailboxes.find((m) => m.name === 'INBOX');
    assert.ok(inbox);
    const { messages } = await eventually('the message', async () => {
      const list = await api<{ messages: { uid: number }[] }>(`${base}/${inbox.id}/messages`);
      return list.messages.length > 0 ? list : null;
    });
    const part = await get(port, `${base}/${inbox.id}/messages/${messages[0].uid}/parts/2`, '127.0.0.1', { cookie });
    assert.equal(part.status, 200);
    assert.equal(part.body.trim(), 'alert(document.cookie)');
    assert.equal(part.headers['content-type'], 'application/octet-stream');
    assert.equal(part.headers['x-content-type-options'], 'nosniff');
    assert.equal(part.headers['x-frame-options'], 'DENY');
  });
});

describe('web limits: timeouts and stream caps', () => {
  let pb: PostbodeProcess;
  let port = 0;
  let cookie = '';

  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'http'], extraArgs: ['--set', 'web.request_timeout=1'] });
    port = pb.ports.http;
    addAdmin(pb);
    cookie = await login(port);
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
  });

  it('closes slow headers, slow bodies and silent connections, and leaves an SSE stream open', async () => {
    const stream = await SseReader.open(port, '/api/sessions/stream', cookie);
    assert.equal(stream.status, 200);
    try {
      const silent = await Raw.connect(port);
      const slowHeaders = await Raw.connect(port);
      slowHeaders.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const slowBody = await Raw.connect(port);
      slowBody.write(
        'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user',
      );
      for (const [what, raw] of [
        ['a silent connection', silent],
        ['slow headers', slowHeaders],
        ['a slow body', slowBody],
      ] as const) {
        await raw.until(`${what} to be closed`, () => raw.closed, 15_000);
        assert.ok(raw.closed, `${what} closed`);
        const status = raw.response()?.status;
        assert.ok(status === undefined || status === 408, `${what}: ${raw.text.slice(0, 100)}`);
      }
      // The stream started before those connections and outlived them; it still delivers.
      assert.equal(stream.ended, false, 'the SSE stream is still open');
      const seen = stream.count('session');
      await smtpGreeting(pb.ports.smtp);
      await eventually('a session event on the stream', () => stream.count('session') > seen);
    } finally {
      stream.close();
    }
  });

  it('answers 429 beyond web.streams_per_user and frees the slot when a stream ends', async () => {
    const streams: SseReader[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const s = await SseReader.open(port, '/api/sessions/stream', cookie);
        assert.equal(s.status, 200);
        streams.push(s);
      }
      const ninth = await SseReader.open(port, '/api/sessions/stream', cookie);
      assert.equal(ninth.status, 429);
      assert.match(ninth.headers['content-type'] ?? '', /application\/json/);
      assert.match(
        (JSON.parse(ninth.body) as { error: string }).error,
        /limit is 8 per user \(web\.streams_per_user\)/,
      );
      streams.pop()?.close();
      const again = await eventually('a free slot', async () => {
        const s = await SseReader.open(port, '/api/sessions/stream', cookie);
        return s.status === 200 ? s : false;
      });
      streams.push(again);
    } finally {
      for (const s of streams) s.close();
    }
  });
});

describe('web limits: consumers that do not keep up', () => {
  let pb: PostbodeProcess;
  let port = 0;
  let cookie = '';

  before(async () => {
    pb = await startPostbode({
      listeners: ['smtp', 'imap', 'http'],
      extraArgs: [
        '--set',
        'web.connections_per_ip=400',
        '--set',
        'web.streams_per_user=300',
        '--set',
        'web.max_streams=300',
        '--set',
        'web.stream_stall_timeout=2',
      ],
    });
    port = pb.ports.http;
    addAdmin(pb);
    cookie = await login(port);
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
  });

  const dropLogs = (msg: string) => pb.logs.filter((l) => l.msg === msg).length;

  it('drops 200 SSE followers that never read while a reading one gets the whole session; RSS bounded', async (t) => {
    const smtp = await LineClient.connect(pb.ports.smtp);
    assert.match(await smtp.reply(), /^220 /);
    assert.match(await smtp.cmd('EHLO flood.example'), /^250/);
    const localPort = smtp.socket.localPort;
    const sid = await eventually('the live session', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/sessions?active=1`, { headers: { cookie } });
      const { sessions } = (await res.json()) as { sessions: { id: string; remotePort: number }[] };
      return sessions.find((s) => s.remotePort === localPort)?.id;
    });
    const before = rssMb(pb);
    const stalled: Raw[] = [];
    for (let i = 0; i < 200; i++) {
      const raw = await Raw.connect(port);
      raw.write(`GET /api/sessions/${sid}/stream HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`);
      await raw.until('the stream to start', () => raw.data.length > 0);
      assert.match(raw.text, /^HTTP\/1\.1 200/);
      raw.socket.pause(); // and never read again
      stalled.push(raw);
    }
    const reader = await SseReader.open(port, `/api/sessions/${sid}/stream`, cookie);
    assert.equal(reader.status, 200);
    try {
      // The recorder keeps 5,000 events of a session: 2,500 NOOPs and their replies fill it. Each NOOP
      // carries 2,000 bytes, so that a follower's stream (about 6 MB) is more than the kernel buffers
      // of a connection (4 MB on loopback) and a consumer that does not read holds up the server.
      const noop = `NOOP ${'x'.repeat(2000)}\r\n`;
      for (let batch = 0; batch < 10; batch++) {
        smtp.write(noop.repeat(250));
        for (let i = 0; i < 250; i++) assert.match(await smtp.reply(), /^250/);
      }
      // Meanwhile other clients are served.
      assert.equal((await get(port, '/api/me', '127.0.0.2')).status, 401);
      await imapGreeting(pb.ports.imap);
      assert.match(await smtp.cmd('QUIT'), /^221/);
      await eventually('the reading follower to get the end', () => reader.count('end') === 1, 30_000);
      assert.ok(reader.count('event') >= 4000, `the reader got ${reader.count('event')} events`);
      const grown = rssMb(pb) - before;
      t.diagnostic(
        `RSS +${grown.toFixed(1)} MB with 200 stalled followers; the reader got ${reader.count('event')} events`,
      );
      // Frames are shared by every stream, so what grows is mostly garbage not yet collected: 35-100 MB
      // depending on the machine's load (the issue's bound for a whole attack is 100-200 MB; before the
      // bounded writer this test grew by about 970 MB).
      assert.ok(grown < 150, `RSS grew by ${grown.toFixed(1)} MB with 200 stalled followers`);
      await eventually('200 stalled followers to be dropped', () => dropLogs('live stream dropped') >= 200, 30_000);
      const reasons = pb.logs.filter((l) => l.msg === 'live stream dropped').map((l) => String(l.reason));
      assert.ok(
        reasons.every((r) => /did not read/.test(r)),
        reasons[0],
      );
      assert.equal(dropLogs('live stream dropped'), 200, 'the reading follower was not dropped');
      // A dropped follower's connection is closed: reading it again ends.
      const one = stalled[0];
      one.socket.resume();
      await one.until('the dropped stream to close', () => one.closed, 15_000);
      assert.ok(one.closed);
      assert.doesNotMatch(one.text, /event: end/);
    } finally {
      reader.close();
      smtp.close();
      for (const raw of stalled) raw.destroy();
    }
  });

  it('caps trace streams on the control socket and drops a trace reader that stops reading', async (t) => {
    const sock = path.join(pb.dataDir, 'control.sock');
    const smtp = await LineClient.connect(pb.ports.smtp);
    assert.match(await smtp.reply(), /^220 /);
    const traces: net.Socket[] = [];
    const received: string[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const s = net.connect(sock);
        const index = i;
        received[index] = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          received[index] += d;
        });
        s.on('error', () => {});
        s.write('{"cmd":"trace"}\n');
        traces.push(s);
        // Registered once it replays the open session.
        await eventually(`trace ${i} to start`, () => received[index].includes('"type":"open"'));
      }
      const extra = net.connect(sock);
      let refused = '';
      extra.setEncoding('utf8');
      extra.on('data', (d: string) => {
        refused += d;
      });
      extra.write('{"cmd":"trace"}\n');
      await new Promise<void>((resolve) => extra.once('close', () => resolve()));
      const note = JSON.parse(refused.trim()) as { type: string; error: string };
      assert.equal(note.type, 'note');
      assert.match(note.error, /too many trace streams: 16/);
      // `postbode trace` refused the same way fails (exit 1) with the server's reason.
      const cli = pb.cli(['trace']);
      assert.equal(cli.code, 1, cli.stdout);
      assert.match(cli.stderr, /too many trace streams: 16/);

      const before = rssMb(pb);
      traces[0].pause();
      for (let batch = 0; batch < 40; batch++) {
        smtp.write('NOOP\r\n'.repeat(500));
        for (let i = 0; i < 500; i++) assert.match(await smtp.reply(), /^250/);
      }
      await eventually('the stalled trace reader to be dropped', () => dropLogs('trace stream dropped') === 1, 30_000);
      assert.match(await smtp.cmd('QUIT'), /^221/);
      await eventually('a reading trace to see the close', () => received[1].includes('"type":"close"'), 30_000);
      const grown = rssMb(pb) - before;
      t.diagnostic(`RSS +${grown.toFixed(1)} MB with a stalled trace reader`);
      assert.ok(grown < 60, `RSS grew by ${grown.toFixed(1)} MB`);
      assert.equal(dropLogs('trace stream dropped'), 1);
    } finally {
      smtp.close();
      for (const s of traces) s.destroy();
    }
  });
});
