/**
 * A tiny SMTP receiver for outbound tests: it records every message it acknowledged (the sender's EHLO
 * name, the envelope, the Message-ID and the header), and can hold its answers to the end of DATA.
 *
 * - A message counts as received only when the sink has written its `250` to a connection that was
 *   still open: a sender killed while the sink held its message never got the 250, so the message must
 *   come again (from whoever takes its queue entry over) and counts once then.
 * - A closed gate (`start({ open: false })`, or `hold()`): every message waits at the end of DATA,
 *   unanswered, until `open()`; then the held ones still connected get their 250, and later ones at once.
 * - No PIPELINING is offered, so a client waits for each reply; RSET, NOOP and QUIT are understood.
 */
import net from 'node:net';

export interface SinkMessage {
  /** The EHLO/HELO name of the session. */
  helo: string;
  /** The reverse-path of MAIL FROM, without brackets ('' for the null sender). */
  from: string;
  rcpts: string[];
  messageId: string;
  /** The message's header block (lines joined with CRLF, dot-stuffing undone). */
  header: string;
}

interface Session {
  socket: net.Socket;
  helo: string;
}

export class SmtpSink {
  /** Messages acknowledged with 250, in order. */
  readonly received: SinkMessage[] = [];
  readonly #server: net.Server;
  readonly #sessions = new Set<Session>();
  #held: { session: Session; message: SinkMessage }[] = [];
  #open: boolean;

  private constructor(open: boolean) {
    this.#open = open;
    this.#server = net.createServer((socket) => this.#session(socket));
  }

  static async start(opts: { open?: boolean } = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(opts.open ?? true);
    await new Promise<void>((resolve) => sink.#server.listen(0, '127.0.0.1', resolve));
    return sink;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** EHLO names of the connections open now (one entry per connection). */
  get openSessions(): string[] {
    return [...this.#sessions].map((s) => s.helo);
  }

  /** Messages waiting at the end of DATA for the gate, by the EHLO name of their session. */
  get held(): SinkMessage[] {
    return this.#held.filter((h) => this.#sessions.has(h.session)).map((h) => h.message);
  }

  /** Opens the gate: the held messages still connected get their 250, and every later one at once. */
  open(): void {
    this.#open = true;
    const held = this.#held;
    this.#held = [];
    for (const { session, message } of held) this.#accept(session, message);
  }

  /** Closes the gate again: from now on messages wait at the end of DATA until `open()`. */
  hold(): void {
    this.#open = false;
  }

  /** How many times each Message-ID was acknowledged. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.received) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
    return counts;
  }

  async close(): Promise<void> {
    for (const s of this.#sessions) s.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(session: Session, message: SinkMessage): void {
    if (!this.#sessions.has(session) || session.socket.destroyed) return;
    this.received.push(message);
    session.socket.write('250 2.0.0 ok\r\n');
  }

  #session(socket: net.Socket): void {
    const session: Session = { socket, helo: '' };
    this.#sessions.add(session);
    socket.on('close', () => this.#sessions.delete(session));
    socket.on('error', () => {});
    socket.setEncoding('latin1');
    socket.write('220 sink.test ESMTP\r\n');
    let buf = '';
    let data: string[] | null = null;
    let rcpts: string[] = [];
    let from = '';
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (data) {
          if (line !== '.') {
            data.push(line.startsWith('.') ? line.slice(1) : line);
            continue;
          }
          const header = data.slice(0, Math.max(0, data.indexOf(''))).join('\r\n');
          const messageId = /^Message-ID:\s*<([^>]*)>/im.exec(header)?.[1] ?? '';
          const message = { helo: session.helo, from, rcpts, messageId, header };
          data = null;
          rcpts = [];
          if (this.#open) this.#accept(session, message);
          else this.#held.push({ session, message });
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') {
          session.helo = line.slice(5).trim().toLowerCase();
          socket.write(
            verb === 'EHLO' ? '250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n' : '250 sink.test\r\n',
          );
        } else if (verb === 'RCPT') {
          rcpts.push((/<([^>]*)>/.exec(line)?.[1] ?? '').toLowerCase());
          socket.write('250 2.1.5 ok\r\n');
        } else if (verb === 'DATA') {
          data = [];
          socket.write('354 go ahead\r\n');
        } else if (verb === 'RSET' || verb === 'MAIL') {
          rcpts = [];
          from = verb === 'MAIL' ? (/<([^>]*)>/.exec(line)?.[1] ?? '') : '';
          socket.write('250 2.0.0 ok\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 2.0.0 bye\r\n');
          return;
        } else {
          socket.write('250 2.0.0 ok\r\n');
        }
      }
    });
  }
}
