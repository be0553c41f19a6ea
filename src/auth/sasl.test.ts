import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { b64, ScramClient, unb64 } from '../../test/harness/scram-client.js';
import { endPointHash } from '../net/channel-binding.js';
import type { ReadResult } from '../net/connection.js';
import { generateSelfSigned } from '../net/tls.js';
import { createMechanism, type SaslAuth } from './sasl.js';
import { runSaslExchange, SASL_LINE_LIMIT, type SaslEngine, type SaslOutcome } from './sasl-exchange.js';
import {
  deriveScramKeys,
  formatScramKeys,
  parseClientFirst,
  parseScramKeys,
  type ScramKeys,
  saslPrep,
} from './scram.js';
import type { LoginResult } from './service.js';

/** A scripted client: the lines it sends, what the server sent it, and what was traced. */
function engine(
  lines: (string | 'too-long' | 'eof')[],
  opts: { auth?: SaslAuth<string>; secure?: boolean; binding?: Buffer | null; nonce?: string } = {},
) {
  const challenges: string[] = [];
  const traced: string[] = [];
  const logins: { username: string; password: string }[] = [];
  const auth: SaslAuth<string> = opts.auth ?? {
    async login(_client, username, password): Promise<LoginResult<string>> {
      logins.push({ username, password });
      return password === 'right' ? { ok: true, account: username } : { ok: false, reason: 'invalid' };
    },
  };
  const e: SaslEngine<string> = {
    auth,
    client: { remoteAddress: '192.0.2.1', protocol: 'smtp' },
    challenge: (data) => challenges.push(data),
    conn: {
      secure: opts.secure ?? false,
      channelBinding: (type) => (type === 'tls-exporter' ? (opts.binding ?? null) : null),
      trace: { in: (text) => traced.push(text) },
      async readLine(max): Promise<ReadResult> {
        const next = lines.shift();
        if (next === undefined || next === 'eof') return { kind: 'eof' };
        if (next === 'too-long' || next.length + 2 > max) return { kind: 'too-long' };
        return { kind: 'line', line: Buffer.from(next, 'latin1'), ending: 'crlf' };
      },
    },
    ...(opts.nonce ? { scramNonce: () => opts.nonce as string } : {}),
  };
  return { e, challenges, traced, logins };
}

async function run(
  name: string,
  initial: string | Buffer | null,
  lines: (string | 'too-long' | 'eof')[],
  opts: Parameters<typeof engine>[1] = {},
): Promise<{ outcome: SaslOutcome<string> } & ReturnType<typeof engine>> {
  const t = engine(lines, opts);
  const mech = createMechanism(name, t.e);
  assert.ok(mech, name);
  return { outcome: await runSaslExchange(t.e, mech, initial), ...t };
}

