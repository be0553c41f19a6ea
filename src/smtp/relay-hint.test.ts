/**
 * The relay refusal on the MX port says how a user of this server does send to other domains: AUTH
 * where it is offered there, and the submission port the configuration really has (not always 587).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { LineClient } from '../../test/harness/line-client.js';
import { engineNetServer, engineSettings } from '../../test/harness/smtp-engine.js';
import { parseConfig } from '../config/load.js';
import type { Resolution } from '../delivery/delivery.js';
import { submissionHint } from '../server/server.js';
import { type SmtpBackend, smtpHandler } from './index.js';

const backend: SmtpBackend = {
  plaintextAllowed: () => true,
  async login() {
    return { ok: false, reason: 'invalid' };
  },
  async resolve(): Promise<Resolution> {
    return { kind: 'remote' };
  },
  async deliver() {
    return { id: 'x', localCopies: 0, queueId: null };
  },
};

describe('SMTP relay refusal on the MX port', () => {
  const server = engineNetServer();
  const ports: number[] = [];
  const cases: [authOnMx: boolean, hint: string | null, expected: string][] = [
    [true, 'the submission port 2587', '(log in with AUTH, or use the submission port 2587, to send to other domains)'],
    [
      false,
      'the submission port 465 (implicit TLS)',
      '(use the submission port 465 (implicit TLS), to send to other domains)',
    ],
    [false, null, '(this server offers no login to send to other domains)'],
  ];

  before(async () => {
    for (const [authOnMx, submissionHint] of cases) {
      const settings = engineSettings({ authOnMx, submissionHint });
      const handler = smtpHandler(settings, backend, pino({ level: 'silent' }));
      ports.push((await server.listen({ name: 'smtp', host: '127.0.0.1', port: 0, implicitTls: false, handler })).port);
    }
  });
  after(() => server.close());

  it('names AUTH only where offered and the configured submission port', async () => {
    for (const [i, [, , expected]] of cases.entries()) {
      const c = await LineClient.connect(ports[i]);
      try {
        await c.reply();
        await c.cmd('EHLO client.example');
        await c.cmd('MAIL FROM:<a@client.example>');
        assert.equal(
          await c.cmd('RCPT TO:<b@elsewhere.example>'),
          `554 5.7.1 <b@elsewhere.example>: Relay access denied ${expected}`,
        );
      } finally {
        c.close();
      }
    }
  });

  it('takes the submission port from the configuration', () => {
    const hint = (listen: Record<string, string>) => submissionHint(parseConfig({ listen }));
    assert.equal(hint({}), 'the submission port 587');
    assert.equal(hint({ submission: '0.0.0.0:2587' }), 'the submission port 2587');
    assert.equal(hint({ submission: 'off' }), 'the submission port 465 (implicit TLS)');
    assert.equal(hint({ submission: 'off', submissions: 'off' }), null);
  });
});
