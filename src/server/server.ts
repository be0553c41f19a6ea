/**
 * The composition root: builds the store, services and listeners from a Config, and stops them.
 * Nothing else in the code base wires layers together; engines receive narrow backend interfaces.
 * The store backend is chosen here (store/open.ts), and only here and in the CLI.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AuthService, LoginClient, LoginResult } from '../auth/service.js';
import { ConfigError, parseListenAddress } from '../config/load.js';
import { type Config, LISTENER_KINDS, LISTENER_NAMES, type ListenerName } from '../config/schema.js';
import { bounceHandler, delayHandler, deliveredHandler, relayedHandler } from '../delivery/bounce.js';
import { Delivery } from '../delivery/delivery.js';
import { DkimKeyStore } from '../delivery/dkim.js';
import { InboundChecker } from '../delivery/inbound-auth.js';
import { parseHostPort } from '../delivery/outbound/routes.js';
import { OutboundWorker } from '../delivery/outbound/worker.js';
import { senderOwners } from '../delivery/sender-owners.js';
import { AUTHENTICATED_CAPABILITIES, imapHandler } from '../imap/index.js';
import type { Logger } from '../log.js';
import { type ManageSieveBackend, managesieveHandler } from '../managesieve/index.js';
import { TlsKeyLog } from '../net/keylog.js';
import { ListenError, NetServer, type SessionHandler } from '../net/listener.js';
import { MemoryBudget, Spool } from '../net/spool.js';
import { CurrentCertificate, loadTls, type TlsMaterial } from '../net/tls.js';
import { type Pop3Backend, pop3Handler } from '../pop3/index.js';
import { compile, SUPPORTED_EXTENSIONS } from '../sieve/index.js';
import { smtpHandler } from '../smtp/index.js';
import { SearchIndexer } from '../store/indexer.js';
import { describeLocation, openStore, storeLocation } from '../store/open.js';
import { isOutOfSpaceError, SpaceReserve } from '../store/space.js';
import type { Store } from '../store/types.js';
import { TraceBus } from '../trace/bus.js';
import { PRODUCT, VERSION } from '../version.js';
import type { WebContext } from '../web/context.js';
import { type Exercise, ExerciseFileError, loadExercises } from '../web/exercises/definitions.js';
import { ExerciseTracker } from '../web/exercises/progress.js';
import type { startWebListener as listenWeb } from '../web/http.js';
import { SessionRecorder } from '../web/recorder/index.js';
import { startAcme } from './acme.js';
import { authFromConfig, nodeName } from './auth-setup.js';
import { startControlSocket } from './control.js';
import { checkDataDirAccess } from './data-dir.js';
import { DiskMonitor } from './disk.js';
import { checkNodeKeys } from './node-keys.js';
import { type LabMemory, type ListenerInfo, type ServerStatus, serverStatus } from './status.js';

export interface RunningServer {
  config: Config;
  store: Store;
  bus: TraceBus;
  auth: AuthService;
  tls: TlsMaterial;
  /** Bound listeners with their actual addresses (ports resolved when 0 was configured). */
  listeners: ListenerInfo[];
  stop(): Promise<void>;
}

