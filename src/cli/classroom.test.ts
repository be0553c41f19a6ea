import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, it } from 'node:test';
import { classroomNotice, isPublicAddress } from './classroom.js';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  ({ address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null }) as NetworkInterfaceInfo;

describe('classroom start-up notice', () => {
  it('tells public from lab addresses', () => {
    for (const a of ['8.8.8.8', '2001:4860::1', '::ffff:8.8.8.8']) assert.equal(isPublicAddress(a), true, a);
    for (const a of ['10.0.0.1', '192.168.1.1', '172.16.5.5', '127.0.0.1', '::1', 'fd00::1', 'fe80::1', '100.64.0.1']) {
      assert.equal(isPublicAddress(a), false, a);
    }
  });

  it('says what classroom mode opens; warns only for listeners reachable on a public address', () => {
    const lab = { lo: [iface('127.0.0.1', 'IPv4', true)], eth0: [iface('192.168.1.10', 'IPv4')] };
    const listeners = [
      { name: 'smtp', host: '::', port: 25 },
      { name: 'http', host: '::', port: 8080 },
    ];
    const quiet = classroomNotice(listeners, lab);
    assert.match(quiet.join('\n'), /private networks .*plaintext|plaintext logins .* private networks/s);
    assert.match(quiet.join('\n'), /all interfaces/);
    assert.ok(!quiet.some((l) => l.startsWith('WARNING')));

    const exposed = classroomNotice(listeners, { ...lab, eth1: [iface('203.0.113.9', 'IPv4')] });
    const warnings = exposed.filter((l) => l.startsWith('WARNING'));
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /smtp .*203\.0\.113\.9/);
    // Bound to one public address: warned whatever the interfaces; to a lab address: not.
    assert.equal(
      classroomNotice([{ name: 'imap', host: '198.51.100.4', port: 143 }], lab).filter((l) => l.startsWith('WARNING'))
        .length,
      1,
    );
    assert.equal(
      classroomNotice([{ name: 'imap', host: '192.168.1.10', port: 143 }], {
        eth1: [iface('203.0.113.9', 'IPv4')],
      }).filter((l) => l.startsWith('WARNING')).length,
      0,
    );
    // 0.0.0.0 does not reach a public IPv6 address.
    assert.equal(
      classroomNotice([{ name: 'pop3', host: '0.0.0.0', port: 110 }], {
        eth1: [iface('2001:db8:1::9', 'IPv6')],
      }).filter((l) => l.startsWith('WARNING')).length,
      0,
    );
  });
});
