import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from './parse.js';
import { htmlToText, messageText } from './text.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

describe('message text', () => {
  it('gives text/plain decoded and HTML as text without markup; skips attachments', () => {
    const raw = crlf([
      'Subject: t',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="m"',
      '',
      '--m',
      'Content-Type: multipart/alternative; boundary="a"',
      '',
      '--a',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Gr=FC=DFe aus dem Labor',
      '--a',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(
        '<html><head><style>p{}</style><script>alert(1)</script></head><body><p>Hello <b>class</b> &amp; friends</p><img src="https://tracker.example/x.png"><ul><li>one</li><li>two</li></ul></body></html>',
      ).toString('base64'),
      '--a--',
      '--m',
      'Content-Type: text/plain; name="notes.txt"',
      'Content-Disposition: attachment; filename="notes.txt"',
      '',
      'not shown',
      '--m--',
      '',
    ]);
    const parts = messageText(raw, parseMessage(raw).mime);
    assert.deepEqual(
      parts.map((p) => [p.part, p.type]),
      [
        ['1.1', 'text/plain'],
        ['1.2', 'text/html'],
      ],
    );
    assert.equal(parts[0].text, 'Grüße aus dem Labor');
    assert.equal(parts[1].text, 'Hello class & friends\n\n- one\n- two');
    assert.ok(!parts[1].text.includes('alert') && !parts[1].text.includes('<'));
  });

  it('a single-part message is part 1; long text is cut', () => {
    const raw = crlf(['Subject: s', '', 'line one', 'line two']);
    const [p] = messageText(raw, parseMessage(raw).mime, 8);
    assert.deepEqual(p, { part: '1', type: 'text/plain', text: 'line one', truncated: true });
  });

  it('htmlToText drops comments, unclosed scripts and stray tags', () => {
    assert.equal(htmlToText('a<!-- x --><br>b<script>never closed'), 'a\nb');
    assert.equal(htmlToText('x &lt;y&gt; &#65;&#x42; <a href="u">link</a>'), 'x <y> AB link');
  });
});
