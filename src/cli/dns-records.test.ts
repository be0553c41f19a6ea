import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../config/schema.js';
import { checkRecord, type DnsLookup, type DnsPlan, planRecords, quoteTxt, reverseName } from './dns-records.js';

const absent = (): Promise<never> => Promise.reject(Object.assign(new Error('no data'), { code: 'ENODATA' }));

/** A lookup that answers TXT, CNAME and A from tables and nothing else. */
function fakeLookup(tables: {
  txt?: Record<string, string[][]>;
  cname?: Record<string, string[]>;
  a?: Record<string, string[]>;
}): DnsLookup {
  const from = <T>(table: Record<string, T> | undefined, name: string) =>
    table?.[name] !== undefined ? Promise.resolve(table[name]) : absent();
  return {
    resolve4: (n) => from(tables.a, n),
    resolve6: absent,
    resolveMx: absent,
    resolveTxt: (n) => from(tables.txt, n),
    resolveSrv: absent,
    resolveCname: (n) => from(tables.cname, n),
    reverse: absent,
    resolve: absent,
  };
}

function plan(listen: Partial<Record<string, string>> = {}): DnsPlan {
  const config = configSchema.parse({ listen });
  return planRecords({
    domain: 'Example.ORG.',
    hostname: 'mail.example.org',
    listen: config.listen,
    dkimKeys: [],
    addresses: ['192.0.2.1', '2001:db8::25'],
  });
}

const record = (p: DnsPlan, name: string) => p.records.find((r) => r.name === name)!;

describe('dns records', () => {
  it('names reverse zones for IPv4 and IPv6 (RFC 1035 §3.5, RFC 3596 §2.5)', () => {
    assert.equal(reverseName('192.0.2.1'), '1.2.0.192.in-addr.arpa.');
    assert.equal(
      reverseName('2001:db8::25'),
      '5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.',
    );
  });

  it('splits and escapes TXT strings', () => {
    assert.equal(quoteTxt('a"b'), '"a\\"b"');
    const long = quoteTxt('x'.repeat(300));
    assert.deepEqual(
      [...long.matchAll(/"(x*)"/g)].map((m) => m[1].length),
      [255, 45],
    );
  });

  it('plans from the listeners: SRV with their ports, "." for those off, no autoconfig without the web listener', () => {
    const p = plan({ imaps: '0.0.0.0:10993', pop3: 'off', http: 'off' });
    assert.equal(p.domain, 'example.org');
    assert.deepEqual(record(p, '_imaps._tcp.example.org.').values, ['0 1 10993 mail.example.org.']);
    const pop3 = record(p, '_pop3._tcp.example.org.');
    assert.deepEqual([pop3.values, pop3.level], [['0 0 0 .'], 'optional']);
    assert.equal(record(p, 'autoconfig.example.org.'), undefined);
    assert.equal(p.records.filter((r) => r.kind === 'ptr').length, 2);
    assert.equal(record(p, 'postbode._domainkey.example.org.').kind, 'dkim-none');
    assert.equal(record(plan(), 'autoconfig.example.org.').level, 'optional');
  });

  it('DMARC: two records are different, p=none is ok with a note', async () => {
    const p = plan();
    const dmarc = record(p, '_dmarc.example.org.');
    const two = fakeLookup({ txt: { '_dmarc.example.org': [['v=DMARC1; p=reject'], ['v=DMARC1; p=none']] } });
    assert.equal((await checkRecord(p, dmarc, two)).status, 'different');
    const none = await checkRecord(p, dmarc, fakeLookup({ txt: { '_dmarc.example.org': [['v=DMARC1;', ' p=none']] } }));
    assert.equal(none.status, 'ok');
    assert.match(none.detail ?? '', /only collects reports/);
    const bad = await checkRecord(p, dmarc, fakeLookup({ txt: { '_dmarc.example.org': [['v=DMARC1; p=maybe']] } }));
    assert.equal(bad.status, 'different');
    assert.equal((await checkRecord(p, dmarc, fakeLookup({}))).status, 'missing');
  });

  it('autoconfig: a CNAME to the host, or an A record with its address, is ok; another CNAME is different', async () => {
    const p = plan();
    const auto = record(p, 'autoconfig.example.org.');
    const cname = fakeLookup({ cname: { 'autoconfig.example.org': ['Mail.Example.org.'] } });
    assert.equal((await checkRecord(p, auto, cname)).status, 'ok');
    const a = fakeLookup({ a: { 'autoconfig.example.org': ['192.0.2.1'] } });
    assert.equal((await checkRecord(p, auto, a)).status, 'ok');
    const other = fakeLookup({ cname: { 'autoconfig.example.org': ['web.example.net'] } });
    assert.equal((await checkRecord(p, auto, other)).status, 'different');
  });

  it('a lookup that fails is an error, not missing', async () => {
    const p = plan();
    const failing: DnsLookup = {
      ...fakeLookup({}),
      resolveTxt: () => Promise.reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })),
    };
    const r = await checkRecord(p, record(p, '_smtp._tls.example.org.'), failing);
    assert.deepEqual([r.status, r.found], ['error', 'lookup failed (ETIMEOUT)']);
  });
});
