/**
 * The composition root: builds the store, services and listeners from a Config, and stops them.
 * Nothing else in the code base wires layers together; engines receive narrow backend interfaces.
 */
import { mkdirSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { LoginLimiter, limiterOptions } from '../auth/limiter.js';
import { SecretBox } from '../auth/secret.js';
import { AuthService, type LoginClient, type LoginResult } from '../auth/service.js';
import { parseListenAddress } from '../config/load.js';
import { type Config, LISTENER_KINDS, LISTENER_NAMES, type ListenerName } from '../config/schema.js';
import { bounceHandler, delayHandler, relayedHandler } from '../delivery/bounce.js';
import { Delivery } from '../delivery/delivery.js';
import { DkimKeyStore } from '../delivery/dkim.js';
import { InboundChecker } from '../delivery/inbound-auth.js';
import { parseHostPort } from '../delivery/outbound/routes.js';
import { type QueueStatus, queueStatus } from '../delivery/outbound/status.js';
import { OutboundWorker } from '../delivery/outbound/worker.js';
import { senderOwners } from '../delivery/sender-owners.js';
import { imapHandler } from '../imap/index.js';
import { type Logger, type LogStats, logStats } from '../log.js';
import { TlsKeyLog } from '../net/keylog.js';
import { ListenError, NetServer, type SessionHandler } from '../net/listener.js';
import { MemoryBudget, Spool } from '../net/spool.js';
import { loadTls, type TlsMaterial } from '../net/tls.js';
import { type Pop3Backend, pop3Handler } from '../pop3/index.js';
import { smtpHandler } from '../smtp/index.js';
import { openStore } from '../store/index.js';
import { SpaceReserve } from '../store/space.js';
import type { Store, StoreStats } from '../store/types.js';
import { TraceBus } from '../trace/bus.js';
import { PRODUCT, VERSION } from '../version.js';
import type { WebContext } from '../web/context.js';
import { SessionRecorder } from '../web/recorder.js';
import { startControlSocket } from './control.js';
import { DiskMonitor, type DiskStatus } from './disk.js';

export interface RunningServer {
  config: Config;
  store: Store;
  bus: TraceBus;
  auth: AuthService;
  tls: TlsMaterial;
  /** Bound listeners with their actual addresses (ports resolved when 0 was configured). */
  listeners: { name: ListenerName; host: string; port: number }[];
  stop(): Promise<void>;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const dataDir = path.resolve(config.data_dir);
  mkdirSync(dataDir, { recursive: true });
  // The storage reserve and the default quota (config [store]); see store/space.ts and disk.ts.
  const reserve = new SpaceReserve({ dataDir, bytes: config.store.reserve });
  const store = await openStore({ dataDir, reserve, defaultQuotaBytes: config.store.default_quota });
  const cleanups: (() => Promise<unknown> | undefined)[] = [() => store.close()];
  try {
    const disk = new DiskMonitor({
      dataDir,
      reserve,
      warnPercent: config.store.disk_warning_percent,
      warnBytes: config.store.disk_warning_bytes,
      intervalMs: config.store.disk_check_interval * 1000,
      log,
    });
    await disk.start();
    cleanups.unshift(async () => disk.stop());
    for (const domain of config.domains) await store.domains.add(domain);
    const auth = authFromConfig(store, config, dataDir, log);
    const withoutScram = await auth.refreshScram();
    if (withoutScram.length > 0) {
      log.info(
        { accounts: withoutScram.length, first: withoutScram.slice(0, 5) },
        'SCRAM-SHA-256 is not advertised until every account has SCRAM keys (set at the next password login or password change)',
      );
    }
    let worker: OutboundWorker | null = null;
    const delivery = new Delivery(store, {
      hostname: config.hostname,
      product: PRODUCT,
      log,
      onQueued: () => worker?.wake(),
      dkim: new DkimKeyStore(dataDir),
    });
    if (config.delivery.enabled) {
      worker = outboundWorker(config, store, delivery, log);
      const w = worker;
      cleanups.unshift(() => w.stop());
    }
    const tls = await loadTls({
      dataDir,
      hostname: config.hostname,
      certFile: config.tls.cert_file,
      keyFile: config.tls.key_file,
    });
    const bus = new TraceBus();
    // The web lab, only with the http listener on: TLS key logging (off until an admin turns it on)
    // and the session recorder, started before the listeners so that it sees every session.
    const keylog = config.listen.http !== 'off' ? new TlsKeyLog() : null;
    let recorder: SessionRecorder | null = null;
    if (keylog) {
      const r = new SessionRecorder({
        bus,
        store,
        log,
        keylog,
        historySessions: config.web.history_sessions,
        historyDays: config.web.history_days,
      });
      await r.start();
      cleanups.unshift(() => r.stop());
      recorder = r;
    }
    // Message bodies in flight wait here: in memory while small and the budget allows, else on disk.
    const spool = new Spool({
      dir: path.join(dataDir, 'spool'),
      budget: new MemoryBudget(config.limits.body_memory),
    });
    spool.prepare();
    const netServer = new NetServer({
      bus,
      log,
      spool,
      limits: {
        connectionsPerIp: config.limits.connections_per_ip,
        maxConnections: config.limits.max_connections,
        maxUnsentOutput: config.limits.max_unsent_output,
        minDataRate: config.limits.min_data_rate,
      },
      tlsContext: () => tls.context,
      ...(keylog ? { keylog } : {}),
    });
    cleanups.unshift(() => netServer.close());

    const handlers = buildHandlers(config, { store, auth, delivery, tls, log });
    const listeners: RunningServer['listeners'] = [];
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
      const address = await netServer.listen({
        name,
        host,
        port,
        implicitTls: LISTENER_KINDS[name].implicitTls,
        handler,
      });
      listeners.push({ name, host: address.address, port: address.port });
    }

    const started = new Date();
    const status = () =>
      serverStatus({ config, dataDir, started, listeners, store, sessions: netServer.sessionCount, disk });
    const control: net.Server = await startControlSocket(path.join(dataDir, 'control.sock'), { bus, log, status });
    cleanups.unshift(() => new Promise<void>((r) => control.close(() => r())));

    if (config.listen.http !== 'off') {
      const { host, port } = parseListenAddress(config.listen.http);
      const web: WebContext = {
        config,
        store,
        bus,
        auth,
        tls,
        log,
        listeners,
        product: PRODUCT,
        version: VERSION,
        status,
        ...(recorder ? { recorder } : {}),
        ...(keylog ? { keylog } : {}),
      };
      // Loaded only when the listener is on: the CLI's other commands start faster without hono.
      const [{ createApp }, { startWebListener }] = await Promise.all([
        import('../web/app.js'),
        import('../web/http.js'),
      ]);
      const http = await startWebListener({
        app: createApp(web),
        host,
        port,
        ...(config.web.https ? { tls } : {}),
        limits: {
          connectionsPerIp: config.web.connections_per_ip,
          maxConnections: config.web.max_connections,
          requestTimeoutMs: config.web.request_timeout * 1000,
          maxBodyBytes: config.web.max_body_size,
        },
        log,
      });
      cleanups.unshift(() => http.close());
      listeners.push({ name: 'http', host: http.host, port: http.port });
    }

    worker?.start();
    log.info(
      {
        version: VERSION,
        hostname: config.hostname,
        dataDir,
        tls: tls.source,
        listeners: listeners.map((l) => `${l.name}=${l.host}:${l.port}`),
      },
      'postbode started',
    );
    let stopping: Promise<void> | null = null;
    return {
      config,
      store,
      bus,
      auth,
      tls,
      listeners,
      stop() {
        stopping ??= runCleanups(cleanups).then(() => log.info('postbode stopped'));
        return stopping;
      },
    };
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

/** What `postbode status` and `GET /api/status` show. */
export interface ServerStatus {
  product: string;
  pid: number;
  started: string;
  hostname: string;
  dataDir: string;
  strictness: Config['strictness'];
  listeners: RunningServer['listeners'];
  sessions: number;
  store: { kind: string } & StoreStats;
  queue: QueueStatus;
  /** Free space on the data disk, its warning and the storage reserve (null when statfs failed). */
  disk: DiskStatus | null;
  /** Log lines dropped because the log could not be written (null: no log descriptor). */
  log: LogStats | null;
}

export async function serverStatus(s: {
  config: Config;
  dataDir: string;
  started: Date;
  listeners: RunningServer['listeners'];
  store: Store;
  sessions: number;
  disk?: DiskMonitor;
}): Promise<ServerStatus> {
  return {
    product: PRODUCT,
    pid: process.pid,
    started: s.started.toISOString(),
    hostname: s.config.hostname,
    dataDir: s.dataDir,
    strictness: s.config.strictness,
    listeners: s.listeners,
    sessions: s.sessions,
    store: { kind: s.store.kind, ...(await s.store.stats()) },
    queue: await queueStatus(s.store, { workerEnabled: s.config.delivery.enabled }),
    disk: s.disk ? await s.disk.check() : null,
    log: logStats(),
  };
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

/**
 * The AuthService as the configuration sets it up (shared by the server and the admin CLI), with the one
 * LoginLimiter that every engine and the web login go through.
 */
export function authFromConfig(store: Store, config: Config, dataDir: string, log?: Logger): AuthService {
  return new AuthService(store, {
    secretBox: SecretBox.open(dataDir),
    plaintextNetworks: config.plaintext_networks,
    scryptLogN: config.auth.scrypt_log_n,
    apop: config.pop3.apop,
    failureDelayMs: config.auth.failure_delay_ms,
    limiter: new LoginLimiter(limiterOptions(config.auth)),
    ...(log ? { log: log.child({ component: 'auth' }) } : {}),
  });
}

async function runCleanups(cleanups: (() => Promise<unknown> | undefined)[]): Promise<void> {
  for (const fn of cleanups) {
    try {
      await fn();
    } catch {
      // keep stopping the rest
    }
  }
}

function buildHandlers(
  config: Config,
  deps: { store: Store; auth: AuthService; delivery: Delivery; tls: TlsMaterial; log: Logger },
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
    deliver: (msg: Parameters<Delivery['deliver']>[0]) => delivery.deliver(msg),
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
  return {
    imap,
    imaps: imap,
    smtp: smtpHandler(smtpSettings('mx'), mxBackend, log),
    submission: smtpHandler(smtpSettings('submission'), smtpBackend, log),
    submissions: smtpHandler(smtpSettings('submission'), smtpBackend, log),
    pop3,
    pop3s: pop3,
  };
}