/**
 * Starts everything the configuration asks for, phase by phase; each phase registers how to undo
 * itself, so a failure part-way stops what was started (in reverse order) before it throws.
 */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const dataDir = path.resolve(config.data_dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Files another user made (a CLI command run as root) are named here, not met later as EACCES.
  checkDataDirAccess(dataDir);
  const cleanups = new Cleanups();
  try {
    const storage = await openStorage(config, dataDir, log, cleanups);
    // Several nodes over one store must hold the same keys: checked before anything reads one.
    if (storage.store.nodeKeys) {
      const keys = await checkNodeKeys(storage.store.nodeKeys, dataDir, nodeName(config));
      if (keys === 'recorded')
        log.info('first node of this database: recorded the digests of its secret.key and DKIM keys');
    }
    const services = buildServices(config, dataDir, storage.store, log, cleanups);
    const withoutScram = await services.auth.refreshScram();
    if (withoutScram.length > 0) {
      log.info(
        { accounts: withoutScram.length, first: withoutScram.slice(0, 5) },
        'SCRAM-SHA-256 is not advertised until every account has SCRAM keys (set at the next password login or password change)',
      );
    }
    // The one certificate every TLS listener reads per handshake; ACME replaces it when it renews.
    const tls = new CurrentCertificate(
      await loadTls({
        dataDir,
        hostname: config.hostname,
        certFile: config.tls.cert_file,
        keyFile: config.tls.key_file,
      }),
    );
    const acme = config.tls.acme
      ? await startAcme({ config, dataDir, tls, log, store: storage.store, node: nodeName(config) })
      : null;
    if (acme) cleanups.add(() => acme.stop());
    const bus = new TraceBus();
    const lab = await startLabRecorder(config, { bus, store: storage.store, log }, cleanups);
    // Lab session ids are kept in the store: with several nodes on it, each node's ids carry its name.
    const sessionIdPrefix = storage.store.nodes ? `${nodeName(config)}-` : '';
    const netServer = createNetServer(
      config,
      dataDir,
      { bus, log, tls, keylog: lab.keylog, sessionIdPrefix },
      cleanups,
    );
    const handlers = buildHandlers(config, {
      store: storage.store,
      ...services,
      tls,
      log,
      // The reserve spent, or the disk full to its last MiB (the spool of a message being received is on
      // it too): refuse at MAIL rather than after the client has sent the whole message.
      storageFull: () => storage.reserve.holding || storage.reserve.outOfSpace(),
    });
    const { listeners, problems } = await startMailListeners(config, netServer, handlers);

    const started = new Date();
    const status = () =>
      serverStatus({
        config,
        dataDir,
        started,
        listeners,
        ...storage,
        sessions: netServer.sessionCount,
        node: nodeName(config),
        lab: () => labMemory(lab.recorder, lab.exercises),
      });
    await startControl(dataDir, { bus, log, status }, cleanups);

    await startWebListener(
      config,
      {
        config,
        store: storage.store,
        bus,
        auth: services.auth,
        tls,
        log,
        listeners,
        product: PRODUCT,
        version: VERSION,
        status,
        capabilitiesAfterLogin: { imap: AUTHENTICATED_CAPABILITIES },
        ...(lab.recorder ? { recorder: lab.recorder } : {}),
        ...(lab.keylog ? { keylog: lab.keylog } : {}),
        ...(lab.exercises ? { exercises: lab.exercises } : {}),
      },
      cleanups,
      acme && config.tls.acme_http === 'off' ? acme.challengeResponse.bind(acme) : undefined,
    ).catch((err: unknown) => {
      if (!(err instanceof ListenError) || problems.length === 0) throw err;
      problems.push(err.message);
    });
    // Every listener that could not be bound, in one report (not one per start).
    if (problems.length > 0) throw new ListenError(problems.join('\n'));

    services.worker?.start();
    log.info(
      {
        version: VERSION,
        hostname: config.hostname,
        dataDir,
        store: describeLocation(storeLocation(config.store.url, dataDir)),
        ...(storage.store.nodes ? { node: nodeName(config) } : {}),
        tls: tls.source,
        listeners: listeners.map((l) => `${l.name}=${l.host}:${l.port}`),
      },
      'postbode started',
    );
    let stopping: Promise<void> | null = null;
    return {
      config,
      store: storage.store,
      bus,
      auth: services.auth,
      tls,
      listeners,
      stop() {
        if (!stopping) {
          const begun = Date.now();
          log.info({ timeout: config.shutdown_timeout }, 'postbode stopping');
          stopping = cleanups
            .run(begun + config.shutdown_timeout * 1000)
            .then(() => log.info({ ms: Date.now() - begun }, 'postbode stopped'));
        }
        return stopping;
      },
    };
  } catch (err) {
    await cleanups.run();
    throw err;
  }
}