describe('the SASL exchange', () => {
  it('PLAIN with an initial response, and with an empty challenge first', async () => {
    const a = await run('PLAIN', b64('\0u@example.test\0right'), []);
    assert.deepEqual(a.outcome, {
      kind: 'success',
      mechanism: 'PLAIN',
      username: 'u@example.test',
      account: 'u@example.test',
    });
    assert.deepEqual(a.challenges, []);
    const b = await run('plain', null, [b64('\0u@example.test\0wrong')]);
    assert.equal(b.outcome.kind, 'failure');
    assert.deepEqual(b.challenges, ['']);
    assert.deepEqual(b.traced, ['<redacted>']);
  });

  it('LOGIN asks for the user and the password; identities are UTF-8', async () => {
    const r = await run('LOGIN', null, [b64('jürgen@example.test'), `  ${b64('right')}  `]);
    assert.deepEqual(r.challenges, [b64('Username:'), b64('Password:')]);
    assert.equal(r.outcome.kind, 'success');
    assert.deepEqual(r.logins, [{ username: 'jürgen@example.test', password: 'right' }]);
    const bad = await run('LOGIN', null, [Buffer.from([0xff, 0xfe]).toString('base64')]);
    assert.deepEqual(bad.outcome, { kind: 'malformed', message: 'the response is not valid UTF-8' });
  });

  it('"*" cancels, "=" is an empty initial response, and base64 is strict', async () => {
    const c = await run('LOGIN', null, ['*']);
    assert.deepEqual(c.outcome, { kind: 'cancelled' });
    assert.deepEqual(c.traced, ['*']);
    const empty = await run('PLAIN', '=', []);
    assert.equal(empty.outcome.kind, 'malformed');
    for (const bad of ['dGVzdA', 'dGV zdA==', 'dGVzdA==x', '=dGVz']) {
      const r = await run('LOGIN', null, [bad]);
      assert.deepEqual(r.outcome, { kind: 'malformed', message: 'the response is not valid base64' }, bad);
      assert.deepEqual((await run('PLAIN', bad, [])).outcome.kind, 'malformed', bad);
    }
  });

  it(`a response line over ${SASL_LINE_LIMIT} octets ends the exchange, untraced`, async () => {
    const long = 'A'.repeat(SASL_LINE_LIMIT - 1);
    const r = await run('PLAIN', null, [long]);
    assert.deepEqual(r.outcome, { kind: 'too-long' });
    assert.deepEqual(r.traced, ['<redacted: line too long>']);
    // At the limit (with CRLF) the line is read and judged on its content.
    const at = await run('PLAIN', null, ['A'.repeat(SASL_LINE_LIMIT - 2)]);
    assert.equal(at.outcome.kind, 'malformed');
    assert.deepEqual((await run('PLAIN', null, ['eof'])).outcome, { kind: 'closed' });
  });

  it('the authorization identity must be empty or the user itself; no password is checked otherwise', async () => {
    const same = await run('PLAIN', b64('U@Example.Test\0u@example.test\0right'), []);
    assert.equal(same.outcome.kind, 'success');
    const other = await run('PLAIN', b64('boss@example.test\0u@example.test\0right'), []);
    assert.equal(other.outcome.kind, 'failure');
    assert.match(other.outcome.kind === 'failure' ? (other.outcome.failure.text ?? '') : '', /authorization identity/);
    assert.deepEqual(other.logins, []);
  });

  it('a decoded initial response (IMAP parses it) is taken as is', async () => {
    const r = await run('PLAIN', Buffer.from('\0u@example.test\0right'), []);
    assert.equal(r.outcome.kind, 'success');
  });
});

// RFC 7677 §3: user "user", password "pencil".
const RFC = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

/** A SaslAuth with SCRAM keys for one user and a limiter that counts failures. */
function scramAuth(users: Record<string, ScramKeys>, failures: string[] = []): SaslAuth<string> {
  return {
    login: async () => ({ ok: false, reason: 'invalid' }),
    scram: {
      advertised: () => true,
      async credentials(username) {
        const keys = users[username];
        return keys ? { address: username, keys, account: username } : { address: username, keys: null };
      },
      decoySalt: () => Buffer.alloc(16, 7),
      async guarded(_client, account, check) {
        const value = await check();
        if (value !== null) return { ok: true, account: value };
        failures.push(account);
        return { ok: false, reason: 'invalid' };
      },
    },
  };
}

