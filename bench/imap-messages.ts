/**
 * The large mailbox of the SEARCH benchmark: message i of N, deterministic, so that every server gets
 * the same bytes and a prepared mailbox can be reused between runs.
 *
 * Small plain-text messages (~600 bytes) with:
 * - From `Sender NN <senderNN@remote.test>`, NN = i % 100 (two digits): FROM "sender07@" matches 1 %;
 * - Subject with the token `kwNNNNx`, NNNN = i % 1000: SUBJECT "kw0042x" matches 0.1 %;
 * - a body line with the token `zqNNNNz`, NNNN = i % 2000: BODY "zq0042z" matches 0.05 %;
 * - \Seen on all but every 50th message: UNSEEN matches 2 %.
 */

/** Bump when the content changes: a prepared mailbox of another version is refilled. */
export const SEARCH_MAILBOX_VERSION = 1;

export const SEARCH_QUERIES: readonly { key: string; label: string; criteria: string }[] = [
  { key: 'imap.search.unseen', label: 'SEARCH UNSEEN', criteria: 'UNSEEN' },
  { key: 'imap.search.from', label: 'SEARCH FROM', criteria: 'FROM "sender07@"' },
  { key: 'imap.search.subject', label: 'SEARCH SUBJECT', criteria: 'SUBJECT "kw0042x"' },
  { key: 'imap.search.body', label: 'SEARCH BODY', criteria: 'BODY "zq0042z"' },
];

/** How many of N messages each query matches (to check the servers' answers). */
export function expectedHits(key: string, n: number): number {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    if (key === 'imap.search.unseen' && i % 50 === 0) hits++;
    else if (key === 'imap.search.from' && i % 100 === 7) hits++;
    else if (key === 'imap.search.subject' && i % 1000 === 42) hits++;
    else if (key === 'imap.search.body' && i % 2000 === 42) hits++;
  }
  return hits;
}

const WORDS =
  'the quarterly figures arrived late again so we moved the review meeting to thursday please bring ' +
  'your notes and the updated spreadsheet with the corrected totals for each region and team';
const BASE = Date.UTC(2024, 0, 1);
const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function searchMessage(i: number, to: string): { raw: Buffer; flags: string[]; date: Date } {
  const nn = pad(i % 100, 2);
  const date = new Date(BASE + i * 60_000);
  const words = WORDS.split(' ');
  const line = (k: number) => {
    const out: string[] = [];
    for (let j = 0; j < 12; j++) out.push(words[(i + k * 7 + j * 3) % words.length]);
    return out.join(' ');
  };
  const raw =
    `Return-Path: <sender${nn}@remote.test>\r\n` +
    `From: Sender ${nn} <sender${nn}@remote.test>\r\n` +
    `To: <${to}>\r\n` +
    `Subject: Status report ${i} kw${pad(i % 1000, 4)}x\r\n` +
    `Date: ${date.toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <search.${SEARCH_MAILBOX_VERSION}.${i}@bench.example.test>\r\n` +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=us-ascii\r\n' +
    '\r\n' +
    `Hello,\r\n\r\n${line(1)}\r\n${line(2)}\r\nreference zq${pad(i % 2000, 4)}z\r\n${line(3)}\r\n\r\n-- \r\nSender ${nn}\r\n`;
  return { raw: Buffer.from(raw, 'latin1'), flags: i % 50 === 0 ? [] : ['\\Seen'], date };
}