/**
 * What to undo at stop. First every phase's `quiesce` runs, all at once: stop accepting connections,
 * ask sessions for their goodbye, stop claiming queue entries. Then the cleanups run newest first, each
 * given the stop's deadline (ms since the epoch), so the store, opened first, is closed last.
 */
class Cleanups {
  readonly #quiesce: (() => void)[] = [];
  readonly #fns: ((deadline: number) => Promise<unknown> | undefined)[] = [];

  add(fn: (deadline: number) => Promise<unknown> | undefined, quiesce?: () => void): void {
    this.#fns.unshift(fn);
    if (quiesce) this.#quiesce.push(quiesce);
  }

  /** Runs every step once (see above); one that fails does not stop the rest. */
  async run(deadline = Date.now()): Promise<void> {
    for (const quiesce of this.#quiesce.splice(0)) {
      try {
        quiesce();
      } catch {
        // keep stopping the rest
      }
    }
    for (const fn of this.#fns.splice(0)) {
      try {
        await fn(deadline);
      } catch {
        // keep stopping the rest
      }
    }
  }
}

/** `work`, or nothing more than a wait until `deadline` if it takes longer. */
async function untilDeadline(work: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work,
    new Promise<void>((r) => {
      timer = setTimeout(r, Math.max(0, deadline - Date.now()));
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Phase 1: the store (the backend `store.url` names, store/open.ts) with its storage reserve and the
 * disk monitor (config [store]; see store/space.ts and disk.ts), and the configured domains in it.
 */
async function openStorage(
  config: Config,
  dataDir: string,
  log: Logger,
  cleanups: Cleanups,
): Promise<{ store: Store; disk: DiskMonitor; reserve: SpaceReserve }> {
  const reserve = new SpaceReserve({ dataDir, bytes: config.store.reserve });
  // A full disk at start (after a crash or a reboot while it was full): the reserve makes room for
  // opening the store (SQLite's -shm and -wal files, the recovery of the log) and for deleting, as it
  // would have while running; ordinary writes wait until there is room again.
  if (reserve.present && reserve.outOfSpace() && reserve.release()) {
    log.warn(
      { dataDir },
      'the disk holding the mail store is full at start: the storage reserve was released so that users can read and delete mail; new mail is refused with a temporary error until space is freed',
    );
  }
  let store: Store;
  try {
    store = await openStore({
      url: config.store.url,
      dataDir,
      reserve,
      defaultQuotaBytes: config.store.default_quota,
      // Several nodes (PostgreSQL): this one is listed with heartbeats while it runs.
      node: nodeName(config),
      poolSize: config.store.pool_size,
      registerNode: true,
      onError: (error) => log.warn({ err: error }, 'store connection problem (retrying)'),
    });
  } catch (err) {
    if (isOutOfSpaceError(err, reserve)) {
      throw new Error(
        `the disk holding ${dataDir} is full, so the mail store cannot even be opened (${String((err as Error).message)}); free some space on it, then start again`,
      );
    }
    throw err;
  }
  cleanups.add(() => store.close());
  const index = await store.searchIndex.status();
  if (!index.available) {
    log.warn(
      'no body search index (this SQLite lacks FTS5 with the trigram tokenizer): SEARCH BODY/TEXT reads every message',
    );
  } else {
    // New messages are indexed in the background (store/indexer.ts), and so are those from before the
    // index existed; `postbode reindex` does the same at once.
    if (index.pending > 0)
      log.info({ pending: index.pending }, `${index.pending} stored messages wait for the body search index`);
    const indexer = new SearchIndexer(store, {
      onError: (error) => log.warn({ error }, 'body search indexing failed; retrying'),
    });
    indexer.start();
    cleanups.add(() => indexer.stop());
  }
  const disk = new DiskMonitor({
    dataDir,
    reserve,
    warnPercent: config.store.disk_warning_percent,
    warnBytes: config.store.disk_warning_bytes,
    intervalMs: config.store.disk_check_interval * 1000,
    log,
  });
  await disk.start();
  cleanups.add(async () => disk.stop());
  // Only the domains not there yet are written: a restart on a full disk writes nothing here.
  for (const domain of config.domains) if (!(await store.domains.has(domain))) await store.domains.add(domain);
  return { store, disk, reserve };
}

/**
 * Phase 2: logins, delivery and the outbound queue worker (created here, started last, when the
 * listeners are up).
 */
function buildServices(
  config: Config,
  dataDir: string,
  store: Store,
  log: Logger,
  cleanups: Cleanups,
): { auth: AuthService; delivery: Delivery; worker: OutboundWorker | null } {
  const auth = authFromConfig(store, config, dataDir, log);
  let worker: OutboundWorker | null = null;
  let reportDelivered: ReturnType<typeof deliveredHandler> | null = null;
  const delivery: Delivery = new Delivery(store, {
    hostname: config.hostname,
    product: PRODUCT,
    log,
    onQueued: () => worker?.wake(),
    // Made at the first report: it needs `delivery`, which this constructor call defines.
    onDelivered: (msg, id, arrival) => {
      reportDelivered ??= deliveredHandler({ delivery, hostname: config.hostname, log });
      return reportDelivered(msg, id, arrival);
    },
    dkim: new DkimKeyStore(dataDir),
    recipientDelimiter: config.delivery.recipient_delimiter,
    maxRedirects: config.sieve.max_redirects,
  });
  if (config.delivery.enabled) {
    const w = outboundWorker(config, store, delivery, log);
    // At stop it claims no more entries at once; deliveries in flight may finish until the deadline.
    let stopped: Promise<void> | null = null;
    cleanups.add(
      (deadline) => untilDeadline(stopped ?? w.stop(), deadline),
      () => {
        stopped ??= w.stop();
      },
    );
    worker = w;
  }
  return { auth, delivery, worker };
}

/** What the web lab holds in memory, for `postbode status` (null with the lab off). */
function labMemory(recorder: SessionRecorder | null, exercises: ExerciseTracker | null): LabMemory | null {
  if (!recorder) return null;
  const held = recorder.held();
  const checked = exercises?.held() ?? { sessions: 0, models: 0 };
  return {
    liveSessions: held.sessions,
    heldEvents: held.events,
    heldCaptureBytes: held.captureCost,
    checkedSessions: checked.sessions,
    checkModels: checked.models,
  };
}

/**
 * Phase 3, only with the http listener on: TLS key logging (off until an admin turns it on), the
 * session recorder of the web lab, started before the listeners so that it sees every session, and
 * the exercises' checker of what it records (the built-ins and lab.exercises_file; a bad file stops
 * the start with a ConfigError naming each problem).
 */
async function startLabRecorder(
  config: Config,
  deps: { bus: TraceBus; store: Store; log: Logger },
  cleanups: Cleanups,
): Promise<{ keylog: TlsKeyLog | null; recorder: SessionRecorder | null; exercises: ExerciseTracker | null }> {
  if (config.listen.http === 'off') return { keylog: null, recorder: null, exercises: null };
  let definitions: Exercise[];
  try {
    definitions = loadExercises(config.lab.exercises_file);
  } catch (err) {
    if (err instanceof ExerciseFileError) throw new ConfigError(err.message);
    throw err;
  }
  const keylog = new TlsKeyLog();
  const recorder = new SessionRecorder({
    ...deps,
    keylog,
    historySessions: config.web.history_sessions,
    historyDays: config.web.history_days,
    captureBytes: config.lab.capture_bytes,
    capturePasswords: config.lab.capture_passwords,
  });
  const exercises = new ExerciseTracker({ store: deps.store, log: deps.log, exercises: definitions, recorder });
  // Cleanups run last-added first: the recorder writes its last batch, then the checker finishes it.
  cleanups.add(() => exercises.stop());
  await recorder.start();
  cleanups.add(() => recorder.stop());
  exercises.start();
  return { keylog, recorder, exercises };
}

/**
 * Phase 4: the network server every mail listener runs on, with the connection limits and the spool
 * where message bodies in flight wait (in memory while small and the budget allows, else on disk).
 */
function createNetServer(
  config: Config,
  dataDir: string,
  deps: { bus: TraceBus; log: Logger; tls: TlsMaterial; keylog: TlsKeyLog | null; sessionIdPrefix: string },
  cleanups: Cleanups,
): NetServer {
  const spool = new Spool({
    dir: path.join(dataDir, 'spool'),
    budget: new MemoryBudget(config.limits.body_memory),
  });
  spool.prepare();
  const netServer = new NetServer({
    bus: deps.bus,
    log: deps.log,
    spool,
    limits: {
      connectionsPerIp: config.limits.connections_per_ip,
      maxConnections: config.limits.max_connections,
      maxUnsentOutput: config.limits.max_unsent_output,
      minDataRate: config.limits.min_data_rate,
    },
    tlsContext: () => deps.tls.context,
    ...(deps.keylog ? { keylog: deps.keylog } : {}),
    ...(deps.sessionIdPrefix ? { sessionIdPrefix: deps.sessionIdPrefix } : {}),
  });
  cleanups.add(
    (deadline) => netServer.close({ deadline }),
    () => netServer.beginClose(),
  );
  return netServer;
}

/**
 * Phase 5: binds every configured mail listener (all but http) to its engine's handler. One that cannot
 * be bound is skipped and described in `problems`, so that a start reports every conflict at once.
 */
async function startMailListeners(
  config: Config,
  netServer: NetServer,
  handlers: Partial<Record<ListenerName, SessionHandler>>,
): Promise<{ listeners: ListenerInfo[]; problems: string[] }> {
  const listeners: ListenerInfo[] = [];
  const problems: string[] = [];
  for (const name of LISTENER_NAMES) {
    const value = config.listen[name];
    if (value === 'off' || name === 'http') continue;
    const handler = handlers[name];
    if (!handler) {
      throw new ListenError(
        `the ${name} listener is not available in postbode ${VERSION} yet; set listen.${name} = "off" (or --listen ${name}=off)`,
      );
    }
    const { host, port } = parseListenAddress(value);
    try {
      const address = await netServer.listen({
        name,
        host,
        port,
        implicitTls: LISTENER_KINDS[name].implicitTls,
        handler,
      });
      listeners.push({ name, host: address.address, port: address.port });
    } catch (err) {
      if (!(err instanceof ListenError)) throw err;
      problems.push(err.message);
    }
  }
  return { listeners, problems };
}

/** Phase 6: the control socket `<data_dir>/control.sock` (`postbode status`, `postbode trace`). */
async function startControl(
  dataDir: string,
  deps: { bus: TraceBus; log: Logger; status: () => Promise<ServerStatus> },
  cleanups: Cleanups,
): Promise<void> {
  const control = await startControlSocket(path.join(dataDir, 'control.sock'), deps);
  cleanups.add(
    () => control.close(),
    () => control.stopAccepting(),
  );
}

/**
 * Phase 7, when listen.http is on: the web lab and its HTTP(S) listener, added to `web.listeners`.
 * Its modules are loaded only then: the CLI's other commands start faster without hono.
 */
async function startWebListener(
  config: Config,
  web: WebContext,
  cleanups: Cleanups,
  /** ACME http-01 answers served before the app (tls.acme_http = "off"). */
  acmeChallenge?: Parameters<typeof listenWeb>[0]['acmeChallenge'],
): Promise<void> {
  if (config.listen.http === 'off') return;
  const { host, port } = parseListenAddress(config.listen.http);
  const [{ createApp }, http] = await Promise.all([import('../web/app.js'), import('../web/http.js')]);
  const listener = await http.startWebListener({
    app: createApp(web),
    host,
    port,
    ...(config.web.https ? { tls: web.tls } : {}),
    ...(acmeChallenge ? { acmeChallenge } : {}),
    limits: {
      connectionsPerIp: config.web.connections_per_ip,
      maxConnections: config.web.max_connections,
      requestTimeoutMs: config.web.request_timeout * 1000,
      maxBodyBytes: config.web.max_body_size,
    },
    log: web.log,
  });
  cleanups.add(
    (deadline) => listener.close(deadline),
    () => listener.stopAccepting(),
  );
  web.listeners.push({ name: 'http', host: listener.host, port: listener.port });
}

/** The submission listener as replies name it ("the submission port 587"), or null when none listens. */
export function submissionHint(config: Config): string | null {
  for (const [name, tls] of [
    ['submission', ''],
    ['submissions', ' (implicit TLS)'],
  ] as const) {
    const listen = config.listen[name];
    if (listen === 'off') continue;
    const { port } = parseListenAddress(listen);
    return port === 0 ? `the submission port${tls}` : `the submission port ${port}${tls}`;
  }
  return null;
}

/** The outbound queue worker as the configuration sets it up; bounces go through `delivery`. */
function outboundWorker(config: Config, store: Store, delivery: Delivery, log: Logger): OutboundWorker {
  const d = config.delivery;
  let relay = null;
  if (d.relay_host) {
    const { host, port } = parseHostPort(d.relay_host, 25);
    relay = {
      host,
      port,
      secure: port === 465,
      // Credentials go only over TLS with a checked certificate unless configured otherwise (RFC 8314).
      requireTls: d.relay_tls !== 'opportunistic',
      verifyTls: d.relay_tls === 'verify',
      ...(d.relay_user ? { auth: { user: d.relay_user, pass: d.relay_password } } : {}),
    };
  }
  return new OutboundWorker({
    store,
    hostname: config.hostname,
    log: log.child({ component: 'outbound' }),
    routes: { transportMap: d.transport, relay, dnsServers: d.dns_servers },
    concurrencyPerDestination: d.concurrency_per_destination,
    intervalMs: d.retry_interval_scan * 1000,
    // Lease owner `node:pid`: a restarted node retakes the leases of its dead process by this name.
    node: nodeName(config),
    leaseMs: d.lease_seconds * 1000,
    backoff: { lifetimeMs: d.queue_lifetime * 1000 },
    onPermanentFailure: bounceHandler({ delivery, hostname: config.hostname, log }),
    onDelayed: delayHandler({ delivery, hostname: config.hostname, log }),
    onRelayed: relayedHandler({ delivery, hostname: config.hostname, log }),
    delayWarningMs: d.delay_warning * 1000,
    maxMessagesPerConnection: d.max_messages_per_connection,
    idleConnectionMs: d.connection_idle * 1000,
    mtaSts: d.mta_sts,
  });
}

function buildHandlers(
  config: Config,
  deps: {
    store: Store;
    auth: AuthService;
    delivery: Delivery;
    tls: TlsMaterial;
    log: Logger;
    /** True while the disk reserve is spent and the store refuses new mail. */
    storageFull: () => boolean;
  },
): Partial<Record<ListenerName, SessionHandler>> {
  const { auth, delivery, log } = deps;
  const smtpBackend = {
    plaintextAllowed: (conn: { secure: boolean; remoteAddress: string }) => auth.plaintextAllowed(conn),
    login: async (client: LoginClient, user: string, pass: string): Promise<LoginResult<string>> => {
      const r = await auth.login(client, user, pass);
      return r.ok ? { ok: true, account: r.account.address } : r;
    },
    scram: {
      advertised: () => auth.scram.advertised(),
      credentials: async (user: string) => {
        const c = await auth.scram.credentials(user);
        return c.keys ? { address: c.address, keys: c.keys, account: c.account.address } : c;
      },
      decoySalt: (address: string) => auth.scram.decoySalt(address),
      guarded: (client: LoginClient, account: string, check: () => Promise<string | null>) =>
        auth.guarded(client, account, check),
    },
    resolve: (address: string) => delivery.resolve(address),
    // SMTP answers a message every recipient's Sieve script rejects with 550 at DATA (RFC 5429 §2.2).
    deliver: (msg: Parameters<Delivery['deliver']>[0]) => delivery.deliver(msg, { refuseInProtocol: true }),
    storageFull: deps.storageFull,
    senderOwners: (address: string) => senderOwners(deps.store, address),
  };
  // Port 25 only: SPF/DKIM/DMARC/ARC checks with the outbound DNS servers (inbound-auth.ts).
  const c = config.checks;
  const checker = c.enabled
    ? new InboundChecker({
        hostname: config.hostname,
        dnsServers: config.delivery.dns_servers,
        dnsTimeoutMs: c.dns_timeout * 1000,
        trustedNetworks: c.trusted_networks,
        policy: {
          dmarcReject: c.dmarc_reject,
          dmarcQuarantine: c.dmarc_quarantine,
          spfFail: c.spf_fail,
          dkimFail: c.dkim_fail,
          tempError: c.temp_error,
        },
        log: log.child({ component: 'checks' }),
      })
    : null;
  const mxBackend = checker
    ? { ...smtpBackend, checkInbound: (msg: Parameters<Delivery['deliver']>[0]) => checker.checkIncoming(msg) }
    : smtpBackend;
  // Settings every protocol engine takes the same way.
  const common = {
    hostname: config.hostname,
    showVersion: config.show_version,
    strict: config.strictness === 'strict',
    maxErrors: config.limits.max_errors,
    maxAuthFailures: config.limits.max_auth_failures,
    tlsContext: () => deps.tls.context,
  };
  const smtpSettings = (role: 'mx' | 'submission') => ({
    ...common,
    product: PRODUCT,
    role,
    maxMessageSize: config.smtp.max_message_size,
    maxRecipients: config.smtp.max_recipients,
    maxLineLength: config.smtp.max_line_length,
    idleTimeoutMs: config.smtp.idle_timeout * 1000,
    authOnMx: config.smtp.auth_on_mx,
    senderLoginMatch: config.smtp.sender_login_match,
    submissionHint: submissionHint(config),
  });
  const pop3 = pop3Handler(
    { ...common, version: VERSION, idleTimeoutMs: config.pop3.idle_timeout * 1000 },
    { auth, store: deps.store } satisfies Pop3Backend,
    log,
  );
  const imap = imapHandler(
    {
      ...common,
      version: VERSION,
      idleTimeoutMs: config.imap.idle_timeout * 1000,
      maxLineLength: config.imap.max_line_length,
      maxMessageSize: config.smtp.max_message_size,
    },
    { auth, store: deps.store },
    log,
  );
  const sieve = config.sieve;
  const managesieve = managesieveHandler(
    {
      ...common,
      version: VERSION,
      idleTimeoutMs: config.managesieve.idle_timeout * 1000,
      maxScripts: sieve.max_scripts,
      maxScriptBytes: sieve.max_script_bytes,
      maxRedirects: sieve.max_redirects,
      extensions: SUPPORTED_EXTENSIONS,
    },
    {
      auth,
      store: deps.store,
      compile: (source) =>
        compile(source, { limits: { maxScriptBytes: sieve.max_script_bytes, maxRedirects: sieve.max_redirects } }),
    } satisfies ManageSieveBackend,
    log,
  );
  return {
    imap,
    imaps: imap,
    managesieve,
    smtp: smtpHandler(smtpSettings('mx'), mxBackend, log),
    submission: smtpHandler(smtpSettings('submission'), smtpBackend, log),
    submissions: smtpHandler(smtpSettings('submission'), smtpBackend, log),
    pop3,
    pop3s: pop3,
  };
}
