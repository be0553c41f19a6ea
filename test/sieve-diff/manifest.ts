/**
 * The differential corpus: which script (`cases/<script>.sieve`) runs on which message
 * (`messages/<name>.eml`) with which envelope, for test/sieve-diff.test.ts, which runs every pair
 * through Pigeonhole's `sieve-test` (Debian package dovecot-sieve) and through postbode's interpreter
 * and compares the actions both take.
 *
 * - A run is written `message` (the `std` envelope) or `message/envelope`.
 * - `include` finds its scripts in `personal/` (`:personal`, the default) and `global/` (`:global`).
 * - Both sides get the same limits (Pigeonhole's defaults: 32 actions, 4 redirects) and the same
 *   `environment` items: the runner asks `sieve-test` for them first (see `probeEnvironment`).
 * - The message bytes are the .eml file with CRLF line ends, the same bytes for both sides.
 * - `expect` documents what the case is for when it is not an action list; the runner checks that
 *   Pigeonhole agrees with it, so a corpus mistake shows up as such and not as a postbode bug.
 *
 * How the two are made comparable:
 * - vacation decisions (lists, Auto-Submitted, Precedence, system senders, own address, mail not
 *   addressed to the user) are taken by Pigeonhole only when actions are *executed*: for cases with a
 *   vacation the runner also runs `sieve-test -e`, which says whether the reply was sent and prints it
 *   (its In-Reply-To is compared too).
 * - vacation periods: RFC 6131 §2 lets a site raise `:seconds`/`:days` to a minimum and lower them to
 *   a maximum. postbode's defaults are 1 day and 60 days (`defaultSieveLimits`); Pigeonhole's are 1 day
 *   and no maximum. The runner gives Pigeonhole postbode's two values, so both apply one policy.
 * - Included scripts: Pigeonhole compiles `include`d scripts together with the main script, so a
 *   missing (non-`:optional`) script, an include loop or too deep a nesting is a *compile* error there.
 *   postbode loads included scripts when `run` reaches the `include` (SieveContext.loadScript), so the
 *   same scripts fail at *run* time. RFC 6609 §3.2 allows both (an error "MUST be generated either
 *   when the script is uploaded to the Sieve repository, or when the script is executed"); either way
 *   the message goes to INBOX. Cases with `expect: 'failure-either'` accept either.
 *
 * Where Pigeonhole and the RFCs differ or the RFCs leave the choice, and which side postbode follows:
 * - Unfolding: Dovecot turns a line break and the TAB after it into one space ("a\r\n\tb" reads
 *   "a b"); RFC 5228 §2.4.2.2 unfolds as RFC 5322 §2.2.3, removing only the CRLF ("a\tb"). postbode
 *   follows Pigeonhole here (src/sieve/message.ts), against the RFC, since the issue asks for mail
 *   to be filed as Pigeonhole would: `hdr-folded` shows it.
 * - An invalid `:from` made by variables: RFC 5230 §4.3 says implementations SHOULD generate an error;
 *   Pigeonhole logs one and still replies (with the invalid value as From); postbode does the same,
 *   with a warning in the result.
 * - `:zone` with an invalid offset is only a compile warning in Pigeonhole, which then ignores it
 *   (the local zone); an unknown date part is a warning too, and the test is false. RFC 5260 §4.1 and
 *   §4.2 say nothing of either; postbode does as Pigeonhole.
 * - `address` on a header field that holds no addresses (`address "subject" ...`): Pigeonhole refuses
 *   the script at compile time. RFC 5228 §5.1 says implementations MUST restrict the test to address
 *   fields; both refuse.
 * - A second `vacation` in one run: RFC 5230 §4.7, "A script MUST fail with an appropriate error if
 *   it attempts to execute two or more vacation actions"; a runtime error in both.
 * - `?` in `:matches` is one octet under i;ascii-casemap and i;octet (RFC 5228 §2.7.1), in both.
 * - Pigeonhole also refuses to answer mail with `X-Auto-Response-Suppress: OOF|All` (a Microsoft
 *   header, in no RFC); no case here uses it.
 * - Cases with `differs` (below) are the differences found and kept, each with its reason: a
 *   Pigeonhole matching bug (postbode follows the RFC).
 *
 * What Debian's sieve-test (Pigeonhole 0.5.19) cannot show, so the corpus leaves it to the unit tests
 * beside src/sieve/:
 * - the null sender: `-f` refuses an empty address and a `Return-Path: <>` field is skipped;
 * - `ereject`: built only with Pigeonhole's "unfinished" extensions, which Debian leaves out;
 * - mailbox names Dovecot would refuse only when storing (`fileinto ""`): test mode prints them.
 */