describe('SCRAM-SHA-256', () => {
  it('follows the RFC 7677 §3 example exactly', async () => {
    const keys = await deriveScramKeys('pencil', {
      salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
      iterations: 4096,
    });
    const r = await run('SCRAM-SHA-256', b64(RFC.clientFirst), [b64(RFC.clientFinal), ''], {
      auth: scramAuth({ user: keys }),
      nonce: RFC.serverNonce,
    });
    assert.deepEqual(r.challenges.map(unb64), [RFC.serverFirst, RFC.serverFinal]);
    assert.deepEqual(r.outcome, { kind: 'success', mechanism: 'SCRAM-SHA-256', username: 'user', account: 'user' });
  });

  it('the test client and the server agree; a wrong password and an unknown user fail under the limiter', async () => {
    const keys = await deriveScramKeys('pencil');
    for (const [user, password, ok] of [
      ['user', 'pencil', true],
      ['user', 'pen', false],
      ['nobody', 'pencil', false],
    ] as const) {
      const failures: string[] = [];
      const client = new ScramClient({ username: user, password });
      const t = engine([], { auth: scramAuth({ user: keys }, failures) });
      const mech = createMechanism('SCRAM-SHA-256', t.e);
      assert.ok(mech);
      const first = await mech.start(Buffer.from(client.first));
      assert.equal(first.kind, 'challenge');
      const serverFirst = first.kind === 'challenge' ? first.data.toString() : '';
      if (user === 'nobody') assert.match(serverFirst, /,s=BwcHBwcHBwcHBwcHBwcHBw==,i=10000$/); // the decoy
      const final = await mech.next(Buffer.from(client.final(serverFirst)));
      if (ok) {
        assert.equal(final.kind, 'challenge');
        assert.ok(client.verifyServer(final.kind === 'challenge' ? final.data.toString() : ''));
        const done = await mech.next(Buffer.alloc(0));
        assert.equal(done.kind === 'done' && done.result.ok, true);
      } else {
        assert.equal(final.kind === 'done' && final.result.ok, false);
        assert.deepEqual(failures, [user]);
      }
    }
  });

  it('authzid other than the user fails; "m" extensions and bad names are malformed', async () => {
    const keys = await deriveScramKeys('pencil');
    const client = new ScramClient({ username: 'user', password: 'pencil', authzid: 'admin' });
    const r = await run('SCRAM-SHA-256', b64(client.first), [], { auth: scramAuth({ user: keys }) });
    assert.equal(r.outcome.kind, 'failure');
    assert.equal(typeof parseClientFirst('n,,m=x,n=user,r=abc'), 'string');
    assert.equal(typeof parseClientFirst('n,,n=us=er,r=abc'), 'string');
    assert.deepEqual(
      (parseClientFirst('n,a=a=2Cb,n=u=3Dx,r=abc') as { authzid: string; username: string }).username,
      'u=x',
    );
  });

  it('-PLUS checks the channel binding; "y" is refused when -PLUS is available (downgrade)', async () => {
    const keys = await deriveScramKeys('pencil');
    const binding = Buffer.alloc(32, 9);
    const auth = scramAuth({ user: keys });
    const login = async (name: string, client: ScramClient, secure: boolean) => {
      const t = engine([], { auth, secure, binding });
      const mech = createMechanism(name, t.e);
      assert.ok(mech);
      const outcome = await runSaslExchange(scramEngine(t, client), mech, b64(client.first));
      return outcome.kind;
    };
    const good = new ScramClient({
      username: 'user',
      password: 'pencil',
      binding: { type: 'tls-exporter', data: binding },
    });
    assert.equal(await login('SCRAM-SHA-256-PLUS', good, true), 'success');
    const forged = new ScramClient({
      username: 'user',
      password: 'pencil',
      binding: { type: 'tls-exporter', data: Buffer.alloc(32, 1) },
    });
    assert.equal(await login('SCRAM-SHA-256-PLUS', forged, true), 'failure');
    const unknown = new ScramClient({
      username: 'user',
      password: 'pencil',
      binding: { type: 'tls-unique', data: binding },
    });
    assert.equal(await login('SCRAM-SHA-256-PLUS', unknown, true), 'failure');
    assert.equal(
      await login('SCRAM-SHA-256-PLUS', new ScramClient({ username: 'user', password: 'pencil' }), true),
      'failure',
    );
    assert.equal(await login('SCRAM-SHA-256', good, true), 'malformed');
    const y = new ScramClient({ username: 'user', password: 'pencil', binding: 'y' });
    assert.equal(await login('SCRAM-SHA-256', y, true), 'failure');
    assert.equal(await login('SCRAM-SHA-256', y, false), 'success');
  });

  it('keys survive their storage format; SASLprep maps spaces and normalises', async () => {
    const keys = await deriveScramKeys('pencil');
    assert.deepEqual(parseScramKeys(formatScramKeys(keys)), keys);
    assert.equal(parseScramKeys('SCRAM-SHA-256$4096:AA==$AA==:AA=='), null);
    assert.equal(saslPrep('a\u00a0b\u00adc\u2168'), 'a bcIX');
  });

  it('tls-server-end-point hashes with the certificate signature hash', async () => {
    const { cert } = await generateSelfSigned('mx.example.test');
    const der = Buffer.from(cert.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    assert.equal(endPointHash(der), 'sha256');
    assert.equal(endPointHash(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])), null);
  });
});

/** An engine whose client is `client`: it answers the server-first message, then `v=` with an empty line. */
function scramEngine(t: ReturnType<typeof engine>, client: ScramClient): SaslEngine<string> {
  let last = '';
  return {
    ...t.e,
    challenge: (data) => {
      last = unb64(data);
    },
    conn: {
      ...t.e.conn,
      readLine: async () => {
        const text = last.startsWith('r=') ? b64(client.final(last)) : '';
        return { kind: 'line', line: Buffer.from(text), ending: 'crlf' };
      },
    },
  };
}
