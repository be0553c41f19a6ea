/** A byte-exact POP3 retrieval helper for black-box tests: logs in and returns every message (dot-unstuffed). */
import net from 'node:net';

export async function popRetrieveAll(port: number, user: string, pass: string): Promise<Buffer[]> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  socket.on('error', () => {});
  const waitFor = async (pred: () => number): Promise<number> => {
    for (;;) {
      const at = pred();
      if (at >= 0) return at;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`pop3 timeout: ${buf.toString()}`)), 5000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  };
  const line = async (): Promise<string> => {
    const nl = await waitFor(() => buf.indexOf('\r\n'));
    const text = buf.subarray(0, nl).toString('latin1');
    buf = buf.subarray(nl + 2);
    return text;
  };
  const ok = async (cmd?: string) => {
    if (cmd) socket.write(`${cmd}\r\n`);
    const l = await line();
    if (!l.startsWith('+OK')) throw new Error(`${cmd}: ${l}`);
    return l;
  };
  try {
    await ok();
    await ok(`USER ${user}`);
    await ok(`PASS ${pass}`);
    const stat = await ok('STAT');
    const count = Number(stat.split(' ')[1]);
    const out: Buffer[] = [];
    for (let i = 1; i <= count; i++) {
      await ok(`RETR ${i}`);
      const end = await waitFor(() => (buf.subarray(0, 3).equals(Buffer.from('.\r\n')) ? 0 : buf.indexOf('\r\n.\r\n')));
      const body = end === 0 ? Buffer.alloc(0) : buf.subarray(0, end + 2);
      buf = buf.subarray(end === 0 ? 3 : end + 5);
      // Undo byte-stuffing: a line starting with ".." becomes ".".
      const lines: Buffer[] = [];
      let start = 0;
      while (start < body.length) {
        let nl = body.indexOf('\r\n', start);
        if (nl < 0) nl = body.length - 2;
        let lineBuf = body.subarray(start, nl + 2);
        if (lineBuf[0] === 0x2e) lineBuf = lineBuf.subarray(1);
        lines.push(lineBuf);
        start = nl + 2;
      }
      out.push(Buffer.concat(lines));
    }
    await ok('QUIT');
    return out;
  } finally {
    socket.destroy();
  }
}
