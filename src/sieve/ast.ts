/**
 * The two trees of a Sieve script.
 *
 * - The syntax tree (`Syntax*`, from parser.ts) is RFC 5228 §8.2 as written: commands with their
 *   arguments, tests and blocks, every node with its 1-based line and column. Identifiers and tags are
 *   lower-cased (Sieve is case-insensitive in them); strings are already unescaped.
 * - The checked tree (`Command`, `Test`, from validate.ts) is what the interpreter runs: one typed
 *   node per command and test, tagged arguments resolved into named fields, `if`/`elsif`/`else` joined
 *   into one node, `require` gone. The interpreter never looks at argument positions.
 */

import type { SievePosition } from './types.js';

export type Pos = SievePosition;

// ---- syntax tree ----

export interface SyntaxString {
  kind: 'string';
  value: string;
  pos: Pos;
}

export interface SyntaxStringList {
  kind: 'list';
  items: SyntaxString[];
  pos: Pos;
}

export interface SyntaxNumber {
  kind: 'number';
  value: number;
  pos: Pos;
}

/** A tagged argument `:name` (the name lower-cased, without the colon). */
export interface SyntaxTag {
  kind: 'tag';
  name: string;
  pos: Pos;
}

export type SyntaxArgument = SyntaxString | SyntaxStringList | SyntaxNumber | SyntaxTag;

export interface SyntaxTest {
  name: string;
  pos: Pos;
  args: SyntaxArgument[];
  tests: SyntaxTest[];
  /** Whether the tests were written as a parenthesised test-list (even of one test). */
  testList: boolean;
}

export interface SyntaxCommand {
  name: string;
  pos: Pos;
  args: SyntaxArgument[];
  tests: SyntaxTest[];
  testList: boolean;
  /** The block `{ … }`, or null when the command ended with ';'. */
  block: SyntaxCommand[] | null;
}

export interface SyntaxScript {
  commands: SyntaxCommand[];
}

// ---- checked tree ----

/** A string argument; `dynamic`: it holds `${…}` the variables extension expands at run time. */
export interface Str {
  value: string;
  pos: Pos;
  dynamic: boolean;
}

export type StrList = Str[];

export type ComparatorName = 'i;octet' | 'i;ascii-casemap' | 'i;ascii-numeric';
export type Relation = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';

/** The comparator and match type of a test (RFC 5228 §2.7, RFC 5231). */
export interface MatchSpec {
  comparator: ComparatorName;
  type: 'is' | 'contains' | 'matches' | 'value' | 'count';
  /** For :value and :count. */
  relation: Relation | null;
}

export type AddressPart = 'all' | 'localpart' | 'domain' | 'user' | 'detail';

/** RFC 5260 §6 `:index fieldno [:last]`. */
export interface IndexSpec {
  index: number;
  last: boolean;
}

export type DatePart =
  | 'year'
  | 'month'
  | 'day'
  | 'date'
  | 'julian'
  | 'hour'
  | 'minute'
  | 'second'
  | 'time'
  | 'iso8601'
  | 'std11'
  | 'zone'
  | 'weekday';

/** `:zone "+0100"`, `:originalzone` (date only), or neither: the local zone. */
export type ZoneSpec = { kind: 'local' } | { kind: 'zone'; zone: Str } | { kind: 'original' };

export type BodyTransform = { kind: 'raw' } | { kind: 'text' } | { kind: 'content'; types: StrList };

export type Test =
  | { kind: 'true'; pos: Pos }
  | { kind: 'false'; pos: Pos }
  | { kind: 'not'; pos: Pos; test: Test }
  | { kind: 'allof' | 'anyof'; pos: Pos; tests: Test[] }
  | { kind: 'exists'; pos: Pos; headers: StrList }
  | { kind: 'size'; pos: Pos; over: boolean; limit: number }
  | { kind: 'header'; pos: Pos; match: MatchSpec; index: IndexSpec | null; headers: StrList; keys: StrList }
  | {
      kind: 'address';
      pos: Pos;
      match: MatchSpec;
      part: AddressPart;
      index: IndexSpec | null;
      headers: StrList;
      keys: StrList;
    }
  | { kind: 'envelope'; pos: Pos; match: MatchSpec; part: AddressPart; parts: StrList; keys: StrList }
  | { kind: 'string'; pos: Pos; match: MatchSpec; sources: StrList; keys: StrList }
  | { kind: 'body'; pos: Pos; match: MatchSpec; transform: BodyTransform; keys: StrList }
  | {
      kind: 'date';
      pos: Pos;
      match: MatchSpec;
      zone: ZoneSpec;
      index: IndexSpec | null;
      header: Str;
      part: Str;
      keys: StrList;
    }
  | { kind: 'currentdate'; pos: Pos; match: MatchSpec; zone: ZoneSpec; part: Str; keys: StrList }
  | { kind: 'hasflag'; pos: Pos; match: MatchSpec; variables: StrList | null; keys: StrList }
  | { kind: 'mailboxexists'; pos: Pos; names: StrList }
  | { kind: 'environment'; pos: Pos; match: MatchSpec; name: Str; keys: StrList }
  | {
      kind: 'duplicate';
      pos: Pos;
      handle: Str | null;
      /** `:header name` or `:uniqueid value`; neither: the Message-ID. */
      source: { kind: 'header'; name: Str } | { kind: 'uniqueid'; value: Str } | { kind: 'message-id' };
      seconds: number | null;
      last: boolean;
    };

export type FlagAction = 'setflag' | 'addflag' | 'removeflag';

export interface VacationCommand {
  kind: 'vacation';
  pos: Pos;
  /** `:days` × 86400 or `:seconds`; null: the default period. */
  seconds: number | null;
  subject: Str | null;
  from: Str | null;
  addresses: StrList;
  mime: boolean;
  handle: Str | null;
  reason: Str;
}

export type Command =
  | { kind: 'if'; pos: Pos; branches: { test: Test; block: Command[] }[]; otherwise: Command[] | null }
  | { kind: 'stop'; pos: Pos }
  | { kind: 'keep'; pos: Pos; flags: StrList | null }
  | { kind: 'discard'; pos: Pos }
  | { kind: 'fileinto'; pos: Pos; mailbox: Str; copy: boolean; create: boolean; flags: StrList | null }
  | { kind: 'redirect'; pos: Pos; address: Str; copy: boolean }
  | { kind: 'reject'; pos: Pos; reason: Str; ereject: boolean }
  | VacationCommand
  | { kind: FlagAction; pos: Pos; variable: Str | null; flags: StrList }
  | { kind: 'set'; pos: Pos; name: string; value: Str; modifiers: string[] }
  | {
      kind: 'include';
      pos: Pos;
      name: string;
      location: 'personal' | 'global';
      once: boolean;
      optional: boolean;
    }
  | { kind: 'return'; pos: Pos }
  | { kind: 'global'; pos: Pos; names: string[] };

/** A checked script: its commands and the extensions it required. */
export interface CheckedScript {
  commands: Command[];
  requires: string[];
}
