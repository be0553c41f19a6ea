/**
 * Command-line options of `npm run bench -- [options]`. Every option can also be given in the
 * environment as BENCH_<NAME> (e.g. BENCH_AGAINST=postfix, BENCH_SMTP_MESSAGES=20000, BENCH_COMPARE=1);
 * the command line wins.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';

/** `imap-idle`: only the IMAP IDLE memory phase, which `imap` includes. */
export type Part = 'smtp' | 'pop3' | 'idle' | 'imap' | 'imap-idle' | 'outbound' | 'nodes';
export const PARTS: readonly Part[] = ['smtp', 'pop3', 'idle', 'imap', 'imap-idle', 'outbound', 'nodes'];
/**
 * Run when --only is not given; `outbound` reconfigures the reference Postfix, so it runs only when asked;
 * `nodes` needs a PostgreSQL server (--store / --pg), and is what runs when one is given.
 */
const DEFAULT_PARTS: readonly Part[] = ['smtp', 'pop3', 'idle', 'imap'];
/** The database of `--pg` (created when missing). */
export const DEFAULT_PG_URL = 'postgresql://postgres@127.0.0.1:5432/postbode_bench';

export interface BenchOptions {
  compare: boolean;
  /** postbode (default), postfix (the reference Postfix + Dovecot stack), or external (--host/ports). */
  against: 'postbode' | 'postfix' | 'external';
  only: Set<Part>;
  host: string;
  smtpPort: number;
  pop3Port: number;
  imapPort: number;
  label: string;
  serverPids: number[];
  domain: string;
  user: string;
  password: string;
  smtpMessages: number;
  smtpSessions: number;
  smtpSize: number;
  outboundMessages: number;
  outboundSessions: number;
  outboundSize: number;
  pop3Clients: number;
  pop3Messages: number;
  pop3Size: number;
  pop3Seconds: number;
  idleConnections: number;
  idleLoggedIn: number;
  idleConcurrency: number;
  imapClients: number;
  imapMessages: number;
  imapSize: number;
  imapSeconds: number;
  imapLoginClients: number;
  imapSearchMessages: number;
  imapSearchRuns: number;
  imapIdle: number;
  json: string | null;
  keep: boolean;
  build: 'auto' | 'always' | 'never';
  cpuProf: string | null;
  /**
   * The web lab (the `http` listener and its session recorder) while postbode runs: on, the shipped
   * default (on an ephemeral port), or off. Only for --against postbode.
   */
  web: 'on' | 'off';
  refstackHome: string;
  /** The refstack's state folder ($REFSTACK_DIR); null: whatever the refstack's own common.sh says. */
  refstackDir: string | null;
  /** PostgreSQL for `--only nodes` (--store URL, or --pg for DEFAULT_PG_URL); each run uses fresh schemas. */
  store: string;
  /** Nodes of the multi-node run (default 3). */
  nodes: number;
  /** Messages of each delivery load of `nodes`, one per connection (default 5000). */
  nodesMessages: number;
  /** Cross-node IDLE latency samples (default 200). */
  nodesIdleSamples: number;
  /** Warm-up deliveries per node before the measured ones of `nodes`, not counted (default 300). */
  nodesWarmup: number;
  /** Accounts the deliveries of `nodes` go to, message i to account i mod N (default 1: one mailbox). */
  nodesAccounts: number;
  /** Setups of `nodes` to run (default all): sqlite, pg1, pgN (N nodes). */
  nodesSetups: ReadonlySet<'sqlite' | 'pg1' | 'pgN'>;
  /** Phases of `nodes` to run on each setup (default all): deliveries, fetch, idle. */
  nodesPhases: ReadonlySet<'deliveries' | 'fetch' | 'idle'>;
}

