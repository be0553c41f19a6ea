/**
 * Whether this process may use its data dir, checked once at start: files that another user made (a CLI
 * command run as root on the data dir of a service that runs as its own user) would otherwise stop the
 * server with a bare "unable to open database file" or "EACCES", far from the cause.
 *
 * Invariants:
 * - Only the data dir, its regular files and directories two levels down are looked at (`dkim/`,
 *   `tls/acme/`); `spool/` holds messages in flight and is only checked itself. Nothing is changed.
 * - The error names the files, their owner and this process's user, and says both ways out.
 */
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

export class DataDirAccessError extends Error {
  override name = 'DataDirAccessError';
}

/** The data dir's entries (relative names, `.` for the dir itself) this process cannot read and write. */
export function inaccessibleEntries(dataDir: string): string[] {
  const bad: string[] = [];
  const usable = (file: string, dir: boolean) => {
    try {
      accessSync(file, constants.R_OK | constants.W_OK | (dir ? constants.X_OK : 0));
      return true;
    } catch {
      return false;
    }
  };
  const visit = (dir: string, rel: string, depth: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (!entry.isFile() && !entry.isDirectory()) continue;
      if (!usable(full, entry.isDirectory())) {
        bad.push(name);
        continue;
      }
      if (entry.isDirectory() && depth < 2 && name !== 'spool') visit(full, name, depth + 1);
    }
  };
  if (!usable(dataDir, true)) return ['.'];
  visit(dataDir, '', 0);
  return bad;
}

/** Throws DataDirAccessError when `inaccessibleEntries` finds any (see the header). */
export function checkDataDirAccess(dataDir: string): void {
  const bad = inaccessibleEntries(dataDir);
  if (bad.length === 0) return;
  const me = userInfo().username;
  const owners = [...new Set(bad.map((name) => ownerName(path.join(dataDir, name))))].join(', ');
  const shown = bad.length > 6 ? `${bad.slice(0, 6).join(', ')} and ${bad.length - 6} more` : bad.join(', ');
  throw new DataDirAccessError(
    `the user ${me} may not read and write ${bad[0] === '.' ? 'the data dir' : 'these files of the data dir'} ${dataDir}: ${shown} (owned by ${owners}). Run postbode's commands as the user the server runs as (e.g. sudo -u ${me} postbode …), and give it the files: chown -R ${me}: ${dataDir}`,
  );
}

/** The name of a file's owner from /etc/passwd, else `uid N`. */
function ownerName(file: string): string {
  let uid: number;
  try {
    uid = statSync(file).uid;
  } catch {
    return '?';
  }
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id !== undefined && Number(id) === uid) return name;
    }
  } catch {
    // no /etc/passwd (Windows): the number
  }
  return `uid ${uid}`;
}
