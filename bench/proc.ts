/**
 * What the server processes use, read from /proc (Linux only): memory (Pss from smaps_rollup, RSS from
 * status) and CPU time, summed over a set of root processes and all their descendants. Summing over
 * the tree covers servers that fork per connection (Dovecot's pop3, Postfix's smtpd), and Pss splits
 * shared pages fairly between processes, so the sum is not inflated by shared libraries.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface MemorySample {
  /** Proportional set size, KiB. */
  pssKb: number;
  /** Resident set size, KiB (shared pages counted once per process). */
  rssKb: number;
  processes: number;
}

export interface CpuSample {
  /** User + system CPU seconds, including reaped children of processes in the tree. */
  seconds: number;
}

const CLK_TCK = 100; // USER_HZ: 100 on every Linux architecture Node runs on.

export function readProcText(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null; // the process exited meanwhile
  }
}

/** Fields of /proc/<pid>/stat after the command name (field 3 onwards; index 0 is the state). */
function statFields(pid: number): string[] | null {
  const text = readProcText(`/proc/${pid}/stat`);
  if (text === null) return null;
  const end = text.lastIndexOf(')');
  return text.slice(end + 2).split(' ');
}

/** The given processes and all their live descendants. */
export function processTree(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(Number(name));
    if (!fields) continue;
    const ppid = Number(fields[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  const out: number[] = [];
  const todo = roots.filter((pid) => readProcText(`/proc/${pid}/stat`) !== null);
  while (todo.length > 0) {
    const pid = todo.pop()!;
    out.push(pid);
    for (const child of children.get(pid) ?? []) todo.push(child);
  }
  return out;
}

function kbField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function memoryOf(pids: number[]): MemorySample {
  let pssKb = 0;
  let rssKb = 0;
  let processes = 0;
  for (const pid of pids) {
    const rollup = readProcText(`/proc/${pid}/smaps_rollup`);
    const status = readProcText(`/proc/${pid}/status`);
    if (rollup === null || status === null) continue;
    pssKb += kbField(rollup, 'Pss');
    rssKb += kbField(status, 'VmRSS');
    processes++;
  }
  return { pssKb, rssKb, processes };
}

export function cpuOf(pids: number[]): CpuSample {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    // utime, stime, cutime, cstime are fields 14-17 of stat, i.e. indexes 11-14 here.
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return { seconds: ticks / CLK_TCK };
}

/** Reads a PID file (Postfix pads it with spaces). */
export function pidFromFile(path: string): number | null {
  const text = readProcText(path);
  const pid = text === null ? Number.NaN : Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** The soft and hard limits of open files of a process (/proc/<pid>/limits); Infinity when unlimited. */
export function openFileLimits(pid: number | 'self' = 'self'): { soft: number; hard: number } {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readProcText(`/proc/${pid}/limits`) ?? '');
  const value = (s: string | undefined) =>
    s === undefined || s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s);
  return { soft: value(m?.[1]), hard: value(m?.[2]) };
}

/**
 * Makes sure this process may hold `need` open files, and so the servers it starts afterwards, which
 * inherit its limits. Node raises its soft limit to the hard one when it starts; a hard limit below
 * `need` is raised with util-linux's `prlimit` on this process, which takes CAP_SYS_RESOURCE. Throws,
 * saying what to do, when the limit stays too low.
 */
export function ensureOpenFiles(need: number): void {
  const { soft, hard } = openFileLimits();
  if (soft >= need) return;
  const want = Math.max(need, Math.min(hard, 2 * need));
  spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${want}:${Math.max(want, hard)}`], {
    stdio: 'ignore',
  });
  const now = openFileLimits();
  if (now.soft < need) {
    throw new Error(
      `the open-file limit (${now.soft}, hard ${now.hard}) is below the ${need} this run holds open, and ` +
        `prlimit could not raise it: raise the hard limit (e.g. ulimit -Hn ${need} as root, or ` +
        `LimitNOFILE / limits.conf) or ask for fewer connections`,
    );
  }
}