const SPEC = {
  compare: { type: 'boolean', help: 'run postbode, then the reference Postfix + Dovecot stack, and print ratios' },
  against: { type: 'string', help: 'postbode (default) | postfix: which server to run the loads against' },
  only: {
    type: 'string',
    help: 'comma list of smtp,pop3,idle,imap,imap-idle,outbound,nodes (default: smtp,pop3,idle,imap)',
  },
  host: { type: 'string', help: 'benchmark a server that is already running at this address' },
  'smtp-port': { type: 'string', help: 'its SMTP (port 25-style) port' },
  'pop3-port': { type: 'string', help: 'its POP3 port' },
  'imap-port': { type: 'string', help: 'its IMAP port' },
  label: { type: 'string', help: 'name printed for that server (default: server)' },
  'server-pid': { type: 'string', help: 'comma list of its root pids, to measure memory and CPU' },
  domain: { type: 'string', help: 'mail domain of the bench accounts (default example.test)' },
  user: { type: 'string', help: 'local part of the SMTP load recipient (default bench)' },
  password: { type: 'string', help: 'password of every bench account (default bench)' },
  'smtp-messages': { type: 'string', help: 'messages in the SMTP load (default 5000)' },
  'smtp-sessions': { type: 'string', help: 'parallel SMTP sessions (default 20)' },
  'smtp-size': { type: 'string', help: 'message size in bytes (default 4096)' },
  'outbound-messages': { type: 'string', help: 'messages relayed to the sink in --only outbound (default 500)' },
  'outbound-sessions': { type: 'string', help: 'parallel submission sessions in --only outbound (default 10)' },
  'outbound-size': { type: 'string', help: 'message size in bytes for --only outbound (default 4096)' },
  'pop3-clients': { type: 'string', help: 'concurrent POP3 clients, one account each (default 10)' },
  'pop3-messages': { type: 'string', help: 'messages per POP3 mailbox (default 100)' },
  'pop3-size': { type: 'string', help: 'POP3 message size in bytes (default 4608)' },
  'pop3-seconds': { type: 'string', help: 'duration of the POP3 load (default 5)' },
  'idle-connections': { type: 'string', help: 'idle SMTP and idle POP3 connections (default 2000)' },
  'idle-logged-in': {
    type: 'string',
    help: 'idle logged-in POP3 connections, one account each (default 1000; 0 skips)',
  },
  'idle-concurrency': { type: 'string', help: 'connections opened at once (default 64)' },
  'imap-clients': { type: 'string', help: 'concurrent IMAP FETCH clients, one account each (default 10)' },
  'imap-messages': { type: 'string', help: 'messages per IMAP FETCH mailbox (default 100)' },
  'imap-size': { type: 'string', help: 'IMAP FETCH message size in bytes (default 4608)' },
  'imap-seconds': { type: 'string', help: 'duration of the IMAP login and FETCH loads (default 5)' },
  'imap-login-clients': { type: 'string', help: 'concurrent clients in the IMAP login load (default 10)' },
  'imap-search-messages': {
    type: 'string',
    help: 'messages in the IMAP SEARCH mailbox (default 100000; 0 skips)',
  },
  'imap-search-runs': { type: 'string', help: 'runs of each timed SEARCH/FETCH, median reported (default 5)' },
  'imap-idle': {
    type: 'string',
    help: 'IMAP connections in IDLE, one account each (default 1000; 0 skips; --only imap-idle: just these)',
  },
  json: { type: 'string', help: 'also write the figures to this JSON file' },
  keep: { type: 'boolean', help: "keep postbode's temporary data directory and log" },
  build: { type: 'string', help: 'auto (default: when src/ is newer than dist/) | always | never' },
  'cpu-prof': {
    type: 'string',
    help: 'run postbode under node --cpu-prof, profiles to this folder (summary: bench/profile.ts)',
  },
  store: {
    type: 'string',
    help: 'postgresql://USER@HOST:PORT/DB: the multi-node bench (--only nodes): 1 node on SQLite, 1 and N on it',
  },
  pg: { type: 'boolean', help: `the same with ${DEFAULT_PG_URL}` },
  nodes: { type: 'string', help: 'nodes of the multi-node run (default 3)' },
  'nodes-messages': { type: 'string', help: 'deliveries per run of --only nodes, one per connection (default 5000)' },
  'nodes-idle-samples': { type: 'string', help: 'cross-node IDLE latency samples (default 200)' },
  'nodes-warmup': {
    type: 'string',
    help: 'deliveries per node before the measured ones of --only nodes, not counted (default 300; 0: none)',
  },
  'nodes-accounts': {
    type: 'string',
    help: 'accounts the deliveries of --only nodes go to, in turn (default 1: one mailbox)',
  },
  'nodes-setups': {
    type: 'string',
    help: 'setups of --only nodes, comma list of sqlite,pg1,pgN (default all three)',
  },
  'nodes-phases': {
    type: 'string',
    help: 'phases of --only nodes on each setup, comma list of deliveries,fetch,idle (default all three)',
  },
  web: {
    type: 'string',
    help: "on (default, as shipped) | off: postbode's web lab and its session recorder",
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const;

export function usage(): string {
  const lines = ['usage: npm run bench -- [options]', ''];
  for (const [name, spec] of Object.entries(SPEC)) {
    lines.push(`${`  --${name}${spec.type === 'string' ? ' <value>' : ''}`.padEnd(33)} ${spec.help}`);
  }
  lines.push(
    '',
    'Each option may also come from the environment: BENCH_SMTP_MESSAGES=20000, BENCH_AGAINST=postfix, ...',
  );
  return lines.join('\n');
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(SPEC)) {
    options[name] = 'short' in spec ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const cli = values as Record<string, string | boolean | undefined>;
  if (cli.help) return 'help';

  const get = (name: keyof typeof SPEC): string | boolean | undefined => {
    if (cli[name] !== undefined) return cli[name];
    const env = process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
    if (env === undefined || env === '') return undefined;
    return SPEC[name].type === 'boolean' ? !/^(0|no|false)$/i.test(env) : env;
  };
  const str = (name: keyof typeof SPEC, fallback: string): string => {
    const v = get(name);
    return typeof v === 'string' ? v : fallback;
  };
  const int = (name: keyof typeof SPEC, fallback: number, min = 1): number => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} wants a whole number >= ${min}, not "${String(v)}"`);
    return n;
  };

  const host = get('host');
  const external =
    typeof host === 'string' ||
    get('smtp-port') !== undefined ||
    get('pop3-port') !== undefined ||
    get('imap-port') !== undefined;
  const againstText = str('against', external ? 'external' : 'postbode').toLowerCase();
  const against =
    againstText === 'postfix' || againstText === 'refstack' || againstText === 'dovecot'
      ? 'postfix'
      : againstText === 'external' || againstText === 'server'
        ? 'external'
        : againstText === 'postbode'
          ? 'postbode'
          : null;
  if (against === null) throw new Error(`--against wants postbode or postfix, not "${againstText}"`);
  const compare = get('compare') === true;
  if (compare && external)
    throw new Error('--compare runs postbode and the reference stack; it does not combine with --host/ports');

  const storeText = str('store', get('pg') === true ? DEFAULT_PG_URL : '');
  if (storeText && !/^postgres(ql)?:\/\//.test(storeText))
    throw new Error(`--store wants a postgresql:// url, not "${storeText}"`);
  const onlyText = str('only', storeText ? 'nodes' : DEFAULT_PARTS.join(','));
  const only = new Set<Part>();
  for (const part of onlyText.split(',').map((s) => s.trim().toLowerCase())) {
    if ((PARTS as readonly string[]).includes(part)) only.add(part as Part);
    else if (part) throw new Error(`--only wants ${PARTS.join(', ')}, not "${part}"`);
  }
  const build = str('build', 'auto');
  if (build !== 'auto' && build !== 'always' && build !== 'never')
    throw new Error('--build wants auto, always or never');
  const web = str('web', 'on').toLowerCase();
  if (web !== 'on' && web !== 'off') throw new Error(`--web wants on or off, not "${web}"`);
  if (get('web') !== undefined && against !== 'postbode')
    throw new Error(
      '--web switches the web lab of the postbode the bench starts; it does not apply to --against/--host',
    );
  const pids = str('server-pid', '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (pids.some((p) => !Number.isInteger(p) || p <= 0)) throw new Error('--server-pid wants process ids');

  const listOf = <T extends string>(name: keyof typeof SPEC, all: readonly T[]): Set<T> => {
    const chosen = new Set<T>();
    for (const item of str(name, all.join(','))
      .split(',')
      .map((x) => x.trim())) {
      if ((all as readonly string[]).includes(item)) chosen.add(item as T);
      else if (item) throw new Error(`--${name} wants ${all.join(', ')}, not "${item}"`);
    }
    return chosen;
  };

  return {
    compare,
    against,
    only,
    host: typeof host === 'string' ? host : '127.0.0.1',
    smtpPort: int('smtp-port', 25),
    pop3Port: int('pop3-port', 110),
    imapPort: int('imap-port', 143),
    label: str('label', 'server'),
    serverPids: pids,
    domain: str('domain', 'example.test'),
    user: str('user', 'bench'),
    password: str('password', 'bench'),
    smtpMessages: int('smtp-messages', 5000),
    smtpSessions: int('smtp-sessions', 20),
    smtpSize: int('smtp-size', 4096, 512),
    outboundMessages: int('outbound-messages', 500),
    outboundSessions: int('outbound-sessions', 10),
    outboundSize: int('outbound-size', 4096, 512),
    pop3Clients: int('pop3-clients', 10),
    pop3Messages: int('pop3-messages', 100),
    pop3Size: int('pop3-size', 4608, 512),
    pop3Seconds: int('pop3-seconds', 5),
    idleConnections: int('idle-connections', 2000),
    idleLoggedIn: int('idle-logged-in', 1000, 0),
    idleConcurrency: int('idle-concurrency', 64),
    imapClients: int('imap-clients', 10),
    imapMessages: int('imap-messages', 100),
    imapSize: int('imap-size', 4608, 512),
    imapSeconds: int('imap-seconds', 5),
    imapLoginClients: int('imap-login-clients', 10),
    imapSearchMessages: int('imap-search-messages', 100_000, 0),
    imapSearchRuns: int('imap-search-runs', 5),
    imapIdle: int('imap-idle', 1000, 0),
    json: get('json') === undefined ? null : str('json', ''),
    keep: get('keep') === true,
    build,
    cpuProf: get('cpu-prof') === undefined ? null : str('cpu-prof', ''),
    web,
    refstackHome: process.env.REFSTACK_HOME ?? path.resolve(import.meta.dirname, '../../shared/refstack'),
    refstackDir: process.env.REFSTACK_DIR ?? null,
    store: storeText || DEFAULT_PG_URL,
    nodes: int('nodes', 3, 2),
    nodesMessages: int('nodes-messages', 5000),
    nodesIdleSamples: int('nodes-idle-samples', 200),
    nodesWarmup: int('nodes-warmup', 300, 0),
    nodesAccounts: int('nodes-accounts', 1),
    nodesSetups: listOf('nodes-setups', ['sqlite', 'pg1', 'pgN'] as const),
    nodesPhases: listOf('nodes-phases', ['deliveries', 'fetch', 'idle'] as const),
  };
}