/** An SMTP envelope: MAIL FROM and RCPT TO. The account is RCPT TO without `+detail`. */
export interface DiffEnvelope {
  from: string;
  to: string;
}

export const envelopes = {
  std: { from: 'alice@example.org', to: 'bob@example.com' },
  detail: { from: 'orders@shop.example.net', to: 'bob+shopping@example.com' },
  daemon: { from: 'MAILER-DAEMON@example.org', to: 'bob@example.com' },
  self: { from: 'bob@example.com', to: 'bob@example.com' },
  owner: { from: 'owner-dev@lists.example.org', to: 'bob@example.com' },
  request: { from: 'dev-request@lists.example.org', to: 'bob@example.com' },
  alias: { from: 'bob@old.example.com', to: 'bob@example.com' },
} as const satisfies Record<string, DiffEnvelope>;

/** The mailboxes of the account on both sides (for `mailboxexists`; vacation cases file into Away). */
export const mailboxes = ['INBOX', 'Existing', 'Away'] as const;

export type EnvelopeName = keyof typeof envelopes;

export type Expectation =
  /** Both must refuse the script at compile time. */
  | 'compile-error'
  /** Both must fail at run time (postbode: SieveRuntimeError; Pigeonhole: "final result: failed"). */
  | 'runtime-error'
  /** Both must fail, at compile or at run time (see the header: include resolution). */
  | 'failure-either';

/**
 * A known difference: postbode's outcome (a compile or runtime error, or its normalised action lines)
 * and why it differs from Pigeonhole's. The runner checks postbode against it, and fails when
 * Pigeonhole comes to agree with postbode, so the note does not outlive the difference.
 */
export interface Difference {
  postbode: 'compile-error' | 'runtime-error' | string[];
  why: string;
}

export interface DiffCase {
  script: string;
  /** Runs: `message` or `message/envelope`. */
  on: string[];
  expect?: Expectation;
  differs?: Difference;
}

const c = (script: string, on: string[], expect?: Expectation): DiffCase => ({ script, on, expect });
const known = (script: string, on: string[], differs: Difference): DiffCase => ({ script, on, differs });

/** Every vacation script runs on these: the messages and envelopes the no-reply rules are about. */
const vacationRuns = [
  'plain',
  'minimal',
  'auto-no',
  'cc-me',
  'case-headers',
  'list',
  'list-id-only',
  'bulk',
  'junk',
  'auto-replied',
  'not-to-me',
  'alias',
  'subaddress/detail',
  'mailer-daemon/daemon',
  'plain/self',
  'plain/owner',
  'plain/request',
];

