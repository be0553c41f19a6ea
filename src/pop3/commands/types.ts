import { ok, type Parsed as ParsedAs } from '../../net/command.js';
import type { Pop3Session, Pop3State } from '../session.js';
import { type CommandLine, MAX_ARGUMENT } from '../wire.js';

/** What `parse` gives back: typed arguments, or the text of a `-ERR` (a syntax error). See net/command.ts. */
export type Parsed<A> = ParsedAs<A, string>;

export { ok };

/** One POP3 command as a spec: where it is allowed, how its arguments parse, what it does. */
export interface Pop3CommandSpec<A> {
  readonly verb: string;
  /** States where the command is allowed (RFC 1939 §4–§6, RFC 2449 §5 for CAPA). */
  readonly states: readonly Pop3State[];
  /** Longest argument (RFC 1939 §3: 40; RFC 2449 §4: up to 255 for those that need it). */
  readonly maxArgument?: number;
  /** The command line as the trace shows it, for commands that carry secrets. */
  redact?(line: CommandLine): string;
  parse(line: CommandLine): Parsed<A>;
  run(session: Pop3Session, args: A): Promise<void> | void;
}

/** A command with its argument type hidden, as the command table holds it. */
export interface Pop3Command {
  readonly verb: string;
  readonly states: readonly Pop3State[];
  readonly maxArgument: number;
  redact(line: CommandLine): string | null;
  /** Parses and, when the arguments are valid, runs; otherwise returns the syntax error text. */
  exec(session: Pop3Session, line: CommandLine): Promise<string | null>;
}

export function defineCommand<A>(spec: Pop3CommandSpec<A>): Pop3Command {
  return {
    verb: spec.verb,
    states: spec.states,
    maxArgument: spec.maxArgument ?? MAX_ARGUMENT,
    redact: (line) => (spec.redact ? spec.redact(line) : null),
    async exec(session, line) {
      const parsed = spec.parse(line);
      if (!parsed.ok) return parsed.error;
      await spec.run(session, parsed.args);
      return null;
    },
  };
}

export const syntax = (usage: string): Parsed<never> => ({ ok: false, error: `Syntax: ${usage}` });

/** For commands without arguments. */
export function noArguments(verb: string) {
  return (line: CommandLine): Parsed<null> => (line.args.length === 0 ? ok(null) : syntax(`${verb} (no arguments)`));
}
