/**
 * `postbode sieve list|get|put|activate|deactivate|check|delete|rename`: the Sieve scripts of an
 * account (docs/sieve.md), as ManageSieve sees them, from the command line.
 *
 * Invariants:
 * - The same rules as ManageSieve: names follow `sieveNameProblem` (src/store/sieve.ts), a script is
 *   compiled with the server's limits (`sieve.max_script_bytes`, `sieve.max_redirects`) before it is
 *   kept, an account keeps at most `sieve.max_scripts`, the active script cannot be deleted.
 * - Compile errors go to stderr as `FILE:LINE:COLUMN: message` (the form editors and `make` read),
 *   and the command fails (exit 1) with nothing stored.
 * - `check FILE` opens no store; `FILE` is `-` for standard input.
 * - `get` prints the source unchanged on stdout (nothing else goes there); `list` prints one name per
 *   line with the active one marked.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import type { CompileResult } from '../sieve/types.js';
import { sieveNameProblem } from '../store/sieve.js';
import type { Account, Store } from '../store/types.js';
import { CliError, configFrom, type GlobalOptions, withConfigOptions, withStore } from './context.js';
import { confirm } from './prompt.js';

type Out = (line: string) => void;
type Err = (line: string) => void;

const stderr: Err = (line) => process.stderr.write(`${line}\n`);

/** The source of FILE (`-`: standard input), as UTF-8; a missing file is a CliError. */
async function readSource(file: string): Promise<string> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** Compiles `source` with the server's limits; prints the errors as FILE:LINE:COLUMN and fails when any. */
export async function compileOrFail(config: Config, file: string, source: string, err: Err = stderr): Promise<void> {
  const size = Buffer.byteLength(source);
  const limit = config.sieve.max_script_bytes;
  if (size > limit) {
    throw new CliError(`${file} is ${size} bytes; scripts may be ${limit} bytes at most (sieve.max_script_bytes)`);
  }
  // Loaded here only: the other commands never compile a script.
  const { compile } = await import('../sieve/index.js');
  const result: CompileResult = compile(source, {
    limits: { maxScriptBytes: limit, maxRedirects: config.sieve.max_redirects },
  });
  if (result.ok) return;
  const name = file === '-' ? '<stdin>' : file;
  for (const e of result.errors) err(`${name}:${e.line}:${e.column}: ${e.message}`);
  const n = result.errors.length;
  throw new CliError(`${name} has ${n} error${n === 1 ? '' : 's'}; nothing was stored`);
}

function checkedName(name: string): string {
  const problem = sieveNameProblem(name);
  if (problem) throw new CliError(`invalid script name "${name}": ${problem}`);
  return name;
}

async function accountOf(store: Store, address: string): Promise<Account> {
  const account = await store.accounts.get(address.trim().toLowerCase());
  if (!account) throw new CliError(`no user ${address} (see "postbode user list")`);
  return account;
}