export const cases: DiffCase[] = [
  // RFC 5228 core: control, tests, the implicit keep.
  c('core-empty', ['plain', 'minimal']),
  c('core-keep', ['plain']),
  c('core-discard', ['plain']),
  c('core-discard-then-keep', ['plain']),
  c('core-stop', ['plain', 'list']),
  c('core-if-elsif-else', ['plain', 'multipart-alt', 'list']),
  c('core-anyof-allof-not', ['plain', 'numbers']),
  c('core-size', ['plain', 'big', 'minimal']),
  c('core-size-exact', ['plain']),
  c('core-exists', ['list', 'numbers', 'multi-header', 'minimal']),
  c('core-header-multi', ['multi-header']),
  c('core-true-false', ['plain']),
  c('core-comments', ['plain']),
  c('core-multiline-string', ['plain']),
  c('size-boundaries', ['big', 'plain']),
  c('size-4g', ['plain']),
  c('size-big-numbers', ['plain']),
  c('size-overflow', ['plain'], 'compile-error'),
  c('copies-then-discard', ['plain']),
  c('keep-cancelled-fileinto', ['plain', 'list']),
  c('keep-cancelled-redirect', ['plain']),
  c('keep-not-cancelled-copy', ['plain']),
  c('keep-implicit-flags', ['plain']),
  c('keep-explicit-and-fileinto', ['plain']),
  c('keep-vacation-keeps', ['plain', 'list']),

  // fileinto, :copy (RFC 3894), :create (RFC 5490), redirect.
  c('fileinto-basic', ['plain']),
  c('fileinto-inbox', ['plain']),
  c('fileinto-twice', ['plain']),
  c('fileinto-copy', ['plain']),
  c('fileinto-copy-and-keep', ['plain']),
  c('fileinto-create', ['plain']),
  c('fileinto-create-copy-flags', ['plain']),
  c('fileinto-utf8', ['plain']),
  c('redirect-basic', ['plain']),
  c('redirect-twice', ['plain']),
  c('redirect-copy', ['plain']),
  c('redirect-display-name', ['plain']),
  c('redirect-invalid-literal', ['plain'], 'compile-error'),
  c('redirect-invalid-variable', ['plain'], 'runtime-error'),

  // imap4flags (RFC 5232).
  c('flags-setflag', ['plain']),
  c('flags-add-remove', ['plain']),
  c('flags-keep-explicit', ['plain']),
  c('flags-fileinto-snapshot', ['plain']),
  c('flags-variable', ['plain']),
  c('flags-hasflag', ['plain']),
  c('flags-case-dup', ['plain']),
  c('flags-mark', ['mixed-attach', 'plain']),
  c('keep-flags', ['plain']),
  c('flags-global-and-tagged', ['plain']),
  c('flags-remove-all', ['plain']),
  c('flags-same-mailbox-twice', ['plain']),
  c('flags-invalid', ['plain']),

  // reject / ereject (RFC 5429) and action conflicts.
  c('reject-basic', ['plain']),
  c('reject-multiline', ['bulk', 'plain']),
  c('reject-with-fileinto', ['plain'], 'runtime-error'),
  c('reject-with-keep', ['plain'], 'runtime-error'),
  c('reject-with-redirect', ['plain'], 'runtime-error'),
  c('reject-twice', ['plain'], 'runtime-error'),
  c('reject-with-discard', ['plain']),
  c('reject-with-vacation', ['plain'], 'runtime-error'),
  c('reject-copy-redirect', ['plain'], 'runtime-error'),
  c('reject-empty', ['plain']),
  c('reject-long-reason', ['plain']),
  c('reject-nonascii', ['plain']),

  // envelope.
  c('envelope-from', ['plain', 'plain/daemon']),
  c('envelope-to', ['plain', 'subaddress/detail']),
  c('envelope-unknown-part', ['plain'], 'compile-error'),
  c('envelope-no-require', ['plain'], 'compile-error'),
  c('envelope-detail-from', ['subaddress/detail', 'plain']),
  c('envelope-octet', ['plain']),

  // encoded-character (RFC 5228 §2.4.2.4).
  c('encoded-char-hex', ['plain']),
  c('encoded-char-unicode', ['encoded-headers']),
  c('encoded-char-malformed', ['plain']),
  c('encoded-char-not-required', ['plain']),
  c('encoded-char-surrogate', ['plain'], 'compile-error'),
  c('encoded-char-invalid-utf8', ['plain'], 'compile-error'),

  // body (RFC 5173) on single-part, multipart, encoded and nested bodies.
  c('body-contains', ['plain', 'multipart-alt']),
  c('body-text-qp', ['multipart-alt', 'plain']),
  c('body-raw', ['multipart-alt']),
  c('body-content-type', ['multipart-alt', 'mixed-attach', 'plain']),
  c('body-content-empty-type', ['nested-message', 'plain']),
  c('body-base64', ['base64-text']),
  c('body-nested', ['nested-message']),
  c('body-matches', ['big', 'plain']),
  c('body-8bit', ['mixed-attach']),
  c('body-html-only', ['html-only']),
  c('body-report', ['mailer-daemon']),
  c('body-raw-base64', ['base64-text']),
  c('body-content-prologue', ['multipart-alt', 'nested-message']),

  // variables (RFC 5229): modifiers, match variables, string test.
  c('var-set-basic', ['plain']),
  c('var-modifiers-case', ['plain']),
  c('var-modifiers-quote-length', ['plain']),
  c('var-modifiers-quote-match', ['wildcards', 'plain']),
  c('var-modifiers-precedence', ['plain']),
  c('var-match-vars', ['plain', 'addresses']),
  c('var-match-question', ['plain']),
  c('var-match-greedy', ['plain']),
  c('var-match-unset', ['plain']),
  c('var-undefined', ['plain']),
  c('var-not-variable', ['plain']),
  c('var-nested-expand', ['plain']),
  c('var-string-test', ['plain']),
  c('var-case-insensitive-names', ['plain']),
  c('var-invalid-name', ['plain'], 'compile-error'),
  c('var-namespace-unknown', ['plain'], 'compile-error'),
  c('var-modifiers-same-precedence', ['plain'], 'compile-error'),
  c('var-modifier-unknown', ['plain'], 'compile-error'),
  c('var-header-subject-fileinto', ['list', 'list-id-only', 'plain']),
  c('var-address-parts', ['subaddress/detail', 'plain']),
  c('var-regex-absent', ['plain']),
  c('var-max-matches', ['plain']),
  c('var-count-string', ['plain']),
  c('var-length-utf8', ['utf8-headers', 'encoded-headers']),
  c('var-match-zero', ['plain', 'encoded-words']),
  c('var-encoded-in-set', ['plain']),
  c('var-max-size', ['plain']),
  c('var-scope-full', ['plain']),
  c('var-scope-limit', ['plain'], 'compile-error'),

  // relational (RFC 5231) and comparators (RFC 4790: i;octet, i;ascii-casemap, i;ascii-numeric).
  c('rel-value-numeric', ['numbers']),
  c('rel-numeric-nondigit', ['numbers']),
  c('rel-numeric-big', ['numbers']),
  c('rel-numeric-spaces', ['numbers']),
  c('rel-count', ['dates', 'multi-header', 'addresses']),
  c('rel-count-octet', ['dates']),
  c('rel-value-string', ['plain', 'case-headers']),
  c('rel-count-zero', ['numbers']),
  c('numeric-empty-values', ['numbers']),
  c('rel-invalid-op', ['plain'], 'compile-error'),
  c('rel-numeric-not-required', ['plain'], 'compile-error'),
  c('cmp-octet-vs-casemap', ['plain']),
  c('cmp-casemap-nonascii', ['utf8-headers']),
  c('cmp-matches-escapes', ['wildcards']),
  c('cmp-matches-question', ['plain']),
  known('cmp-matches-question-prefix', ['plain'], {
    postbode: ['store QE'],
    why: 'Pigeonhole 0.5.19 matches a key of "?"s, a literal and "*" without checking the literal ("?x*" matches "Meeting tomorrow"); RFC 5228 §2.7.1 leaves no doubt, postbode follows it',
  }),
  c('cmp-matches-utf8-question', ['utf8-headers']),
  c('cmp-empty-strings', ['minimal', 'plain']),
  c('cmp-numeric-leading-zeros', ['numbers']),
  c('cmp-numeric-contains', ['plain'], 'compile-error'),
  c('cmp-unknown', ['plain'], 'compile-error'),
  c('cmp-header-name-case', ['case-headers']),
  c('cmp-list-keys', ['multi-header']),

  // address: parts, groups, comments, no domain, encoded names.
  c('addr-parts', ['addresses']),
  c('addr-group', ['addresses']),
  c('addr-empty-group', ['addresses']),
  c('addr-no-domain', ['addresses']),
  c('addr-odd', ['addresses']),
  c('addr-non-address-header', ['addresses'], 'compile-error'),
  c('addr-resent', ['addresses']),
  c('addr-encoded-name', ['encoded-headers']),
  c('addr-quoted-local', ['quoted-local']),
  c('addr-display-comma', ['encoded-words']),
  c('addr-all-quoted', ['quoted-local']),

  // Encoded and folded header fields (RFC 2047, RFC 5322 §2.2.3).
  c('hdr-encoded-b', ['encoded-headers']),
  c('hdr-folded', ['encoded-headers']),
  c('hdr-mixed-encoded', ['encoded-headers']),
  c('hdr-utf8-raw', ['utf8-headers']),
  c('hdr-adjacent-words', ['encoded-words']),
  c('hdr-charsets', ['encoded-words']),
  c('hdr-duplicate-subject', ['quoted-local']),
  c('hdr-empty-subject', ['minimal', 'plain']),
  c('hdr-invalid-name', ['plain']),

  // date / currentdate / index (RFC 5260).
  c('date-basic', ['plain', 'dates']),
  c('date-zone', ['plain', 'dates']),
  c('date-parts', ['dates']),
  c('date-relational', ['dates', 'plain']),
  c('date-missing-invalid', ['dates']),
  c('date-obsolete', ['dates']),
  c('date-resent', ['dates']),
  c('date-index', ['dates']),
  c('index-header', ['multi-header', 'dates']),
  c('index-last-without-index', ['plain'], 'compile-error'),
  c('index-zero', ['multi-header'], 'compile-error'),
  c('index-beyond', ['multi-header']),
  c('currentdate-structure', ['plain']),
  c('date-zone-invalid', ['plain']),
  c('date-unknown-part', ['plain']),

  // subaddress (RFC 5233).
  c('subaddr-user-detail', ['subaddress/detail', 'plain']),
  c('subaddr-header', ['subaddress']),
  c('subaddr-no-detail', ['plain']),

  // vacation (RFC 5230) and vacation-seconds (RFC 6131), with the no-reply rules.
  c('vacation-basic', vacationRuns),
  c('vacation-days', ['plain', 'list']),
  c('vacation-seconds', ['plain', 'bulk']),
  c('vacation-seconds-zero', ['plain']),
  c('vacation-seconds-short', ['plain']),
  c('vacation-days-max', ['plain']),
  c('vacation-from', ['plain', 'auto-replied']),
  c('vacation-addresses', ['alias', 'plain', 'not-to-me', 'plain/alias']),
  c('vacation-handle', ['plain']),
  c('vacation-mime', ['plain', 'junk']),
  c('vacation-subject-vars', ['plain', 'encoded-headers']),
  c('vacation-and-fileinto', ['plain']),
  c('vacation-and-discard', ['plain', 'list']),
  c('vacation-twice', ['plain'], 'runtime-error'),
  c('vacation-headers-checked', ['bcc-me', 'resent-to-me', 'not-to-me']),
  c('vacation-addresses-display', ['alias', 'not-to-me']),
  c('vacation-nonascii', ['plain']),
  c('vacation-reason-dots', ['plain']),
  c('vacation-days-and-seconds', ['plain'], 'compile-error'),
  c('vacation-invalid-from', ['plain']),

  // include (RFC 6609).
  c('include-personal', ['list', 'plain']),
  c('include-global', ['junk', 'plain']),
  c('include-once', ['plain']),
  c('include-optional', ['plain']),
  c('include-missing', ['plain'], 'failure-either'),
  c('include-return', ['plain']),
  c('include-global-vars', ['plain']),
  c('include-loop', ['plain'], 'failure-either'),
  c('include-stop', ['plain']),
  c('include-global-no-variables', ['plain'], 'compile-error'),
  c('return-main', ['plain']),
  c('include-depth', ['plain'], 'failure-either'),
  c('include-isolation', ['plain']),
  c('include-nested-return', ['plain']),
  c('include-global-twice', ['junk', 'list']),

  // mailbox (RFC 5490), environment (RFC 5183), duplicate (RFC 7352).
  c('mailbox-exists', ['plain']),
  c('env-items', ['plain']),
  c('env-unknown', ['plain']),
  c('duplicate-basic', ['plain']),
  c('duplicate-header', ['list', 'plain']),
  c('duplicate-last', ['plain']),
  c('duplicate-conflict', ['plain'], 'compile-error'),

  // Runtime errors: the message goes to INBOX (RFC 5228 §2.10.6).
  c('error-runaway-redirects', ['plain'], 'runtime-error'),
  c('error-too-many-actions', ['plain'], 'runtime-error'),

  // Compile errors: both refuse the script.
  c('syntax-missing-semicolon', ['plain'], 'compile-error'),
  c('syntax-unterminated-string', ['plain'], 'compile-error'),
  c('syntax-unknown-command', ['plain'], 'compile-error'),
  c('syntax-unknown-require', ['plain'], 'compile-error'),
  c('syntax-not-required', ['plain'], 'compile-error'),
  c('syntax-require-after-command', ['plain'], 'compile-error'),
  c('syntax-elsif-without-if', ['plain'], 'compile-error'),
  c('syntax-if-no-block', ['plain'], 'compile-error'),
  c('syntax-wrong-arg-type', ['plain'], 'compile-error'),
  c('syntax-missing-keys', ['plain'], 'compile-error'),
  c('syntax-unknown-tag', ['plain'], 'compile-error'),
  c('syntax-two-match-types', ['plain'], 'compile-error'),
  c('syntax-bad-number', ['plain'], 'compile-error'),
  c('syntax-test-as-command', ['plain'], 'compile-error'),
  c('syntax-empty-list', ['plain'], 'compile-error'),
  c('syntax-unclosed-block', ['plain'], 'compile-error'),
  c('syntax-stray-close', ['plain'], 'compile-error'),
  c('syntax-comment-unterminated', ['plain'], 'compile-error'),
  c('syntax-multiline-no-end', ['plain'], 'compile-error'),
  c('syntax-tests-trailing-comma', ['plain'], 'compile-error'),
];

/** One script × message × envelope. */
export interface DiffPair {
  name: string;
  script: string;
  message: string;
  envelope: EnvelopeName;
  expect?: Expectation;
  differs?: Difference;
}

export function pairs(): DiffPair[] {
  const out: DiffPair[] = [];
  for (const k of cases) {
    for (const run of k.on) {
      const [message, envelope = 'std'] = run.split('/');
      if (!(envelope in envelopes)) throw new Error(`${k.script}: unknown envelope ${envelope}`);
      out.push({
        name: `${k.script} × ${run}`,
        script: k.script,
        message,
        envelope: envelope as EnvelopeName,
        expect: k.expect,
        differs: k.differs,
      });
    }
  }
  return out;
}
