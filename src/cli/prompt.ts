/** Reading a password: hidden prompt on a terminal, one line from stdin otherwise (for scripts). */
import { createInterface } from 'node:readline';
import { CliError } from './context.js';

export async function readPassword(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    return '';
  }
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      process.stdout.write(q);
      const stdin = process.stdin;
      stdin.setRawMode(true);
      stdin.resume();
      let value = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.setRawMode(false);
            stdin.pause();
            stdin.off('data', onData);
            process.stdout.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') process.exit(130);
          if (ch === '\u007f') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  const first = await ask(question);
  const again = await ask('Repeat password: ');
  if (first !== again) throw new Error('the passwords do not match');
  return first;
}

/**
 * Asks `question [y/N]` on a terminal before a deletion; true only for "y" or "yes". Without a terminal
 * (a script, a pipe) nobody can answer: it refuses with a message naming `--yes`, unless `yes` is set.
 */
export async function confirm(question: string, opts: { yes?: boolean; refusal: string }): Promise<boolean> {
  if (opts.yes) return true;
  if (!process.stdin.isTTY) throw new CliError(opts.refusal);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
