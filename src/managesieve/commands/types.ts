import { failed, ok, type Parsed as ParsedAs } from '../../net/command.js';
import type { ManageSieveSession, ManageSieveSettings, ManageSieveState } from '../session.js';
import { type Arg, MAX_QUOTED } from '../wire.js';

/** What `parse` gives back: typed arguments, or the text of a `NO` (a syntax error). See net/command.ts. */
export type Parsed<A> = ParsedAs<A, string>;

export { ok };

/** One ManageSieve command as a spec: where it is allowed, its literals, how its arguments parse, what it does. */
export interface ManageSieveCommandSpec<A> {
  /** The command name, upper case (RFC 5804 §2). */
  readonly name: string;
  /** States where the command is allowed. */
  readonly states: readonly ManageSieveState[];
  /** The arguments as a user types them, for syntax errors: `PUTSCRIPT <name> <script>`. */
  readonly usage: string;
  /** The largest literal argument `index` may be (default: MAX_QUOTED octets, a name's size). */
  literalLimit?(index: number, settings: ManageSieveSettings): number;
  /** From which argument on the arguments are secret (traced as `<redacted>`). */
  readonly redactFrom?: number;
  parse(args: Arg[]): Parsed<A>;
  run(session: ManageSieveSession, args: A): Promise<void> | void;
}

/** A command with its argument type hidden, as the command table holds it. */
export interface ManageSieveCommand {
  readonly name: string;
  readonly states: readonly ManageSieveState[];
  readonly usage: string;
  readonly redactFrom: number | null;
  literalLimit(index: number, settings: ManageSieveSettings): number;
  /** Parses and, when the arguments are valid, runs; otherwise returns the syntax error text. */
  exec(session: ManageSieveSession, args: Arg[]): Promise<string | null>;
}

export function defineCommand<A>(spec: ManageSieveCommandSpec<A>): ManageSieveCommand {
  return {
    name: spec.name,
    states: spec.states,
    usage: spec.usage,
    redactFrom: spec.redactFrom ?? null,
    literalLimit: (index, settings) => (spec.literalLimit ? spec.literalLimit(index, settings) : MAX_QUOTED),
    async exec(session, args) {
      const parsed = spec.parse(args);
      if (!parsed.ok) return parsed.error;
      await spec.run(session, parsed.args);
      return null;
    },
  };
}

export const syntax = (usage: string): Parsed<never> => failed(`Syntax: ${usage}`);

/** For commands without arguments. */
export function noArguments(usage: string) {
  return (args: Arg[]): Parsed<null> => (args.length === 0 ? ok(null) : syntax(usage));
}

/** Exactly `count` strings (RFC 5804 §4 `string`: quoted or literal). */
/** The parser of a command whose one argument is a string (a script name, a script). */
export function oneString(usage: string): (args: Arg[]) => Parsed<string> {
  const parseArgs = strings(1, usage);
  return (args) => {
    const parsed = parseArgs(args);
    return parsed.ok ? ok(parsed.args[0]) : parsed;
  };
}

export function strings(count: number, usage: string) {
  return (args: Arg[]): Parsed<string[]> => {
    if (args.length !== count) return syntax(usage);
    const values: string[] = [];
    for (const a of args) {
      if (a.kind !== 'string') return failed(`Syntax: ${usage} (arguments are strings: "name" or {N+} literals)`);
      values.push(a.value);
    }
    return ok(values);
  };
}
