/**
 * Helpers for tests that move mail between servers: submit messages over one authenticated SMTP session,
 * wait for a condition, find a loopback port nobody listens on, and count messages in a POP3 mailbox.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { LineClient } from './line-client.js';
import { popRetrieveAll } from './pop3.js';

/** The SASL PLAIN initial response for `user` and `pass` (RFC 4616), base64. */
export const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');

/** Polls `fn` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Submission {
  port: number;
  user: string;
  password: string;
  to: string[];
  /** One message per subject, each with `Subject:` and `Message-ID: <subject@sender domain>`. */
  subjects: string[];
  /** Called after each message's final 250 (the message is durable on the server from then on). */
  onAccepted?: (subject: string, reply: string) => void;
}

/** Submits each message in one session (AUTH PLAIN, MAIL/RCPT/DATA per message); asserts every 250. */
export async function submitMessages(s: Submission): Promise<void> {
  const c = await LineClient.connect(s.port);
  try {
    assert.match(await c.reply(), /^220 /);
    await c.cmd('EHLO client.test');
    assert.match(await c.cmd(`AUTH PLAIN ${plain(s.user, s.password)}`), /^235 /);
    const domain = s.user.slice(s.user.indexOf('@') + 1);
    for (const subject of s.subjects) {
      assert.match(await c.cmd(`MAIL FROM:<${s.user}>`), /^250 /);
      for (const rcpt of s.to) assert.match(await c.cmd(`RCPT TO:<${rcpt}>`), /^250 /);
      assert.match(await c.cmd('DATA'), /^354 /);
      const reply = await c.cmd(
        `From: ${s.user}\r\nTo: ${s.to.join(', ')}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@${domain}>\r\n\r\nHello from ${domain}.\r\n.`,
      );
      assert.match(reply, /^250 /);
      s.onAccepted?.(subject, reply);
    }
    await c.cmd('QUIT');
  } finally {
    c.close();
  }
}

/** A loopback port that was free a moment ago (connections to it are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** How many times each subject occurs among the messages of a POP3 mailbox (nothing is deleted). */
export async function subjectCounts(port: number, user: string, pass: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const m of await popRetrieveAll(port, user, pass)) {
    const subject = /\r\nSubject: ([^\r\n]*)\r\n/.exec(`\r\n${m.toString('latin1')}`)?.[1];
    if (subject !== undefined) counts.set(subject, (counts.get(subject) ?? 0) + 1);
  }
  return counts;
}
