/**
 * The floor of one message per connection on this machine: a bare Node.js process that speaks just
 * enough SMTP for the load (greeting, EHLO with PIPELINING, MAIL/RCPT answered 250, DATA read to the
 * dot, QUIT) and stores nothing. The same load against it shows what the sockets, the kernel and the
 * event loop cost per connection before any mail server work: the figure a server's own can be set
 * beside (docs/benchmarks.md "One message per connection").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/** The responder, run with `node -e` in its own process (so that its CPU is its own). */
const RESPONDER = `
const net = require('node:net');
const server = net.createServer((s) => {
  s.on('error', () => {});
  s.write('220 floor ESMTP\\r\\n');
  let buf = '';
  let data = false;
  s.on('data', (chunk) => {
    buf += chunk.toString('latin1');
    let out = '';
    for (;;) {
      if (data) {
        const end = buf.indexOf('\\r\\n.\\r\\n');
        if (end < 0) { if (buf.length > 4) buf = buf.slice(-4); break; }
        buf = buf.slice(end + 5);
        data = false;
        out += '250 2.0.0 Ok: stored nowhere\\r\\n';
        continue;
      }
      const eol = buf.indexOf('\\r\\n');
      if (eol < 0) break;
      const verb = buf.slice(0, 4).toUpperCase();
      buf = buf.slice(eol + 2);
      if (verb === 'EHLO') out += '250-floor\\r\\n250-PIPELINING\\r\\n250 8BITMIME\\r\\n';
      else if (verb === 'DATA') { out += '354 End data with <CR><LF>.<CR><LF>\\r\\n'; data = true; }
      else if (verb === 'QUIT') { s.end(out + '221 2.0.0 Bye\\r\\n'); return; }
      else out += '250 2.1.0 Ok\\r\\n';
    }
    if (out) s.write(out);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

export interface Floor {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startFloor(): Promise<Floor> {
  const child: ChildProcess = spawn(process.execPath, ['-e', RESPONDER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [first] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  const port = Number.parseInt(first.toString(), 10);
  if (!Number.isInteger(port) || child.pid === undefined) throw new Error('the floor responder did not start');
  return {
    port,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}
