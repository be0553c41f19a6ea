import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { type ImapHarness, startImap } from '../../test/harness/imap-harness.js';

describe('COMPRESS=DEFLATE (RFC 4978)', () => {
  let h: ImapHarness;
  before(async () => {
    h = await startImap();
    await h.account('alice@example.test', 'pw');
  });
  after(() => h.stop());

  it('compresses both directions after the tagged OK', async () => {
    const socket = net.connect(h.port, '127.0.0.1');
    let plain = '';
    let inflated = '';
    let inflate: zlib.InflateRaw | null = null;
    socket.on('data', (d: Buffer) => {
      if (inflate) inflate.write(d);
      else plain += d.toString('latin1');
    });
    const waitFor = async (get: () => string, re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(get()); i++) await new Promise((r) => setTimeout(r, 10));
      assert.match(get(), re);
    };
    await waitFor(() => plain, /^\* OK/);
    socket.write('a LOGIN alice@example.test pw\r\n');
    await waitFor(() => plain, /a OK/);
    assert.match(
      await (async () => {
        socket.write('b COMPRESS DEFLATE\r\n');
        await waitFor(() => plain, /b OK DEFLATE active\r\n/);
        return plain;
      })(),
      /b OK DEFLATE active\r\n$/,
    );
    inflate = zlib.createInflateRaw();
    inflate.on('data', (d: Buffer) => {
      inflated += d.toString('latin1');
    });
    const deflate = zlib.createDeflateRaw();
    deflate.on('data', (d: Buffer) => socket.write(d));
    deflate.write('c NOOP\r\nd COMPRESS DEFLATE\r\ne SELECT INBOX\r\n');
    deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    await waitFor(() => inflated, /e OK \[READ-WRITE\]/);
    assert.match(inflated, /c OK NOOP completed/);
    assert.match(inflated, /d NO \[COMPRESSIONACTIVE\]/);
    // IDLE inside the compressed stream: a delivery is announced at once; DONE comes in two pieces.
    const send = (text: string) => {
      deflate.write(text);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    };
    send('f IDLE\r\n');
    await waitFor(() => inflated, /\+ idling\r\n$/);
    const id = (await h.store.accounts.get('alice@example.test'))?.id ?? 0;
    await h.deliver(id, 'Subject: zipped\r\n\r\nbody\r\n');
    await waitFor(() => inflated, /\* 1 EXISTS\r\n/);
    send('DO');
    send('NE\r\n');
    await waitFor(() => inflated, /f OK IDLE terminated\r\n$/);
    socket.destroy();
  });
});
