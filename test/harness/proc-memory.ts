/**
 * The memory of a server process as the hostile-client tests measure it (Linux /proc): resident and
 * peak resident size, and a reset of the peak so that it covers only what a test does.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Resident (VmRSS) and peak resident (VmHWM) memory of a process, in MiB. */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Starts a new peak: Linux resets VmHWM to the current RSS when 5 is written to clear_refs. */
export function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted: the peak then covers the process's whole life, which only makes the bound stricter
  }
}

/** CPU time a process has used so far (user + system, all threads), in seconds (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // Fields 14 and 15 of stat (utime, stime) in clock ticks; Linux's USER_HZ is 100.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
