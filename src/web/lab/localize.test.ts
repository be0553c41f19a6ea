/**
 * The lab's explanations in Dutch and French: an annotated SMTP session (the course's first exercise,
 * by telnet on port 25) keeps its protocol lines as they crossed the wire, and has no English
 * explanation left where the lab catalogue has a translation; explanations that name what the client
 * sent, the reply codes' detail and the response codes come in the viewer's language too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraceEvent } from '../../trace/bus.js';
import { capsEn } from '../i18n/caps.en.js';
import { capsFr } from '../i18n/caps.fr.js';
import { capsNl } from '../i18n/caps.nl.js';
import { LANGUAGES, type Language } from '../i18n/index.js';
import { labEn } from '../i18n/lab.en.js';
import { labFr } from '../i18n/lab.fr.js';
import { labNl } from '../i18n/lab.nl.js';
import { annotateSession, createAnnotator } from './annotate.js';
import { explainCapabilities } from './capabilities.js';

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
    assert.deepEqual(en, annotateSession(smtpSession(), 'en'), 'English is the default');
  });

  for (const lang of ['nl', 'fr'] as const satisfies readonly Language[]) {
    it(`${lang}: every explanation with a translation is translated; the protocol lines are not`, () => {
      const local = annotateSession(smtpSession(), lang);
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
      const live = createAnnotator('smtp', lang);
      const events = smtpSession().map((e) => live.push(e));
      // The replay adds back references to a command's details; the summaries are the same.
      const summaries = (list: typeof events) => list.map((e) => e.annotation?.summary);
      assert.deepEqual(summaries(events), summaries(annotateSession(smtpSession(), lang)));
    });

    it(`${lang}: what the client sent is named in ${lang}, and stays as it was sent`, () => {
      const local = annotateSession(smtpSession(), lang);
      const line = (text: string) => local.find((e) => e.text === text)?.annotation;
      const mail = line('MAIL FROM:<student01@class.example>');
      assert.equal(
        mail?.summary,
        CATALOGUE[lang]['common.command']
          .replace('{verb}', 'MAIL')
          .replace('{summary}', CATALOGUE[lang]['smtp.command.MAIL']),
      );
      assert.equal(mail?.detail, CATALOGUE[lang]['smtp.sender'].replace('{address}', '<student01@class.example>'));
      assert.equal(
        line('EHLO client.example')?.detail,
        CATALOGUE[lang]['smtp.clientName'].replace('{name}', 'client.example'),
      );
      assert.equal(line('Subject: hello')?.summary, CATALOGUE[lang]['smtp.headerField'].replace('{name}', 'Subject'));
      // The reply's detail line: the code's class and category and the enhanced status code.
      const refused = line('550 5.1.1 no such user');
      assert.ok(refused?.detail?.includes(CATALOGUE[lang]['smtp.class.5']), refused?.detail ?? '');
      assert.ok(refused?.detail?.includes(CATALOGUE[lang]['enhanced.detail.1.1']), refused?.detail ?? '');
      assert.ok(refused?.detail?.includes('5.1.1'), 'the code as the server sent it');
      // The refused RCPT points at the reply that says why, in the same language.
      const rcpt = line('RCPT TO:<nobody@class.example>');
      assert.ok(rcpt?.detail?.includes(CATALOGUE[lang]['session.refusedBy'].split('{seq}')[0]), rcpt?.detail ?? '');
      // An extension in the EHLO reply: the lab's sentence around it is translated.
      const ext = line('250 PIPELINING');
      assert.ok(ext?.summary.startsWith(CATALOGUE[lang]['smtp.extension'].split('{keyword}')[0]), ext?.summary);
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
    for (const lang of ['nl', 'fr'] as const) {
      const local = annotateSession(events, lang);
      const summaryOf = (text: string) => local.find((e) => e.type === 'out' && e.text === text)?.annotation?.summary;
      assert.equal(summaryOf('+OK logged in'), CATALOGUE[lang]['pop3.loggedIn']);
      assert.equal(
        local.find((e) => e.text === 'RETR 1')?.annotation?.summary,
        CATALOGUE[lang]['common.command']
          .replace('{verb}', 'RETR')
          .replace('{summary}', CATALOGUE[lang]['pop3.command.RETR']),
      );
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
    for (const lang of ['nl', 'fr'] as const) {
      const local = annotateSession(events, lang);
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

  it('IMAP in French: a response code, untagged data and the tag named in French', () => {
    const lines: ['in' | 'out', string][] = [
      ['out', '* OK postbode ready'],
      ['in', 'a1 SELECT Archive'],
      ['out', 'a1 NO [NONEXISTENT] no such mailbox'],
      ['in', 'a2 SELECT INBOX'],
      ['out', '* 3 EXISTS'],
      ['out', '* OK [UIDVALIDITY 1700000000] UIDs valid'],
      ['out', 'a2 OK [READ-WRITE] SELECT completed'],
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
    const fr = annotateSession(events, 'fr');
    const at = (text: string) => fr.find((e) => e.text === text)?.annotation;
    const refused = at('a1 NO [NONEXISTENT] no such mailbox');
    assert.equal(
      refused?.detail,
      `${labFr['imap.statusMeans'].replace('{status}', 'NO').replace('{meaning}', labFr['imap.status.NO'])} ${labFr['imap.responseCode'].replace('{code}', 'NONEXISTENT').replace('{meaning}', labFr['imap.code.NONEXISTENT'])}`,
    );
    assert.equal(at('* 3 EXISTS')?.summary, labFr['imap.exists'].replace('{n}', '3'));
    assert.equal(
      at('* OK [UIDVALIDITY 1700000000] UIDs valid')?.summary,
      `[UIDVALIDITY] ${labFr['imap.code.UIDVALIDITY']}`,
    );
    assert.equal(at('a2 OK [READ-WRITE] SELECT completed')?.summary, labFr['imap.selectedReadWrite']);
    assert.ok(at('a2 SELECT INBOX')?.detail?.startsWith(labFr['imap.tag'].replace(/\{tag\}/g, 'a2')));
  });

  it('ManageSieve in Dutch: PUTSCRIPT with its script name and the response code explained', () => {
    const lines: ['in' | 'out', string][] = [
      ['out', '"IMPLEMENTATION" "postbode"'],
      ['out', 'OK "ready"'],
      ['in', 'PUTSCRIPT "vacation" {12+}'],
      ['in', 'keep;stop;'],
      ['out', 'NO (QUOTA/MAXSCRIPTS) "too many scripts"'],
    ];
    const events: TraceEvent[] = [
      {
        ...(smtpSession()[0] as Extract<TraceEvent, { type: 'open' }>),
        proto: 'managesieve',
        listener: 'managesieve',
        localPort: 4190,
      },
      ...lines.map(([type, text], i): TraceEvent => ({ type, sid: 't', t: i + 1, seq: i + 1, text })),
    ];
    const nl = annotateSession(events, 'nl');
    const at = (text: string) => nl.find((e) => e.text === text)?.annotation;
    assert.ok(
      at('PUTSCRIPT "vacation" {12+}')?.detail?.startsWith(
        labNl['managesieve.putscript'].replace('{script}', 'vacation'),
      ),
    );
    const no = at('NO (QUOTA/MAXSCRIPTS) "too many scripts"');
    assert.equal(no?.summary, labNl['managesieve.overQuota']);
    assert.ok(no?.detail?.includes(labNl['managesieve.code.QUOTA/MAXSCRIPTS']), no?.detail ?? '');
  });

  it('the capability explainer says its own sentences in Dutch and French, the keywords as advertised', () => {
    for (const lang of ['nl', 'fr'] as const) {
      const out = explainCapabilities({ smtp: ['SIZE 26214400', 'XFROBNICATE'], pop3: [], imap: [] }, lang);
      const [size, unknown] = out.smtp;
      assert.equal(size.keyword, 'SIZE 26214400');
      const bytes = (26214400).toLocaleString(lang);
      assert.ok(size.effect.endsWith(CATALOGUE[lang]['cap.param.bytes'].replace('{n}', bytes)), size.effect);
      assert.equal(unknown.summary, CATALOGUE[lang]['cap.unknown.summary']);
      assert.ok(unknown.effect.includes('XFROBNICATE'));
      assert.ok(unknown.effect.includes(CATALOGUE[lang]['cap.where.smtp']), unknown.effect);
    }
  });

  it('every keyword the explainer knows has its own summary and effect in Dutch and French', () => {
    const caps = { nl: capsNl, fr: capsFr } as const;
    for (const lang of ['nl', 'fr'] as const) {
      const out = explainCapabilities(
        {
          smtp: ['PIPELINING', 'STARTTLS'],
          pop3: ['UIDL'],
          imap: ['IDLE', 'AUTH=PLAIN'],
          managesieve: ['VERSION "1.0"', 'SIEVE fileinto vacation'],
        },
        lang,
      );
      const idle = out.imap[0];
      assert.equal(idle.keyword, 'IDLE');
      assert.equal(idle.summary, caps[lang]['cap.imap.IDLE.summary']);
      assert.equal(idle.effect, caps[lang]['cap.imap.IDLE.effect']);
      assert.equal(out.sieve[1].summary, caps[lang]['cap.sieve.vacation.summary']);
      for (const c of [...out.smtp, ...out.pop3, ...out.imap, ...out.managesieve, ...out.sieve]) {
        const english = Object.values(capsEn) as string[];
        assert.ok(!english.includes(c.summary), `English summary left in ${lang}: "${c.summary}"`);
        assert.ok(!english.some((e) => c.effect.startsWith(e)), `English effect left in ${lang}: "${c.effect}"`);
      }
    }
  });
});
