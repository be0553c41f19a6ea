import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ImapHarness, startImap } from '../../test/harness/imap-harness.js';

describe('IMAP session core', () => {
  let h: ImapHarness;
  before(async () => {
    h = await startImap();
    await h.account('alice@example.test', 'pw');
  });
  after(() => h.stop());

  it('greets with capabilities and refuses commands in the wrong state', async () => {
    const c = await h.connect({ login: false });
    const caps = await c.cmd('CAPABILITY');
    assert.match(caps.untagged[0], /^\* CAPABILITY IMAP4rev1 IMAP4rev2 .*AUTH=PLAIN/);
    assert.match((await c.cmd('SELECT INBOX')).tagged, /^t\d+ BAD .*log in first/);
    assert.match((await c.cmd('LOGIN alice@example.test wrong')).tagged, /^t\d+ NO \[AUTHENTICATIONFAILED\]/);
    const ok = await c.cmd('LOGIN alice@example.test pw');
    assert.match(ok.tagged, /^t\d+ OK \[CAPABILITY .*IDLE.*\] LOGIN completed/);
    // The refusal names the state the command needs, not the one it lacks a mailbox for.
    assert.match((await c.cmd('LOGIN alice@example.test pw')).tagged, /^t\d+ BAD LOGIN is only valid before login$/);
    assert.match((await c.cmd('STARTTLS')).tagged, /^t\d+ BAD STARTTLS is only valid before login$/);
    assert.match((await c.cmd('FETCH 1 FLAGS')).tagged, /^t\d+ BAD FETCH needs a selected mailbox/);
    assert.match((await c.cmd('FOO')).tagged, /^t\d+ BAD Unknown command/i);
    assert.match((await c.cmd('SELECT')).tagged, /^t\d+ BAD Syntax error/);
    const bye = await c.cmd('LOGOUT');
    assert.match(bye.untagged[0], /^\* BYE/);
  });

  it('AUTHENTICATE PLAIN with SASL-IR and with a continuation', async () => {
    const c = await h.connect({ login: false });
    const ir = Buffer.from('\0alice@example.test\0pw').toString('base64');
    assert.equal((await c.cmd(`AUTHENTICATE PLAIN ${ir}`)).status, 'OK');
    const d = await h.connect({ login: false });
    const tag = d.nextTag();
    d.write(`${tag} AUTHENTICATE PLAIN\r\n`);
    assert.equal(await d.line(), '+ ');
    d.write(`${ir}\r\n`);
    assert.equal((await d.until(tag)).status, 'OK');
  });

  it('selects INBOX and sees a delivery made while selected (NOOP) and in IDLE', async () => {
    const id = (await h.store.accounts.get('alice@example.test'))!.id;
    await h.deliver(id, 'Subject: one\r\n\r\nbody\r\n');
    const c = await h.connect();
    const sel = await c.cmd('SELECT INBOX');
    assert.ok(sel.untagged.includes('* 1 EXISTS'));
    assert.ok(sel.untagged.some((l) => /^\* OK \[UIDVALIDITY \d+\]/.test(l)));
    assert.ok(sel.untagged.some((l) => /^\* OK \[UIDNEXT 2\]/.test(l)));
    assert.match(sel.tagged, /OK \[READ-WRITE\] SELECT completed/);
    await h.deliver(id, 'Subject: two\r\n\r\nbody\r\n');
    const noop = await c.cmd('NOOP');
    // IMAP4rev1: RECENT follows EXISTS (RFC 3501 §7.3.2); both messages are \Recent in this session.
    assert.deepEqual(noop.untagged, ['* 2 EXISTS', '* 2 RECENT']);
    const tag = c.nextTag();
    c.write(`${tag} IDLE\r\n`);
    assert.equal(await c.line(), '+ idling');
    const started = Date.now();
    await h.deliver(id, 'Subject: three\r\n\r\nbody\r\n');
    assert.equal(await c.line(), '* 3 EXISTS');
    assert.ok(Date.now() - started < 1000);
    c.write('DONE\r\n');
    assert.match((await c.until(tag)).tagged, /OK IDLE terminated/);
  });

  it('ends IDLE with DONE split across packets, pipelined after IDLE, or followed by a command', async () => {
    const id = (await h.store.accounts.get('alice@example.test'))!.id;
    const c = await h.connect();
    await c.cmd('SELECT INBOX');
    const exists = async () => {
      await h.deliver(id, 'Subject: more\r\n\r\nbody\r\n');
      assert.match(await c.line(), /^\* \d+ EXISTS$/);
      assert.match(await c.line(), /^\* \d+ RECENT$/); // IMAP4rev1
    };
    // One byte at a time, with a delivery announced between the bytes: still in IDLE until the CRLF.
    let tag = c.nextTag();
    c.write(`${tag} IDLE\r\n`);
    assert.equal(await c.line(), '+ idling');
    c.write('D');
    await exists();
    c.write('o');
    c.write('N');
    await exists();
    c.write('e\r');
    await exists();
    c.write('\n');
    assert.match((await c.until(tag)).tagged, /OK IDLE terminated/);
    // IDLE and DONE in one packet, with a command after them.
    tag = c.nextTag();
    c.write(`${tag} IDLE\r\nDONE\r\nz1 NOOP\r\n`);
    assert.equal(await c.line(), '+ idling');
    assert.match((await c.until(tag)).tagged, /OK IDLE terminated/);
    assert.match((await c.until('z1')).tagged, /^z1 OK/);
    // Anything but DONE ends IDLE with BAD; the session goes on.
    tag = c.nextTag();
    c.write(`${tag} IDLE\r\n`);
    assert.equal(await c.line(), '+ idling');
    await exists();
    c.write('z2 NOOP\r\n');
    assert.match((await c.until(tag)).tagged, /BAD Expected DONE/);
    assert.equal((await c.cmd('NOOP')).status, 'OK');
    // The end of input in IDLE ends the session.
    tag = c.nextTag();
    c.write(`${tag} IDLE\r\n`);
    assert.equal(await c.line(), '+ idling');
    c.socket.end();
    await assert.rejects(c.line(), /connection closed/);
  });

  it('answers a bad tag with * BAD and keeps going', async () => {
    const c = await h.connect();
    c.write('\r\n');
    assert.match(await c.line(), /^\* BAD /);
    assert.equal((await c.cmd('NOOP')).status, 'OK');
  });

  it('answers "a{ NOOP" with * BAD, not with a BAD tagged "a" (the answer of another command)', async () => {
    const c = await h.connect();
    for (const bad of ['a{ NOOP', 'a% NOOP', 'a" NOOP', 'a(NOOP']) {
      c.write(`${bad}\r\n`);
      assert.match(await c.line(), /^\* BAD .*a tag of letters and digits/, bad);
    }
    assert.equal((await c.cmd('NOOP')).status, 'OK');
  });
});

