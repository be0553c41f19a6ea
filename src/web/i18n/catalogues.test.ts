import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CATALOGUES, fromAcceptLanguage, LANGUAGES, negotiate, placeholders, translate } from './index.js';

describe('the catalogues', () => {
  for (const [area, byLang] of Object.entries(CATALOGUES)) {
    it(`${area}: every key exists in en, nl and fr, with the same placeholders and a text`, () => {
      const keys = new Set(LANGUAGES.flatMap((l) => Object.keys(byLang[l])));
      const problems: string[] = [];
      for (const key of [...keys].sort()) {
        const en = byLang.en[key];
        for (const lang of LANGUAGES) {
          const text = byLang[lang][key];
          if (text === undefined) {
            problems.push(`${area}.${lang} has no key "${key}"`);
            continue;
          }
          if (text.trim() === '') problems.push(`${area}.${lang} "${key}" is empty`);
          if (en !== undefined && placeholders(text).join(',') !== placeholders(en).join(',')) {
            problems.push(
              `${area}.${lang} "${key}" has placeholders {${placeholders(text).join('},{')}} where en has {${placeholders(en).join('},{')}}`,
            );
          }
        }
      }
      assert.deepEqual(problems, []);
    });
  }
});

describe('translate', () => {
  it('fills placeholders, falls back to English and then to the key', () => {
    assert.equal(translate('nl', 'language.label'), 'Taal');
    assert.equal(translate('fr', 'no.such.key'), 'no.such.key');
    assert.equal(translate('en', 'no.such.key {x}', { x: 1 }), 'no.such.key 1');
    assert.equal(translate('en', 'keeps {unknown}', {}), 'keeps {unknown}');
  });
});

describe('negotiate', () => {
  it('takes the switch, then the browser, then the configuration, then English', () => {
    assert.equal(negotiate({ chosen: 'fr', acceptLanguage: 'nl', configured: 'en' }), 'fr');
    assert.equal(negotiate({ chosen: 'xx', acceptLanguage: 'de-DE,nl;q=0.8,fr;q=0.9' }), 'fr');
    assert.equal(negotiate({ acceptLanguage: 'de-DE', configured: 'nl' }), 'nl');
    assert.equal(negotiate({ acceptLanguage: 'de-DE' }), 'en');
    assert.equal(fromAcceptLanguage('nl-BE;q=0, en'), 'en');
  });
});
