/**
 * The README's telnet tutorial replayed against a real server, in order, on one data directory: the
 * SMTP part sends the message, the POP3 part reads it, the IMAP part finds it, the ManageSieve part
 * uploads and activates a script. So the README's lines stay true, and no step consumes what a later
 * one needs.
 *
 * Each `S:` line must match the server's line exactly, except that words with digits (ids, sizes,
 * dates, UID validity, version), day and month names may differ, and `...` stands for anything; SMTP
 * reply codes and enhanced codes must be the same. A line that is
 * not `C:`/`S:` (the `$ telnet` line, a note in parentheses) is not sent; the note about sending a
 * message during IDLE is acted out.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { smtpSend } from './harness/imap-client.js';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, ROOT, removeDir, startPostbode } from './harness/server.js';

interface Block {
  port: number;
  lines: string[];
}

/** The code blocks of the README's telnet tutorial, each with the port its `$ telnet` line names. */
function tutorialBlocks(): Block[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Telnet tutorial');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  const blocks: Block[] = [];
  for (const m of section.matchAll(/```\n([\s\S]*?)```/g)) {
    const lines = m[1].split('\n');
    const telnet = /^\$ telnet localhost (\d+)$/.exec(lines[0] ?? '');
    if (telnet) blocks.push({ port: Number(telnet[1]), lines: lines.slice(1) });
  }
  return blocks;
}

const NAMES = /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/g;

/** The README's server line as a pattern: see the header for what may differ. SMTP codes stay exact. */
function pattern(expected: string): RegExp {
  const code = /^\d{3}[ -](?:\d\.\d{1,3}\.\d{1,3} )?/.exec(expected)?.[0] ?? '';
  const parts = expected
    .slice(code.length)
    .split('...')
    .map(
      (part) =>
        part
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          // An id; on a PostgreSQL store session ids start with the node's name and a dash.
          .replace(/[A-Za-z0-9]*\d[A-Za-z0-9]*/g, '[A-Za-z0-9][A-Za-z0-9-]*')
          .replace(NAMES, '[A-Z][a-z]{2}')
          .replace(/^\s+/, '\\s+'), // a folded header line: the README shows the tab as spaces
    );
  return new RegExp(`^${code.replace(/\./g, '\\.')}${parts.join('.*')}$`);
}

describe('README telnet tutorial against a real server', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({
      hostname: 'localhost',
      domains: ['linux800.be'],
      listeners: ['smtp', 'pop3', 'imap', 'managesieve'],
      extraArgs: ['--set', 'auth.failure_delay_ms=0'],
    });
    const r = pb.cli(['user', 'add', 'ludo@linux800.be', '--password', 'sdf12345']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('has the SMTP, POP3, IMAP and ManageSieve parts, in that order', () => {
    assert.deepEqual(
      tutorialBlocks().map((b) => b.port),
      [25, 110, 143, 4190],
    );
  });

  it('replays every part in order, each finding what the one before left', async () => {
    const ports: Record<number, number> = {
      25: pb.ports.smtp,
      110: pb.ports.pop3,
      143: pb.ports.imap,
      4190: pb.ports.managesieve,
    };
    for (const block of tutorialBlocks()) {
      const c = await LineClient.connect(ports[block.port]);
      for (const [i, raw] of block.lines.entries()) {
        const where = `README, telnet ${block.port}, line ${i + 2}: ${raw}`;
        if (raw === 'C:' || raw.startsWith('C: ')) {
          c.send(raw.slice(3));
        } else if (raw === 'S:' || raw.startsWith('S: ')) {
          const got = await c.line();
          assert.match(got, pattern(raw.slice(3)), where);
        } else if (/^\s*\(now send a message/.test(raw)) {
          await smtpSend(
            pb.ports.smtp,
            'mannix@intecbrussel.intra',
            ['ludo@linux800.be'],
            'Subject: two\r\n\r\nhi\r\n',
          );
          // What the note promises: the new message is announced at once (other untagged lines may come first).
          let got = await c.line();
          while (got !== '* 2 EXISTS' && got.startsWith('* ')) got = await c.line();
          assert.equal(got, '* 2 EXISTS', where);
          assert.equal(await c.line(), '* 2 RECENT', where);
        }
      }
      await c.closedByServer();
    }
  });
});
