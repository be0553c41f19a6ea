/**
 * The lab's explanations in Dutch and French: an annotated SMTP session (the course's first exercise,
 * by telnet on port 25) keeps its protocol lines as they crossed the wire, and has no English
 * explanation left where the lab catalogue has a translation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraceEvent } from '../../trace/bus.js';
import { LANGUAGES, type Language } from '../i18n/index.js';
import { labEn } from '../i18n/lab.en.js';
import { labFr } from '../i18n/lab.fr.js';
import { labNl } from '../i18n/lab.nl.js';
import { annotateSession } from './annotate.js';
import { createLocalizedAnnotator, localizeEvent } from './localize.js';

const CATALOGUE = { nl: labNl, fr: labFr } as const;

function smtpSession(): TraceEvent[] {
  const lines: ['in' | 'out', string][] = [
    ['out', '220 mx.example.test ESMTP postbode'],
    ['in', 'EHLO client.example'],
    ['out', '250-mx.example.test'],
    ['out', '250 PIPELINING'],
    ['in', 'MAIL FROM:<student01@class.example>'],
    ['out', '250 2.1.0 sender ok'],
    ['in', 'RCPT TO:<nobody@class.example>'],
    ['out', '550 5.1.1 no such user'],
    ['in', 'RCPT TO:<student02@class.example>'],
    ['out', '250 2.1.5 recipient ok'],
    ['in', 'DATA'],
    ['out', '354 go ahead'],
    ['in', 'Subject: hello'],
    ['in', ''],
    ['in', 'hi'],
    ['in', '.'],
    ['out', '250 2.0.0 queued'],
    ['in', 'QUIT'],
    ['out', '221 2.0.0 bye'],
  ];
  const events: TraceEvent[] = [
    {
      type: 'open',
      sid: 't',
      t: 0,
      proto: 'smtp',
      listener: 'smtp',
      remote: '192.168.1.20',
      remotePort: 40000,
      local: '192.168.1.1',
      localPort: 25,
      tls: false,
    },
  ];
  lines.forEach(([type, text], i) => {
    events.push({ type, sid: 't', t: i + 1, seq: i + 1, text });
  });
  return events;
}

const english = new Set<string>(Object.values(labEn));

describe('the lab in Dutch and French', () => {
  const en = annotateSession(smtpSession());

  it('the English explanations are the catalogue’s (the lab modules read them from it)', () => {
    const summaries = en.map((e) => e.annotation?.summary ?? '');
    assert.ok(summaries.includes(labEn['smtp.reply.RCPT.550']));
    assert.ok(summaries.includes(labEn['smtp.reply.DATA.354']));
    assert.ok(summaries.includes(labEn['session.openPlain']));
    assert.deepEqual(
      en,
      en.map((e) => localizeEvent(e, 'en')),
      'English stays as it is',
    );
  });

  for (const lang of ['nl', 'fr'] as const satisfies readonly Language[]) {
    it(`${lang}: every explanation with a translation is translated; the protocol lines are not`, () => {
      const local = en.map((e) => localizeEvent(e, lang));
      let translated = 0;
      for (const [i, ev] of local.entries()) {
        assert.equal(ev.text, en[i].text, 'the line as it crossed the wire');
        const a = ev.annotation;
        if (!a) continue;
        for (const text of [a.summary, a.detail]) {
          if (text === null) continue;
          const key = Object.entries(labEn).find(([, v]) => v === text)?.[0] as keyof typeof labEn | undefined;
          assert.ok(key === undefined || CATALOGUE[lang][key] === labEn[key], `English left in ${lang}: "${text}"`);
        }
        if (a.summary !== en[i].annotation?.summary) translated++;
      }
      assert.ok(translated >= 8, `${translated} explanations translated`);
      const rcpt = local.find((e) => e.type === 'out' && e.text.startsWith('550'));
      assert.equal(rcpt?.annotation?.summary, CATALOGUE[lang]['smtp.reply.RCPT.550']);
      assert.equal(rcpt?.annotation?.code, '550', 'codes stay as the server sent them');
    });

    it(`${lang}: a live annotator gives the same as the replay`, () => {
      const live = createLocalizedAnnotator('smtp', lang);
      const events = smtpSession().map((e) => live.push(e));
      // The replay adds back references to a command's details; the summaries are the same.
      const summaries = (list: typeof events) => list.map((e) => e.annotation?.summary);
      assert.deepEqual(summaries(events), summaries(en.map((e) => localizeEvent(e, lang))));
    });
  }

  it('POP3 in Dutch and French: USER/PASS, STAT, RETR, DELE and QUIT explained, the lines as sent', () => {
    const lines: ['in' | 'out', string][] = [
      ['out', '+OK POP3 server ready <1.2@mx.example.test>'],
      ['in', 'USER student01@class.example'],
      ['out', '+OK'],
      ['in', 'PASS ********'],
      ['out', '+OK logged in'],
      ['in', 'STAT'],
      ['out', '+OK 1 120'],
      ['in', 'RETR 1'],
      ['out', '+OK 120 octets'],
      ['out', 'Subject: hi'],
      ['out', '.'],
      ['in', 'DELE 1'],
      ['out', '+OK'],
      ['in', 'QUIT'],
      ['out', '+OK bye'],
    ];
    const events: TraceEvent[] = [
      {
        ...(smtpSession()[0] as Extract<TraceEvent, { type: 'open' }>),
        proto: 'pop3',
        listener: 'pop3',
        localPort: 110,
      },
      ...lines.map(([type, text], i): TraceEvent => ({ type, sid: 't', t: i + 1, seq: i + 1, text })),
    ];
    const en = annotateSession(events);
    for (const lang of ['nl', 'fr'] as const) {
      const local = en.map((e) => localizeEvent(e, lang));
      const summaryOf = (text: string) => local.find((e) => e.type === 'out' && e.text === text)?.annotation?.summary;
      assert.equal(summaryOf('+OK logged in'), CATALOGUE[lang]['pop3.loggedIn']);
      assert.equal(summaryOf('+OK bye'), CATALOGUE[lang]['pop3.quitUpdate']);
      for (const e of local) {
        const text = e.annotation?.summary ?? '';
        const key = Object.entries(labEn).find(([, v]) => v === text)?.[0] as keyof typeof labEn | undefined;
        assert.ok(key === undefined || CATALOGUE[lang][key] === labEn[key], `English left in ${lang}: "${text}"`);
      }
    }
  });

  it('IMAP in Dutch and French: the greeting, LOGIN and LOGOUT explained', () => {
    const lines: ['in' | 'out', string][] = [
      ['out', '* OK [CAPABILITY IMAP4rev1] postbode ready'],
      ['in', 'a1 LOGIN student01@class.example ********'],
      ['out', 'a1 OK LOGIN completed'],
      ['in', 'a2 LOGOUT'],
      ['out', '* BYE logging out'],
      ['out', 'a2 OK LOGOUT completed'],
    ];
    const events: TraceEvent[] = [
      {
        ...(smtpSession()[0] as Extract<TraceEvent, { type: 'open' }>),
        proto: 'imap',
        listener: 'imap',
        localPort: 143,
      },
      ...lines.map(([type, text], i): TraceEvent => ({ type, sid: 't', t: i + 1, seq: i + 1, text })),
    ];
    const en = annotateSession(events);
    for (const lang of ['nl', 'fr'] as const) {
      const local = en.map((e) => localizeEvent(e, lang));
      const summaryOf = (text: string) => local.find((e) => e.type === 'out' && e.text === text)?.annotation?.summary;
      assert.equal(summaryOf('* OK [CAPABILITY IMAP4rev1] postbode ready'), CATALOGUE[lang]['imap.greetingOk']);
      assert.equal(summaryOf('a1 OK LOGIN completed'), CATALOGUE[lang]['imap.loggedIn']);
      assert.equal(summaryOf('a2 OK LOGOUT completed'), CATALOGUE[lang]['imap.logout']);
    }
  });

  it('knows every language', () => {
    assert.deepEqual([...LANGUAGES], ['en', 'nl', 'fr']);
    assert.ok(english.size > 0);
  });
});
