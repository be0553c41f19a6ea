/**
 * How fast a 4 KB multipart message is parsed into its MessageMeta (src/mail/parse.ts), once per
 * delivery: `node --import tsx bench/mime-parse.ts [count]`. A figure for docs/benchmarks.md, not a
 * test (npm test asserts no speed).
 */
import { parseMessage } from '../src/mail/parse.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');

function main(): void {
  const n = Number(process.argv[2] ?? 20_000);
  const text = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n';
  const raw = crlf(
    'From: Alice <a@example.org>\nTo: Bob <b@example.com>, "Carol, C" <c@example.com>\nSubject: Quarterly numbers\n' +
      'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <123@example.org>\nMIME-Version: 1.0\n' +
      'Content-Type: multipart/mixed; boundary="XYZ"\n\n--XYZ\nContent-Type: multipart/alternative; boundary="XYZ-alt"\n\n' +
      `--XYZ-alt\nContent-Type: text/plain; charset=utf-8\n\n${text.repeat(15)}--XYZ-alt\nContent-Type: text/html; charset=utf-8\n\n${text.repeat(15)}--XYZ-alt--\n` +
      `--XYZ\nContent-Type: application/pdf; name="a.pdf"\nContent-Transfer-Encoding: base64\n\n${'QUJD'.repeat(19).concat('\n').repeat(18)}--XYZ--\n`,
  );
  for (let i = 0; i < 500; i++) parseMessage(raw); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) parseMessage(raw);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `parseMessage: ${n} messages of ${raw.length} bytes in ${seconds.toFixed(2)} s: ${Math.round(n / seconds)} messages/s`,
  );
}

main();
