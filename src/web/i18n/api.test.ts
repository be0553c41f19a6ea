/**
 * The web API's error texts in Dutch and French: the `problem.*` templates match, word for word, what
 * the lower layers write in English (an address, a domain, a password, a Sieve script name, a login
 * throttle, a class-reset pattern, the Filters form's rules), so a change of wording there fails here
 * instead of quietly showing English.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passwordError } from '../../auth/password-policy.js';
import { throttledText } from '../../auth/service.js';
import { domainNameError, mailboxError } from '../../mail/address-syntax.js';
import { sieveNameProblem } from '../../store/sieve.js';
import { accountPattern } from '../class-reset.js';
import { rulesSchema } from '../sieve-rules.js';
import { apiEn } from './api.en.js';
import { apiFr } from './api.fr.js';
import { apiNl } from './api.nl.js';
import { apiText, apiTranslated } from './index.js';

function problems(): string[] {
  const out: (string | null)[] = [
    mailboxError(`${'a'.repeat(250)}@b.example`, true),
    mailboxError('no-at-sign', true),
    mailboxError(`${'a'.repeat(65)}@b.example`, true),
    mailboxError('jörg@b.example', false),
    mailboxError('a b@b.example', true),
    mailboxError('a@[not a literal]', true),
    mailboxError('a@bad_domain.example', true),
    domainNameError(''),
    domainNameError('@class.example'),
    domainNameError('xn--a.example'),
    domainNameError(`${'abcdefghi.'.repeat(26)}example`),
    domainNameError('under_score.example'),
    domainNameError('10.0.0.1'),
    passwordError('', 8),
    passwordError('short', 8),
    sieveNameProblem(''),
    sieveNameProblem('x'.repeat(200)),
    sieveNameProblem('a\nb'),
    sieveNameProblem('\ud800'),
    sieveNameProblem('e\u0301'),
    throttledText({ scope: 'address', retryAfterMs: 3000 }),
    throttledText({ scope: 'account', retryAfterMs: 3000 }),
  ];
  for (const pattern of ['  ', 'x'.repeat(321)]) {
    try {
      accountPattern(pattern);
    } catch (err) {
      out.push((err as Error).message);
    }
  }
  const badRules = [
    { filters: [{ field: 'header', value: 'x', flag: true }] },
    { filters: [{ field: 'from', value: '', fileinto: 'a', discard: true }] },
    { filters: [{ field: 'from', value: 'x', fileinto: ' ' }] },
    { filters: [{ field: 'from', value: 'x' }] },
    { filters: [{ field: 'from', value: 'x'.repeat(1001), fileinto: 'a\nb', flag: true }] },
    { filters: [{ field: 'header', header: 'X'.repeat(77), value: 'x\u0001', flag: true }] },
    { filters: [{ field: 'header', header: 'a\nb', value: 'x', fileinto: 'f'.repeat(256) }] },
    { vacation: { start: 'soon', end: '2026-13-01', text: ' ', subject: 'a\nb', days: 0.5 } },
    { vacation: { text: 'x'.repeat(10_001), days: 0 } },
    { vacation: { text: 'x\u0001', days: 61, subject: 's'.repeat(201) } },
    { vacation: { start: '2026-12-24', end: '2026-12-01', text: 'away' } },
    { filters: Array.from({ length: 101 }, () => ({ field: 'from', value: 'x', flag: true })) },
  ];
  for (const rules of badRules) {
    const result = rulesSchema.safeParse(rules);
    assert.ok(!result.success, JSON.stringify(rules));
    out.push(...result.error.issues.map((i) => i.message));
  }
  return out.map((p) => {
    assert.ok(p, 'each case is a problem');
    return p;
  });
}

describe('the web API in Dutch and French', () => {
  it('says every problem a lower layer words in English in nl and fr', () => {
    const english = problems();
    const matched = new Set<string>();
    for (const text of english) {
      for (const [lang, catalogue] of [
        ['nl', apiNl],
        ['fr', apiFr],
      ] as const) {
        const said = apiTranslated(lang, text);
        assert.notEqual(said, text, `no ${lang} template for "${text}"`);
        assert.ok(!said.includes('{'), `unfilled placeholder in "${said}"`);
        const key = Object.entries(catalogue).find(([k, v]) => k.startsWith('problem.') && fillsTo(v, said))?.[0];
        if (key) matched.add(key);
      }
      assert.equal(apiTranslated('en', text), text);
    }
    const unused = Object.keys(apiEn).filter(
      (k) => k.startsWith('problem.') && !k.startsWith('problem.alias.') && !matched.has(k),
    );
    assert.deepEqual(unused, [], 'every template is tried by a case above');
  });

  it('keeps the values in a problem as they were written', () => {
    assert.equal(
      apiTranslated('nl', domainNameError('under_score.example') ?? ''),
      '"under_score.example" is geen geldige domeinnaam: gebruik letters, cijfers en "-" tussen de punten, bijv. example.org',
    );
    assert.equal(
      apiText('fr', 'zod.address', {
        value: 'a b@class.example',
        problem: mailboxError('a b@class.example', true) ?? '',
      }),
      '"a b@class.example" n’est pas une adresse valide : la partie locale contient des caractères qui doivent être mis entre guillemets',
    );
    assert.equal(apiTranslated('fr', 'something no template knows'), 'something no template knows');
  });

  it('says the alias rules in nl and fr (the alias key and targets kept)', () => {
    const loop = 'a@x.example -> b@x.example, c@y.example would make a loop: a@x.example -> b@x.example -> a@x.example';
    assert.equal(
      apiTranslated('nl', loop),
      'a@x.example -> b@x.example, c@y.example zou een lus maken: a@x.example -> b@x.example -> a@x.example',
    );
    const notLocal =
      'far.example is not a local domain, so x@far.example cannot be an alias here: mail to far.example is delivered ' +
      'to its own servers. Making it local would take all its mail, and no user could send to anyone at far.example. ' +
      'If this server is meant to receive mail for far.example, add the domain first (POST /api/domains {"name": "far.example"}).';
    assert.match(
      apiTranslated('fr', notLocal),
      /^far\.example n’est pas un domaine local.*\(POST \/api\/domains \{"name": "far\.example"\}\)\.$/,
    );
    assert.equal(
      apiTranslated('nl', 'x@a.example cannot be an alias of itself'),
      'x@a.example kan geen alias van zichzelf zijn',
    );
  });
});

/** Whether `text` is `template` with its placeholders filled in somehow. */
function fillsTo(template: string, text: string): boolean {
  const source = template
    .split(/\{[A-Za-z0-9_]+\}/)
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]+?');
  return new RegExp(`^${source}$`).test(text);
}
