/**
 * `postbode dns DOMAIN` and `postbode dns check DOMAIN` as a real CLI process against a data dir, with
 * `delivery.dns_servers` pointing at a loopback DNS server (test/harness/dns-server.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DnsRecords, type DnsServer, startDnsServer } from './harness/dns-server.js';
import { BIN, removeDir, runCli } from './harness/server.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process: the DNS server it asks lives here. */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const DOMAIN = 'dns.test';
const HOST = 'mail.dns.test';
const IP = '192.0.2.25';

/** The line of the check's output about `name` (records of one name are told apart by `type`). */
function lineFor(out: string, type: string, name: string): string {
  const line = out.split('\n').find((l) => new RegExp(`^\\S.*\\s${type}\\s+${name.replace(/\./g, '\\.')}\\s`).test(l));
  assert.ok(line, `no line for ${type} ${name} in:\n${out}`);
  return line;
}

describe('postbode dns', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'postbode-dns-'));
  const dataDir = path.join(root, 'data');
  const configFile = path.join(root, 'postbode.toml');
  let dns: DnsServer;
  let dkimValue: string;
  let correct: DnsRecords;

  before(async () => {
    dns = await startDnsServer({});
    writeFileSync(
      configFile,
      [
        `hostname = "${HOST}"`,
        `data_dir = ${JSON.stringify(dataDir)}`,
        '[listen]',
        'pop3 = "off"',
        'pop3s = "127.0.0.1:1995"',
        '[delivery]',
        `dns_servers = ["${dns.server}"]`,
        '[checks]',
        'dns_timeout = 1',
      ].join('\n'),
    );
    assert.equal(runCli(['domain', 'add', DOMAIN, '-c', configFile]).code, 0);
    assert.equal(runCli(['dkim', 'keygen', DOMAIN, '-c', configFile]).code, 0);
    const list = runCli(['dkim', 'list', '--records', '-c', configFile]);
    dkimValue = /v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+/.exec(list.stdout)![0];
    const srv = (priority: number, port: number) => ({ SRV: [{ priority, weight: 1, port, target: HOST }] });
    correct = {
      [HOST]: { A: [IP] },
      [DOMAIN]: { MX: [{ preference: 10, exchange: HOST }], TXT: ['v=spf1 mx -all'] },
      [`postbode._domainkey.${DOMAIN}`]: { TXT: [dkimValue] },
      [`_dmarc.${DOMAIN}`]: { TXT: [`v=DMARC1; p=reject; rua=mailto:postmaster@${DOMAIN}`] },
      [`_smtp._tls.${DOMAIN}`]: { TXT: [`v=TLSRPTv1; rua=mailto:tls@${DOMAIN}`] },
      [`_submissions._tcp.${DOMAIN}`]: srv(0, 465),
      [`_submission._tcp.${DOMAIN}`]: srv(10, 587),
      [`_imaps._tcp.${DOMAIN}`]: srv(0, 993),
      [`_imap._tcp.${DOMAIN}`]: srv(10, 143),
      [`_pop3s._tcp.${DOMAIN}`]: srv(20, 1995),
      [`_sieve._tcp.${DOMAIN}`]: srv(0, 4190),
      [`autoconfig.${DOMAIN}`]: { CNAME: HOST },
      '25.2.0.192.in-addr.arpa': { PTR: [HOST] },
    };
  });
  after(async () => {
    await dns.stop();
    removeDir(root);
  });

  it('prints every record in zone-file form with a comment each, from the config, listeners and DKIM key', async () => {
    dns.set(correct);
    const r = await cli(['dns', DOMAIN, '-c', configFile]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const expected = [
      `${HOST}. 3600 IN A ${IP}`,
      `${DOMAIN}. 3600 IN MX 10 ${HOST}.`,
      `${DOMAIN}. 3600 IN TXT "v=spf1 mx -all"`,
      `_dmarc.${DOMAIN}. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@${DOMAIN}"`,
      `_smtp._tls.${DOMAIN}. 3600 IN TXT "v=TLSRPTv1; rua=mailto:postmaster@${DOMAIN}"`,
      `_submissions._tcp.${DOMAIN}. 3600 IN SRV 0 1 465 ${HOST}.`,
      `_submission._tcp.${DOMAIN}. 3600 IN SRV 10 1 587 ${HOST}.`,
      `_imaps._tcp.${DOMAIN}. 3600 IN SRV 0 1 993 ${HOST}.`,
      `_imap._tcp.${DOMAIN}. 3600 IN SRV 10 1 143 ${HOST}.`,
      `_pop3s._tcp.${DOMAIN}. 3600 IN SRV 20 1 1995 ${HOST}.`,
      `_pop3._tcp.${DOMAIN}. 3600 IN SRV 0 0 0 .`,
      `_sieve._tcp.${DOMAIN}. 3600 IN SRV 0 1 4190 ${HOST}.`,
      `autoconfig.${DOMAIN}. 3600 IN CNAME ${HOST}.`,
      `autodiscover.${DOMAIN}. 3600 IN CNAME ${HOST}.`,
      `25.2.0.192.in-addr.arpa. 3600 IN PTR ${HOST}.`,
    ];
    for (const want of expected) {
      const i = lines.indexOf(want);
      assert.ok(i > 0, `missing "${want}" in:\n${r.stdout}`);
      assert.match(lines[i - 1], /^; \S/, `no comment above "${want}"`);
    }
    // The DKIM record is the public half of the key, in strings of at most 255 characters.
    const dkim = lines.find((l) => l.startsWith(`postbode._domainkey.${DOMAIN}. 3600 IN TXT "`));
    assert.ok(dkim, r.stdout);
    const strings = [...dkim.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    assert.ok(strings.every((s) => s.length <= 255));
    assert.equal(strings.join(''), dkimValue);
    assert.match(r.stdout, /^_mta-sts\.dns\.test\. 3600 IN TXT "v=STSv1; id=[a-f0-9]{16}"$/m);
    assert.match(r.stdout, /https:\/\/mta-sts\.dns\.test\/\.well-known\/mta-sts\.txt/);
    assert.match(r.stdout, /^; {3}mx: mail\.dns\.test$/m);
    assert.match(r.stdout, /ask them to name 192\.0\.2\.25 "mail\.dns\.test"/);
  });

  it('says what to ask for when the hostname does not resolve yet', async () => {
    dns.set({ [DOMAIN]: { MX: [{ preference: 10, exchange: HOST }] } });
    const r = await cli(['dns', DOMAIN, '-c', configFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^; mail\.dns\.test\. 3600 IN A <this server's public IPv4 address>/m);
    assert.match(r.stdout, /mail\.dns\.test does not resolve yet .*ask for the PTR record/s);
    assert.doesNotMatch(r.stdout, /IN PTR/);
  });

  it('check: a correct zone is ok record by record and exits 0; optional records not published are said', async () => {
    dns.set(correct);
    const r = await cli(['dns', 'check', DOMAIN, '-c', configFile]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^checking the DNS records of dns\\.test \\(mail server mail\\.dns\\.test\\) with 127\\.0\\.0\\.1:${dns.port}$`,
        'm',
      ),
    );
    for (const [type, name] of [
      ['A', HOST],
      ['MX', DOMAIN],
      ['TXT', `postbode._domainkey.${DOMAIN}`],
      ['TXT', `_dmarc.${DOMAIN}`],
      ['TXT', `_smtp._tls.${DOMAIN}`],
      ['SRV', `_imaps._tcp.${DOMAIN}`],
      ['SRV', `_pop3s._tcp.${DOMAIN}`],
      ['SRV', `_sieve._tcp.${DOMAIN}`],
      ['CNAME', `autoconfig.${DOMAIN}`],
      ['PTR', '25.2.0.192.in-addr.arpa'],
    ]) {
      assert.match(lineFor(r.stdout, type, `${name}.`), /^ok /);
    }
    const spf = r.stdout.split('\n').find((l) => /^ok +TXT +dns\.test\. +SPF/.test(l));
    assert.ok(spf, r.stdout);
    assert.match(lineFor(r.stdout, 'TXT', `_mta-sts.${DOMAIN}.`), /^missing \(optional\)/);
    assert.match(lineFor(r.stdout, 'SRV', `_pop3._tcp.${DOMAIN}.`), /^missing \(optional\)/);
    assert.match(lineFor(r.stdout, 'CNAME', `autodiscover.${DOMAIN}.`), /^missing \(optional\)/);
    assert.match(r.stdout, /^\d+ ok, 0 missing, 0 different, 3 optional not published$/m);
    assert.match(r.stdout, /all required records are in place/);
  });

  it('check: a missing and a different record are named with the value to publish, and it exits 1', async () => {
    const zone: DnsRecords = { ...correct };
    delete zone[`_dmarc.${DOMAIN}`];
    zone[DOMAIN] = { MX: [{ preference: 10, exchange: HOST }], TXT: ['v=spf1 ip4:198.51.100.7 -all', 'other'] };
    zone[`postbode._domainkey.${DOMAIN}`] = { TXT: ['v=DKIM1; k=rsa; p=MIIBfake'] };
    zone[`_imap._tcp.${DOMAIN}`] = { SRV: [{ priority: 10, weight: 1, port: 1143, target: HOST }] };
    dns.set(zone);
    const r = await cli(['dns', 'check', DOMAIN, '-c', configFile]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const out = r.stdout;
    const block = (type: string, name: string) => {
      const lines = out.split('\n');
      const i = lines.indexOf(lineFor(out, type, name));
      const rest = lines.slice(i + 1);
      const end = rest.findIndex((l) => !l.startsWith(' '));
      return [lines[i], ...rest.slice(0, end)].join('\n');
    };
    const dmarc = block('TXT', `_dmarc.${DOMAIN}.`);
    assert.match(dmarc, /^missing +TXT/);
    assert.match(
      dmarc,
      /publish: _dmarc\.dns\.test\. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@dns\.test"/,
    );
    const spf = out.split('\n').findIndex((l) => /^different +TXT +dns\.test\. +SPF/.test(l));
    assert.ok(spf >= 0, out);
    const spfBlock = out
      .split('\n')
      .slice(spf, spf + 3)
      .join('\n');
    assert.match(
      spfBlock,
      /found: "v=spf1 ip4:198\.51\.100\.7 -all" \(gives "fail" for mail\.dns\.test \(192\.0\.2\.25\)/,
    );
    assert.match(spfBlock, /publish: dns\.test\. 3600 IN TXT "v=spf1 mx -all"/);
    const dkim = block('TXT', `postbode._domainkey.${DOMAIN}.`);
    assert.match(dkim, /^different/);
    assert.match(dkim, /found: "v=DKIM1; k=rsa; p=MIIBfake" \(not the public key of dns\.test\.postbode\.key\)/);
    assert.match(dkim, /publish: postbode\._domainkey\.dns\.test\. 3600 IN TXT "v=DKIM1; k=rsa; p=/);
    const imap = block('SRV', `_imap._tcp.${DOMAIN}.`);
    assert.match(imap, /^different/);
    assert.match(imap, /found: 10 1 1143 mail\.dns\.test \(expected mail\.dns\.test port 143\)/);
    assert.match(imap, /publish: _imap\._tcp\.dns\.test\. 3600 IN SRV 10 1 143 mail\.dns\.test\./);
    assert.match(lineFor(out, 'MX', `${DOMAIN}.`), /^ok /);
    assert.match(out, /^\d+ ok, 1 missing, 3 different, 3 optional not published$/m);
  });

  it('check: an MX elsewhere, no address and no PTR', async () => {
    dns.set({
      [DOMAIN]: { MX: [{ preference: 10, exchange: 'mx.elsewhere.test' }], TXT: ['v=spf1 mx -all'] },
      [`postbode._domainkey.${DOMAIN}`]: { TXT: [dkimValue] },
    });
    const r = await cli(['dns', 'check', DOMAIN, '-c', configFile]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(lineFor(r.stdout, 'A', `${HOST}.`), /^missing /);
    assert.match(r.stdout, /publish: mail\.dns\.test\. 3600 IN A <this server's public IPv4 address>/);
    assert.match(r.stdout, /found: 10 mx\.elsewhere\.test \(no MX names mail\.dns\.test\)/);
    // Without an address SPF is judged by its text: "mx" names this server.
    assert.ok(
      r.stdout.split('\n').some((l) => /^ok +TXT +dns\.test\. +SPF/.test(l)),
      r.stdout,
    );
  });

  it('check: the PTR record is asked of the DNS, never read from /etc/hosts', async () => {
    // 127.0.0.1 is named in every /etc/hosts (localhost); its reverse zone here has no PTR for it.
    dns.set({ ...correct, [HOST]: { A: ['127.0.0.1'] }, '2.0.0.127.in-addr.arpa': { PTR: ['elsewhere.test'] } });
    const r = await cli(['dns', 'check', DOMAIN, '-c', configFile]);
    assert.match(lineFor(r.stdout, 'PTR', '1.0.0.127.in-addr.arpa.'), /^missing /, r.stdout);
    assert.doesNotMatch(r.stdout, /found: localhost/);
  });

  it('check: a DNS server that does not answer is "lookup failed", not "missing"', async () => {
    dns.set(correct);
    dns.drop(true);
    try {
      const r = await cli(['dns', 'check', DOMAIN, '-c', configFile]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(lineFor(r.stdout, 'MX', `${DOMAIN}.`), /^lookup failed /);
      assert.match(lineFor(r.stdout, 'A', `${HOST}.`), /^lookup failed /);
      assert.match(r.stdout, /found: lookup failed \(ETIMEOUT\)/);
    } finally {
      dns.drop(false);
    }
  });

  it('refuses a domain that is not local, and a data dir that does not exist (without creating it)', async () => {
    const other = await cli(['dns', 'other.test', '-c', configFile]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /other\.test is not a local domain .*postbode domain add other\.test/);
    const missing = path.join(root, 'nowhere');
    const none = await cli(['dns', 'check', DOMAIN, '-d', missing, '-H', HOST]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no data dir at .*nowhere/);
    assert.equal(existsSync(missing), false);
    // A directory without a database: said, and no database is created.
    const noDb = await cli(['dns', DOMAIN, '-d', root, '-H', HOST]);
    assert.equal(noDb.code, 1);
    assert.match(
      noDb.stderr,
      /dns\.test is not a local domain: there is no database in .*postbode domain add dns\.test/,
    );
    assert.equal(existsSync(path.join(root, 'postbode.db')), false);
    const localhost = await cli(['dns', DOMAIN, '-d', dataDir]);
    assert.equal(localhost.code, 1);
    assert.match(localhost.stderr, /hostname is "localhost": set its public name first/);
  });
});
