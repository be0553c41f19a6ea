/**
 * What `postbode serve --classroom` prints at start: what classroom mode opens and why it is for a lab
 * network only, and a warning for every listener reachable on a public address (one bound to a public
 * address, or to all interfaces on a host that has one, from os.networkInterfaces()).
 */
import { BlockList, isIPv6 } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { PRIVATE_NETWORKS } from '../config/load.js';

/** Addresses that are not public: loopback, private, link-local, shared (CGNAT) and unspecified. */
const NOT_PUBLIC = new BlockList();
for (const cidr of [
  ...PRIVATE_NETWORKS,
  '127.0.0.0/8',
  '169.254.0.0/16',
  '100.64.0.0/10',
  '0.0.0.0/8',
  '::1/128',
  'fe80::/10',
  '::/128',
]) {
  const [addr, bits] = cidr.split('/');
  NOT_PUBLIC.addSubnet(addr, Number(bits), isIPv6(addr) ? 'ipv6' : 'ipv4');
}

/** Whether an IP address is reachable from the internet (not loopback, private, link-local or CGNAT). */
export function isPublicAddress(address: string): boolean {
  let a = address.toLowerCase().replace(/^\[|\]$/g, '');
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
  const ipv6 = isIPv6(a);
  try {
    return !NOT_PUBLIC.check(a, ipv6 ? 'ipv6' : 'ipv4');
  } catch {
    return false; // a host name, not an address
  }
}

/** The host's addresses that are public, from os.networkInterfaces(). */
export function publicInterfaceAddresses(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): { address: string; family: 'IPv4' | 'IPv6' }[] {
  const found: { address: string; family: 'IPv4' | 'IPv6' }[] = [];
  for (const list of Object.values(interfaces)) {
    for (const i of list ?? []) {
      if (!i.internal && isPublicAddress(i.address)) found.push({ address: i.address, family: i.family });
    }
  }
  return found;
}

/** The lines printed at start in classroom mode. */
export function classroomNotice(
  listeners: readonly { name: string; host: string; port: number }[],
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): string[] {
  const lines = [
    'CLASSROOM MODE (--classroom, lab.classroom = true), for a lab network only:',
    '  - the web lab listens on all interfaces, so every machine that reaches this one can open it;',
    '  - plaintext logins (SMTP AUTH, POP3 USER/PASS, IMAP LOGIN) are allowed without TLS from the',
    '    private networks (10/8, 172.16/12, 192.168/16, fc00::/7) as well as loopback: passwords',
    '    cross the network in clear, where anyone on it can read them (that is the lesson);',
    '  - a student sees in the web lab the port-25 sessions that came from the address their browser',
    "    uses (on a shared NAT address every student sees every other student's).",
    '  Do not run classroom mode on a server reachable from the internet.',
  ];
  const publicAddrs = publicInterfaceAddresses(interfaces);
  for (const l of listeners) {
    const host = l.host.replace(/^\[|\]$/g, '');
    let exposed: string[] = [];
    if (host === '::' || host === '0.0.0.0' || host === '') {
      exposed = publicAddrs.filter((a) => host !== '0.0.0.0' || a.family === 'IPv4').map((a) => a.address);
    } else if (isPublicAddress(host)) {
      exposed = [host];
    }
    if (exposed.length > 0) {
      const where = host.includes(':') ? `[${host}]:${l.port}` : `${host}:${l.port}`;
      lines.push(
        `WARNING: classroom mode with listener ${l.name} (${where}) on a public address (${exposed.join(', ')}): anyone on the internet can reach it; bind it to the lab network's address (--listen ${l.name}=ADDRESS:${l.port})`,
      );
    }
  }
  return lines;
}