describe('UTF8=ACCEPT (RFC 6855)', () => {
  let h: ImapHarness;
  before(async () => {
    h = await startImap();
    await h.account('alice@example.test', 'pw');
  });
  after(() => h.stop());

  it('uses modified UTF-7 names until UTF8=ACCEPT is enabled, UTF-8 after', async () => {
    const c = await h.connect();
    assert.equal((await c.cmd('CREATE Entw&APw-rfe')).status, 'OK');
    assert.ok((await c.cmd('LIST "" "Entw*"')).untagged.some((l) => l.includes('Entw&APw-rfe')));
    const en = await c.cmd('ENABLE UTF8=ACCEPT');
    assert.deepEqual(en.untagged, ['* ENABLED UTF8=ACCEPT']);
    const list = await c.cmd('LIST "" "Entw*"');
    assert.ok(
      list.untagged.some((l) => l.includes('Entwürfe')),
      list.untagged.join('\n'),
    );
    assert.equal((await c.cmd('SELECT "Entwürfe"')).status, 'OK');
  });
});

describe('literal limits before login', () => {
  let h: ImapHarness;
  before(async () => {
    h = await startImap();
    await h.account('alice@example.test', 'pw');
  });
  after(() => h.stop());

  it('refuses a big literal before login without waiting for it, and accepts small ones', async () => {
    const c = await h.connect({ login: false });
    const tag = c.nextTag();
    c.write(`${tag} APPEND INBOX {100000}\r\n`);
    const r = await c.until(tag);
    assert.match(r.tagged, /^t\d+ (NO|BAD) \[TOOBIG\]/);
    const t2 = c.nextTag();
    c.write(`${t2} LOGIN {18}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write('alice@example.test {2}\r\n');
    assert.match(await c.line(), /^\+ /);
    c.write('pw\r\n');
    assert.equal((await c.until(t2)).status, 'OK');
  });
});
