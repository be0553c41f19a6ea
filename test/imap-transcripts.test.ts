/**
 * IMAP transcripts (test/transcripts/imap/*.txt) replayed against a real server process: the README's
 * walk-through and the examples of RFC 9051 §6 and §7 that are deterministic. The mail they expect is
 * set up by setupTranscriptMail (test/harness/imap-fixtures.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { smtpSend } from './harness/imap-client.js';
import { setupTranscriptMail } from './harness/imap-fixtures.js';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, ROOT, removeDir, startPostbode } from './harness/server.js';
import { replayTranscript } from './harness/transcript.js';

const HOST = 'mx.example.test';
const DIR = path.join(ROOT, 'test/transcripts/imap');

describe('IMAP transcripts against a real server', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({
      hostname: HOST,
      listeners: ['smtp', 'imap'],
      extraArgs: ['--set', 'auth.failure_delay_ms=0'],
    });
    await setupTranscriptMail(pb);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  const files = readdirSync(DIR).filter((f) => f.endsWith('.txt'));
  it('has transcripts', () => assert.ok(files.length >= 2, files.join()));
  for (const file of files.sort()) {
    it(`replays ${file}`, async () => {
      const c = await LineClient.connect(pb.ports.imap);
      try {
        await replayTranscript(c, path.join(DIR, file), {
          host: HOST,
          actions: {
            deliver: async () => {
              await smtpSend(
                pb.ports.smtp,
                'x@remote.example',
                ['ludo@linux800.be'],
                'Subject: second\r\n\r\nbody\r\n',
              );
            },
          },
        });
        await c.closedByServer();
      } finally {
        c.close();
      }
    });
  }
});
