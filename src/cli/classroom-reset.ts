/**
 * `postbode classroom reset`: the web lab's "Reset the class" on the command line (src/web/class-reset.ts):
 * deletes a batch of lab accounts with their mail, their session history and their exercise progress.
 *
 * Invariants:
 * - The accounts are picked by `--accounts PATTERN` (`*` any characters, `?` one) or `--all` (every mail
 *   account); one of the two is required, never a default. Admins are never touched.
 * - Before deleting it prints each account and one line of counts, and asks; without a terminal it
 *   refuses unless `--yes` is given (prompt.ts `confirm`), so a script says so explicitly. What is
 *   deleted is exactly the list it printed.
 */
import type { Command } from 'commander';
import { ClassResetError, describePlan, humanBytes, planClassReset, plural, resetClass } from '../web/class-reset.js';
import { CliError, type GlobalOptions, withConfigOptions, withStore } from './context.js';
import { confirm } from './prompt.js';

type Out = (line: string) => void;

export function registerClassroomCommands(program: Command, out: Out): void {
  const classroom = program.command('classroom').description("the web lab's classroom: reset a class after the lesson");
  withConfigOptions(
    classroom
      .command('reset')
      .description('delete a batch of lab accounts with their mail, session history and exercise progress (asks first)')
      .option('--accounts <pattern>', 'the accounts to delete, e.g. "student*@class.example" (* any characters, ? one)')
      .option('--all', 'every mail account (admins are never deleted)')
      .option('-y, --yes', 'do not ask'),
  ).action(async (opts: GlobalOptions & { accounts?: string; all?: boolean; yes?: boolean }) => {
    if (opts.all && opts.accounts !== undefined) {
      throw new CliError('give either --accounts PATTERN or --all, not both', 2);
    }
    if (!opts.all && opts.accounts === undefined) {
      throw new CliError(
        'say which accounts to delete: --accounts "student*@class.example" (a pattern) or --all (every mail account)',
        2,
      );
    }
    const pattern = opts.all ? '*' : (opts.accounts ?? '');
    await withStore(
      opts,
      async ({ store }) => {
        let plan: Awaited<ReturnType<typeof planClassReset>>;
        try {
          plan = await planClassReset(store, pattern);
        } catch (err) {
          if (err instanceof ClassResetError) throw new CliError(err.message, 2);
          throw err;
        }
        if (plan.totals.accounts === 0) {
          out(`no mail account matches ${pattern}: nothing to delete`);
          return;
        }
        for (const a of plan.accounts) {
          out(
            `  ${a.address}: ${plural(a.messages, 'message')} (${humanBytes(a.bytes)}), ` +
              `${plural(a.sessions, 'session')}, ${plural(a.exercises, 'exercise tick')}`,
          );
        }
        const what = describePlan(plan);
        const refusal = `not deleting ${what} without confirmation: standard input is not a terminal; add --yes to delete them`;
        if (!(await confirm(`Delete ${what}? This cannot be undone.`, { yes: opts.yes, refusal }))) {
          throw new CliError('nothing deleted (the accounts are kept)');
        }
        const done = await resetClass(
          store,
          plan.accounts.map((a) => a.address),
        );
        out(`deleted ${describePlan(done)}`);
      },
      'write',
    );
  });
}
