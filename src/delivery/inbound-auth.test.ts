/**
 * Inbound checks: the Authentication-Results header builder, removal of forged results (RFC 8601 §5),
 * the policy decisions (RFC 7489 §6.6), and whole checks of signed and unsigned messages with DNS from
 * the loopback DNS server (test/harness/dns-server.ts), including an unresponsive one.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type DnsServer, startDnsServer } from '../../test/harness/dns-server.js';
import { silentLogger } from '../log.js';
import { dnsRecordValue, signMessage } from './dkim.js';
import {
  type AuthSummary,
  authResultsHeader,
  authservIdOf,
  budgetResolver,
  DEFAULT_POLICY,
  decide,
  InboundChecker,
  type InboundPolicy,
  MAX_DKIM_SIGNATURES,
  stripOwnAuthResults,
} from './inbound-auth.js';

function summary(over: {
  spf?: AuthSummary['spf']['result'];
  dkim?: { result: AuthSummary['spf']['result']; domain: string; comment?: string }[];
  dmarc?: {
    result: AuthSummary['spf']['result'];
    policy: 'none' | 'quarantine' | 'reject' | null;
    pct?: number;
  } | null;
}): AuthSummary {
  return {
    spf: { result: over.spf ?? 'none', domain: 'a.test', ip: '192.0.2.1', info: `spf=${over.spf ?? 'none'}` },
    dkim: (over.dkim ?? []).map((d) => ({
      result: d.result,
      domain: d.domain,
      aligned: d.domain === 'a.test',
      comment: d.comment ?? null,
      info: `dkim=${d.result}`,
    })),
    dmarc:
      over.dmarc === null
        ? null
        : {
            result: over.dmarc?.result ?? 'none',
            domain: 'a.test',
            policy: over.dmarc?.policy ?? null,
            pct: over.dmarc?.pct ?? 100,
            info: 'dmarc=x',
          },
    arc: { result: 'none', info: 'arc=none' },
  };
}

describe('Authentication-Results header', () => {
  it('puts each method on its own folded line after the authserv-id', () => {
    const h = authResultsHeader('mx.b.test', ['spf=pass smtp.mailfrom=a@a.test', 'dkim=none', 'dmarc=pass']);
    assert.equal(
      h,
      'Authentication-Results: mx.b.test;\r\n\tspf=pass smtp.mailfrom=a@a.test;\r\n\tdkim=none;\r\n\tdmarc=pass\r\n',
    );
  });

  it('says none when there is no method (RFC 8601 §2.2) and folds long lines at spaces', () => {
    assert.equal(authResultsHeader('mx.b.test', []), 'Authentication-Results: mx.b.test; none\r\n');
    const long = `spf=fail (${'word '.repeat(30).trim()}) smtp.mailfrom=a@a.test`;
    const h = authResultsHeader('mx.b.test', [long]);
    for (const line of h.split('\r\n')) assert.ok(line.length <= 78, line);
    assert.equal(h.replace(/\r\n\t {2}/g, ' '), `Authentication-Results: mx.b.test;\r\n\t${long}\r\n`);
  });

  it('reads the authserv-id after comments, as a token or a quoted string', () => {
    assert.equal(authservIdOf(' mx.b.test; spf=pass'), 'mx.b.test');
    assert.equal(authservIdOf(' (forged (nested)) MX.B.TEST 1; none'), 'MX.B.TEST');
    assert.equal(authservIdOf(' "mx.b.test"; none'), 'mx.b.test');
    assert.equal(authservIdOf('\r\n\tmx.b.test;'), 'mx.b.test');
  });

  it('removes only the results that claim our authserv-id (RFC 8601 §5)', () => {
    const raw = Buffer.from(
      'Authentication-Results: MX.B.test;\r\n\tdkim=pass header.d=bank.test\r\n' +
        'Authentication-Results: other.test; spf=pass\r\n' +
        'Subject: hi\r\n' +
        'Authentication-Results: (x) mx.b.test; dmarc=pass\r\n' +
        '\r\nAuthentication-Results: mx.b.test; in the body stays\r\n',
    );
    const out = stripOwnAuthResults(raw, 'mx.b.test').toString();
    assert.equal(
      out,
      'Authentication-Results: other.test; spf=pass\r\nSubject: hi\r\n\r\nAuthentication-Results: mx.b.test; in the body stays\r\n',
    );
    const clean = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    assert.equal(stripOwnAuthResults(clean, 'mx.b.test'), clean);
  });
});

describe('policy decisions', () => {
  const never = () => 0.99;
  it('accepts when DMARC passes, even with SPF fail (forwarded mail with an aligned signature)', () => {
    const v = decide(
      summary({
        spf: 'fail',
        dkim: [{ result: 'pass', domain: 'a.test' }],
        dmarc: { result: 'pass', policy: 'reject' },
      }),
      DEFAULT_POLICY,
    );
    assert.deepEqual(v, { action: 'accept', reason: null });
  });

  it('rejects a DMARC p=reject failure with 550 5.7.1 naming DMARC, the domain and why', () => {
    const v = decide(summary({ spf: 'fail', dmarc: { result: 'fail', policy: 'reject' } }), DEFAULT_POLICY);
    assert.equal(v.action, 'reject');
    assert.ok(v.action === 'reject');
    assert.equal(v.code, 550);
    assert.equal(v.enhanced, '5.7.1');
    assert.match(
      v.text,
      /^DMARC policy of a\.test is reject and the message fails it \(SPF fail, no aligned DKIM signature\)/,
    );
  });

  it('names an unaligned or failing signature in the DMARC reason', () => {
    const unaligned = decide(
      summary({
        spf: 'pass',
        dkim: [{ result: 'pass', domain: 'list.test' }],
        dmarc: { result: 'fail', policy: 'reject' },
      }),
      DEFAULT_POLICY,
    );
    assert.ok(unaligned.action === 'reject');
    assert.match(
      unaligned.text,
      /\(SPF pass for a\.test, not aligned, no aligned DKIM signature \(signed by list\.test\)\)/,
    );
    const broken = decide(
      summary({
        spf: 'softfail',
        dkim: [{ result: 'fail', domain: 'a.test', comment: 'body hash did not verify' }],
        dmarc: { result: 'fail', policy: 'reject' },
      }),
      DEFAULT_POLICY,
    );
    assert.ok(broken.action === 'reject');
    assert.match(broken.text, /the signature of a\.test fails: body hash did not verify/);
  });

  it('follows the configured action for p=reject and p=quarantine', () => {
    const rejectFail = summary({ spf: 'fail', dmarc: { result: 'fail', policy: 'reject' } });
    const quarantineFail = summary({ spf: 'fail', dmarc: { result: 'fail', policy: 'quarantine' } });
    assert.equal(decide(rejectFail, { ...DEFAULT_POLICY, dmarcReject: 'junk' }).action, 'junk');
    assert.equal(decide(rejectFail, { ...DEFAULT_POLICY, dmarcReject: 'accept' }).action, 'accept');
    assert.equal(decide(quarantineFail, DEFAULT_POLICY).action, 'junk');
    const r = decide(quarantineFail, { ...DEFAULT_POLICY, dmarcQuarantine: 'reject' });
    assert.ok(r.action === 'reject');
    assert.match(r.text, /DMARC policy of a\.test is quarantine/);
  });

  it('applies pct= as a sample: outside it the next weaker policy (RFC 7489 §6.6.4)', () => {
    const s = summary({ spf: 'fail', dmarc: { result: 'fail', policy: 'reject', pct: 20 } });
    assert.equal(decide(s, DEFAULT_POLICY, () => 0.1).action, 'reject');
    assert.equal(decide(s, DEFAULT_POLICY, never).action, 'junk');
    const q = summary({ dmarc: { result: 'fail', policy: 'quarantine', pct: 0 } });
    assert.equal(decide(q, DEFAULT_POLICY, () => 0).action, 'accept');
  });

  it('uses the SPF and DKIM rules when DMARC gives no verdict', () => {
    const spfFail = summary({ spf: 'fail', dmarc: { result: 'none', policy: null } });
    assert.equal(decide(spfFail, DEFAULT_POLICY).action, 'junk');
    const r = decide(spfFail, { ...DEFAULT_POLICY, spfFail: 'reject' });
    assert.ok(r.action === 'reject');
    assert.equal(r.enhanced, '5.7.23');
    assert.match(r.text, /^SPF of a\.test does not allow 192\.0\.2\.1 to send its mail/);
    // p=none is monitoring only: the SPF rule still applies.
    assert.equal(
      decide(summary({ spf: 'fail', dmarc: { result: 'fail', policy: 'none' } }), DEFAULT_POLICY).action,
      'junk',
    );
    assert.equal(decide(summary({ spf: 'softfail' }), DEFAULT_POLICY).action, 'accept');
    const dkimFail = summary({ spf: 'none', dkim: [{ result: 'fail', domain: 'c.test', comment: 'bad signature' }] });
    assert.equal(decide(dkimFail, DEFAULT_POLICY).action, 'accept');
    const d = decide(dkimFail, { ...DEFAULT_POLICY, dkimFail: 'reject' });
    assert.ok(d.action === 'reject');
    assert.equal(d.enhanced, '5.7.20');
    assert.match(d.text, /DKIM signature of c\.test fails \(bad signature\)/);
    // Another passing signature: the failed one does not count (RFC 6376 §6.3).
    const mixed = summary({
      dkim: [
        { result: 'fail', domain: 'c.test' },
        { result: 'pass', domain: 'd.test' },
      ],
    });
    assert.equal(decide(mixed, { ...DEFAULT_POLICY, dkimFail: 'reject' }).action, 'accept');
  });

  it('never rejects on a temporary DNS error; defers only when told to', () => {
    const cases: AuthSummary[] = [
      summary({ spf: 'temperror', dmarc: { result: 'fail', policy: 'reject' } }),
      summary({ dkim: [{ result: 'temperror', domain: 'a.test' }], dmarc: { result: 'fail', policy: 'reject' } }),
      summary({ spf: 'pass', dmarc: { result: 'temperror', policy: null } }),
    ];
    for (const s of cases) {
      const v = decide(s, DEFAULT_POLICY);
      assert.equal(v.action, 'accept');
      assert.ok(v.action === 'accept');
      assert.match(v.reason ?? '', /temperror/);
      const strict: InboundPolicy = { ...DEFAULT_POLICY, tempError: 'defer', dmarcReject: 'reject' };
      const d = decide(s, strict);
      assert.ok(d.action === 'defer');
      assert.equal(d.code, 451);
      assert.match(d.enhanced, /^4\.7\./);
    }
    const spfTemp = decide(summary({ spf: 'temperror' }), { ...DEFAULT_POLICY, tempError: 'defer' });
    assert.ok(spfTemp.action === 'defer');
    assert.equal(spfTemp.enhanced, '4.7.24');
  });
});

describe('InboundChecker with the loopback DNS server', () => {
  let dns: DnsServer;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const message = Buffer.from(
    'Authentication-Results: mx.b.test; dmarc=pass header.from=a.test\r\n' +
      'From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: checks\r\nMessage-ID: <1@a.test>\r\n\r\nHello.\r\n',
  );
  const checker = (over: Partial<ConstructorParameters<typeof InboundChecker>[0]> = {}) =>
    new InboundChecker({
      hostname: 'mx.b.test',
      dnsServers: [dns.server],
      dnsTimeoutMs: 3000,
      trustedNetworks: [],
      policy: DEFAULT_POLICY,
      log: silentLogger(),
      ...over,
    });
  const input = (data: Buffer, ip = '127.0.0.1') => ({
    data,
    remoteAddress: ip,
    helo: 'mx.a.test',
    envelopeFrom: 'alice@a.test',
  });

  before(async () => {
    dns = await startDnsServer({
      'a.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.a.test': { TXT: ['v=DMARC1; p=reject'] },
      'postbode._domainkey.a.test': { TXT: [dnsRecordValue(pem)] },
    });
  });
  after(() => dns.stop());

  it('passes a signed message from an allowed IP and replaces the forged results with ours', async () => {
    const signed = await signMessage(message, { domain: 'a.test', selector: 'postbode', privateKey: pem });
    const out = await checker().check(input(signed));
    assert.deepEqual(out.verdict, { action: 'accept', reason: null });
    const text = out.data.toString();
    assert.match(text, /^Authentication-Results: mx\.b\.test;\r\n\tspf=pass /);
    assert.match(text, /\tdkim=pass header\.i=@a\.test header\.s=postbode/);
    assert.match(text, /\tdmarc=pass /);
    assert.match(text, /\tarc=none\r\n/);
    assert.equal(text.match(/^Authentication-Results:/gm)?.length, 1, text);
    const forged = 'Authentication-Results: mx.b.test; dmarc=pass header.from=a.test\r\n';
    assert.ok(text.endsWith(signed.toString().replace(forged, '')), text);
    assert.ok(dns.queries.includes('TXT postbode._domainkey.a.test'), dns.queries.join(', '));
  });

  it('verifies at most MAX_DKIM_SIGNATURES signatures: the first ones; the message keeps them all', async () => {
    let signed = await signMessage(message, { domain: 'a.test', selector: 'postbode', privateKey: pem });
    // 200 more signatures on top (each names another selector, so each would be a DNS query).
    const junk = Array.from(
      { length: 200 },
      (_, i) => `DKIM-Signature: v=1; a=rsa-sha256; d=a.test; s=junk${i}; h=from; bh=x; b=y\r\n`,
    ).join('');
    signed = Buffer.concat([Buffer.from(junk), signed]);
    const before = dns.queries.length;
    const out = await checker().check(input(signed));
    const asked = dns.queries.slice(before).filter((q) => q.includes('_domainkey'));
    assert.ok(asked.length <= MAX_DKIM_SIGNATURES, asked.join(', '));
    assert.equal(out.summary?.dkim.length, MAX_DKIM_SIGNATURES);
    assert.equal(out.data.toString().match(/^DKIM-Signature:/gm)?.length, 201, 'delivered with every signature');
  });

  it('rejects an unsigned message from an IP that SPF does not allow (DMARC p=reject)', async () => {
    const out = await checker().check(input(message, '192.0.2.7'));
    assert.ok(out.verdict.action === 'reject', JSON.stringify(out.verdict));
    assert.equal(out.verdict.enhanced, '5.7.1');
    assert.match(out.verdict.text, /DMARC policy of a\.test is reject .*\(SPF fail, no aligned DKIM signature\)/);
    assert.equal(out.summary?.spf.result, 'fail');
  });

  it('skips trusted networks (no header) but still removes forged results', async () => {
    const out = await checker({ trustedNetworks: ['127.0.0.0/8'] }).check(input(message, '::ffff:127.0.0.1'));
    assert.equal(out.summary, null);
    assert.doesNotMatch(out.data.toString(), /Authentication-Results/);
  });

  it('records temperror within the time budget when the DNS server does not answer', async () => {
    dns.drop(true);
    try {
      const started = Date.now();
      const out = await checker({ dnsTimeoutMs: 1500 }).check(input(message, '192.0.2.7'));
      const took = Date.now() - started;
      assert.ok(took < 3000, `took ${took} ms`);
      assert.equal(out.verdict.action, 'accept');
      assert.match(out.data.toString(), /spf=temperror/);
    } finally {
      dns.drop(false);
    }
  });

  it('budgetResolver fails every query as ETIMEOUT once the budget is spent', async () => {
    dns.drop(true);
    try {
      const r = budgetResolver([dns.server], 300);
      const started = Date.now();
      await assert.rejects(r.resolve('a.test', 'TXT'), { code: 'ETIMEOUT' });
      await assert.rejects(r.resolve('b.test', 'TXT'), { code: 'ETIMEOUT' });
      assert.ok(Date.now() - started < 1000);
      r.close();
    } finally {
      dns.drop(false);
    }
    const ok = budgetResolver([dns.server], 2000);
    assert.deepEqual(await ok.resolve('_dmarc.a.test', 'TXT'), [['v=DMARC1; p=reject']]);
    await assert.rejects(ok.resolve('nothing.a.test', 'TXT'), { code: 'ENOTFOUND' });
    await assert.rejects(ok.resolve('_dmarc.a.test', 'MX'), { code: 'ENODATA' });
    ok.close();
  });
});
