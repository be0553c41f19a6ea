import { DkimKeyStore, signMessage, dnsRecordValue } from '../src/delivery/dkim.js';
import { dkimVerify } from 'mailauth';
import { mkdtempSync } from 'node:fs';
const dir = mkdtempSync('/tmp/ed-');

const MESSAGE = Buffer.from(['From: Student <student@a.example>','To: friend@b.example','Subject: Hello over DKIM','Date: Fri, 27 Nov 2026 08:00:00 +0000','Message-ID: <dkim-test@a.example>','MIME-Version: 1.0','Content-Type: text/plain; charset=utf-8','','Hello,','this message is signed.',''].join('\r\n'));
let fails = 0;
for (let i = 0; i < 300; i++) {
  const store = new DkimKeyStore(mkdtempSync('/tmp/ed-'));
  const key = await store.generate('a.example', 'ed1', 'ed25519');
  const signed = await signMessage(MESSAGE, { domain: key.domain, selector: key.selector, privateKey: key.privateKey, algorithm: key.algorithm });
  const record = dnsRecordValue(key.privateKey);
  const res = await dkimVerify(signed, { resolver: async (name: string, type: string) => { if (type === 'TXT') return [[record]]; throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' }); } });
  const r = res.results[0];
  if (r.status.result !== 'pass') { fails++; console.log(i, r.status.result, r.status.comment, signed.toString().split('\r\n\r\n')[0]); }
}
console.log('fails', fails);
