/** HTML as body :text reads it (Dovecot's mail-html2text, which Pigeonhole uses), checked against Pigeonhole by hand. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { htmlText } from './html-text.js';

describe('sieve body :text of HTML', () => {
  it('a tag is one space, text keeps its own white space', () => {
    assert.equal(htmlText('<html><body><p>HTML <b>bold</b> &amp; more</p></body></html>'), 'HTML bold  & more ');
    assert.equal(htmlText('a<br>b<br/>c'), 'a b c');
    assert.equal(htmlText('  lead   spaces  '), '  lead   spaces  ');
  });

  it('entities: named, numeric, unknown (gone), broken (the & goes)', () => {
    assert.equal(
      htmlText('<p>a&nbsp;b &lt;c&gt; &#233; &#xE9; &eacute; &bogus; & d &amp e &verylongentity; f</p>'),
      'a\u00a0b <c> é é é   d amp e verylongentity; f ',
    );
  });

  it('comments, scripts and styles go; CDATA stays; attributes may hold ">"', () => {
    assert.equal(htmlText('<div>one<!-- hidden -- >two<!-- x -->three</div>'), 'onetwothree ');
    assert.equal(htmlText('<script type="x">var a = "<b>";</script>after<style>p{}</style>end'), 'after end');
    assert.equal(htmlText('<![CDATA[raw <b>cdata</b>]]> done'), 'raw <b>cdata</b> done');
    assert.equal(htmlText(`<a href="x>y" title='it\\'s'>link</a> tail`), 'link  tail');
  });

  it('blockquotes are quoted with "> " lines; unfinished constructs at the end are dropped', () => {
    assert.equal(htmlText('<blockquote>quoted <b>text</b></blockquote>after'), '\n> quoted \n> text\n> \nafter');
    assert.equal(htmlText('text <b'), 'text ');
    assert.equal(htmlText('a &amp'), 'a ');
  });
});
