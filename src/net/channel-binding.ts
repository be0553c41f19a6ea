/**
 * TLS channel binding data for SCRAM-SHA-256-PLUS (RFC 5802 §6):
 * - `tls-exporter` (RFC 9266 §2): 32 bytes of the TLS exporter with the label
 *   "EXPORTER-Channel-Binding" and no context. Offered on TLS 1.3 only (RFC 9266 §3: on TLS 1.2 it is
 *   safe only with the extended master secret, which Node does not report).
 * - `tls-server-end-point` (RFC 5929 §4.1): the hash of the server's certificate, with the hash of the
 *   certificate's signature algorithm (SHA-256 when that is MD5 or SHA-1). Null for algorithms without a
 *   single hash (Ed25519, RSA-PSS): RFC 5929 does not define the binding for them.
 */
import { createHash } from 'node:crypto';
import type tls from 'node:tls';

export type ChannelBindingType = 'tls-exporter' | 'tls-server-end-point';

export function channelBindingData(socket: tls.TLSSocket, type: ChannelBindingType): Buffer | null {
  try {
    if (type === 'tls-exporter') {
      if (socket.getProtocol() !== 'TLSv1.3') return null;
      return socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
    }
    const cert = socket.getCertificate();
    const raw = cert && 'raw' in cert ? cert.raw : null;
    if (!raw) return null;
    const hash = endPointHash(raw);
    return hash ? createHash(hash).update(raw).digest() : null;
  } catch {
    return null;
  }
}

// Signature algorithm OIDs (RFC 4055, RFC 5758, RFC 3279) and the hash RFC 5929 §4.1 takes for them.
const HASH_BY_OID: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption → SHA-256
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption → SHA-256
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1 → SHA-256
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

/** The hash for `tls-server-end-point` of a DER certificate, from its signatureAlgorithm; null if unknown. */
export function endPointHash(der: Buffer): string | null {
  const oid = signatureAlgorithmOid(der);
  return oid ? (HASH_BY_OID[oid] ?? null) : null;
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signature }. */
function signatureAlgorithmOid(der: Buffer): string | null {
  const outer = readTlv(der, 0);
  if (outer?.tag !== 0x30) return null;
  const tbs = readTlv(der, outer.start);
  if (!tbs) return null;
  const algorithm = readTlv(der, tbs.end);
  if (algorithm?.tag !== 0x30) return null;
  const oid = readTlv(der, algorithm.start);
  if (oid?.tag !== 0x06) return null;
  return decodeOid(der.subarray(oid.start, oid.end));
}

function readTlv(der: Buffer, at: number): { tag: number; start: number; end: number } | null {
  if (at + 2 > der.length) return null;
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > der.length) return null;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i];
    start += bytes;
  }
  const end = start + length;
  return end <= der.length ? { tag, start, end } : null;
}

function decodeOid(bytes: Buffer): string | null {
  if (bytes.length === 0) return null;
  const parts = [Math.floor(bytes[0] / 40), bytes[0] % 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    value = value * 128 + (bytes[i] & 0x7f);
    if (!(bytes[i] & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}