export function registerSieveCommands(program: Command, out: Out, err: Err = stderr): void {
  const sieve = program
    .command('sieve')
    .description("an account's Sieve filters (the scripts ManageSieve and the web edit; docs/sieve.md)");

  withConfigOptions(sieve.command('list <address>').description('list the scripts; the active one is marked')).action(
    async (address: string, opts: GlobalOptions) => {
      await withStore(opts, async ({ store }) => {
        const account = await accountOf(store, address);
        const scripts = await store.sieve.list(account.id);
        if (scripts.length === 0) {
          err(`${account.address} has no scripts (add one with "postbode sieve put ${account.address} NAME FILE")`);
          return;
        }
        for (const s of scripts)
          out(`${s.active ? '*' : ' '} ${s.name}  (${s.size} bytes)${s.active ? '  active' : ''}`);
      });
    },
  );

  withConfigOptions(sieve.command('get <address> <name>').description("print a script's source")).action(
    async (address: string, name: string, opts: GlobalOptions) => {
      await withStore(opts, async ({ store }) => {
        const account = await accountOf(store, address);
        const source = await store.sieve.get(account.id, name);
        if (source === null) throw new CliError(`${account.address} has no script "${name}"`);
        process.stdout.write(source.endsWith('\n') || source === '' ? source : `${source}\n`);
      });
    },
  );

  withConfigOptions(
    sieve
      .command('put <address> <name> <file>')
      .description('check a script and store it under NAME (replacing one of that name); FILE - reads stdin')
      .option('--activate', 'make it the active script too'),
  ).action(async (address: string, name: string, file: string, opts: GlobalOptions & { activate?: boolean }) => {
    checkedName(name);
    const source = await readSource(file);
    const config = configFrom(opts);
    await compileOrFail(config, file, source, err);
    await withStore(
      opts,
      async ({ store }) => {
        const account = await accountOf(store, address);
        const scripts = await store.sieve.list(account.id);
        const limit = config.sieve.max_scripts;
        if (!scripts.some((s) => s.name === name) && scripts.length >= limit) {
          throw new CliError(
            `${account.address} has ${scripts.length} scripts; the limit is ${limit} (sieve.max_scripts): delete one or replace one by its name`,
          );
        }
        if ((await store.sieve.put(account.id, name, source, { maxScripts: limit })) === 'too-many') {
          throw new CliError(
            `${account.address} has ${limit} scripts, the limit (sieve.max_scripts): delete one or replace one by its name`,
          );
        }
        if (opts.activate) await store.sieve.setActive(account.id, name);
        const active = opts.activate || scripts.some((s) => s.name === name && s.active);
        out(`stored script "${name}" for ${account.address}${active ? ' (active)' : ''}`);
      },
      'write',
    );
  });

  withConfigOptions(
    sieve.command('activate <address> <name>').description('make a script the one that runs at delivery'),
  ).action(async (address: string, name: string, opts: GlobalOptions) => {
    await withStore(
      opts,
      async ({ config, store }) => {
        const account = await accountOf(store, address);
        const source = await store.sieve.get(account.id, name);
        if (source === null) throw new CliError(`${account.address} has no script "${name}"`);
        await compileOrFail(config, name, source, err);
        if (!(await store.sieve.setActive(account.id, name))) {
          throw new CliError(`${account.address} has no script "${name}"`);
        }
        out(`script "${name}" is active for ${account.address}`);
      },
      'write',
    );
  });

  withConfigOptions(
    sieve.command('deactivate <address>').description('make no script active (mail is kept in INBOX)'),
  ).action(async (address: string, opts: GlobalOptions) => {
    await withStore(
      opts,
      async ({ store }) => {
        const account = await accountOf(store, address);
        await store.sieve.setActive(account.id, null);
        out(`no script is active for ${account.address}`);
      },
      'write',
    );
  });

  withConfigOptions(
    sieve.command('check <file>').description('compile a script and print its errors as FILE:LINE:COLUMN (no store)'),
  ).action(async (file: string, opts: GlobalOptions) => {
    const source = await readSource(file);
    await compileOrFail(configFrom(opts), file, source, err);
    out(`${file === '-' ? '<stdin>' : file}: ok`);
  });

  withConfigOptions(
    sieve
      .command('delete <address> <name>')
      .alias('del')
      .description('delete a script (not the active one; asks first)')
      .option('-y, --yes', 'do not ask'),
  ).action(async (address: string, name: string, opts: GlobalOptions & { yes?: boolean }) => {
    await withStore(
      opts,
      async ({ store }) => {
        const account = await accountOf(store, address);
        const scripts = await store.sieve.list(account.id);
        const script = scripts.find((s) => s.name === name);
        if (!script) throw new CliError(`${account.address} has no script "${name}"`);
        if (script.active) {
          throw new CliError(
            `script "${name}" is active; deactivate it first ("postbode sieve deactivate ${account.address}")`,
          );
        }
        const what = `script "${name}" of ${account.address}`;
        const refusal = `not deleting ${what} without confirmation: standard input is not a terminal; add --yes to delete it`;
        if (!(await confirm(`Delete ${what}?`, { yes: opts.yes, refusal }))) {
          throw new CliError(`nothing deleted (${what} is kept)`);
        }
        switch (await store.sieve.delete(account.id, name)) {
          case 'missing':
            throw new CliError(`${account.address} has no script "${name}"`);
          case 'active':
            throw new CliError(`script "${name}" became active meanwhile; deactivate it first`);
          case 'deleted':
            out(`deleted ${what}`);
        }
      },
      'write',
    );
  });

  withConfigOptions(
    sieve.command('rename <address> <old> <new>').description('rename a script (it stays active if it was)'),
  ).action(async (address: string, from: string, to: string, opts: GlobalOptions) => {
    checkedName(to);
    await withStore(
      opts,
      async ({ store }) => {
        const account = await accountOf(store, address);
        switch (await store.sieve.rename(account.id, from, to)) {
          case 'missing':
            throw new CliError(`${account.address} has no script "${from}"`);
          case 'exists':
            throw new CliError(`${account.address} has a script "${to}" already; delete it or choose another name`);
          case 'renamed':
            out(`renamed script "${from}" to "${to}" for ${account.address}`);
        }
      },
      'write',
    );
  });
}
