/**
 * Summarises a V8 .cpuprofile (as written by `npm run bench -- --cpu-prof DIR`): self time by function
 * and by file, so that one can see where the server spends its time without opening DevTools.
 *
 *   node --import tsx bench/profile.ts DIR/CPU.*.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const m = /\/(dist|src|node_modules)\/(.*)$/.exec(url);
  if (m) return m[1] === 'node_modules' ? `npm:${m[2].split('/')[0]}` : `${m[1]}/${m[2]}`;
  return url.replace(/^node:/, 'node:');
}

function main(): void {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 30;
  const files = args.filter((a, i) => !a.startsWith('--') && (topIndex < 0 || i !== topIndex + 1));
  if (files.length === 0) {
    process.stderr.write('usage: node --import tsx bench/profile.ts FILE.cpuprofile... [--top N]\n');
    process.exitCode = 2;
    return;
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const node = nodes.get(id);
      const dt = profile.timeDeltas[i] ?? 0;
      if (!node) return;
      const { functionName, url, lineNumber } = node.callFrame;
      const fileName = shortUrl(url);
      const fn = `${functionName || '(anonymous)'}  ${fileName}${url ? `:${lineNumber + 1}` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
      byFile.set(fileName, (byFile.get(fileName) ?? 0) + dt);
      total += dt;
    });
  }
  const print = (title: string, map: Map<string, number>) => {
    process.stdout.write(`\n${title}\n`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`,
      );
    }
  };
  process.stdout.write(`${(total / 1e6).toFixed(2)} s sampled in ${files.length} profile(s)\n`);
  print('self time by function', byFunction);
  print('self time by file', byFile);
}

main();
