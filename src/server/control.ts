/**
 * The control socket: a Unix socket in the data directory (`control.sock`) through which the CLI
 * talks to a running server. Protocol: the client sends one JSON line `{"cmd": ...}`; the server
 * answers with JSON lines. `status` answers once; `trace` streams trace events until the client hangs up.
 * Only local users with access to the data directory can connect (the socket is mode 0600).
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from '../log.js';
import type { TraceBus } from '../trace/bus.js';

export interface ControlDeps {
  bus: TraceBus;
  log: Logger;
  status: () => Promise<unknown>;
}

export async function startControlSocket(path: string, deps: ControlDeps): Promise<net.Server> {
  if (existsSync(path)) {
    // A socket left by a crashed server; a live one would answer.
    if (await isAlive(path)) throw new Error(`another postbode server is running with this data directory (${path})`);
    unlinkSync(path);
  }
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 4096) socket.destroy();
        return;
      }
      const line = buf.slice(0, nl);
      buf = '';
      void handle(line, socket, deps);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return server;
}

async function handle(line: string, socket: net.Socket, deps: ControlDeps): Promise<void> {
  let cmd: { cmd?: string };
  try {
    cmd = JSON.parse(line) as { cmd?: string };
  } catch {
    socket.end(`${JSON.stringify({ error: 'bad request: send one JSON line like {"cmd":"status"}' })}\n`);
    return;
  }
  switch (cmd.cmd) {
    case 'status':
      socket.end(`${JSON.stringify(await deps.status())}\n`);
      return;
    case 'trace': {
      for (const open of deps.bus.open.values()) socket.write(`${JSON.stringify(open)}\n`);
      const unsubscribe = deps.bus.subscribe((event) => {
        if (!socket.write(`${JSON.stringify(event)}\n`) && socket.writableLength > 8 << 20) socket.destroy();
      });
      socket.on('close', unsubscribe);
      return;
    }
    default:
      socket.end(`${JSON.stringify({ error: `unknown command ${String(cmd.cmd)}` })}\n`);
  }
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Client side: sends one command and collects (or streams) the JSON lines of the answer. */
export function controlRequest(path: string, cmd: string, onLine?: (value: unknown) => void): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const lines: unknown[] = [];
    let buf = '';
    socket.once('connect', () => socket.write(`${JSON.stringify({ cmd })}\n`));
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const value = JSON.parse(buf.slice(0, nl)) as unknown;
        buf = buf.slice(nl + 1);
        if (onLine) onLine(value);
        else lines.push(value);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(lines));
  });
}
