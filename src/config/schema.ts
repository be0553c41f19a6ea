/**
 * The configuration schema: one typed tree with defaults, validated by zod.
 *
 * Invariants:
 * - Every setting has a default, so an empty config file (or none) starts a working server.
 * - Names are snake_case, as in the TOML file; the same names are used by `--set key=value`.
 * - Validation errors name the setting and what is allowed (see load.ts `formatConfigError`).
 */
import { z } from 'zod';

export const LISTENER_NAMES = [
  'smtp',
  'submission',
  'submissions',
  'pop3',
  'pop3s',
  'imap',
  'imaps',
  'managesieve',
  'http',
] as const;
export type ListenerName = (typeof LISTENER_NAMES)[number];

/** Which protocol engine serves a listener and whether the connection starts in TLS. */
export const LISTENER_KINDS: Record<
  ListenerName,
  { protocol: 'smtp' | 'pop3' | 'imap' | 'managesieve' | 'http'; implicitTls: boolean }
> = {
  smtp: { protocol: 'smtp', implicitTls: false },
  submission: { protocol: 'smtp', implicitTls: false },
  submissions: { protocol: 'smtp', implicitTls: true },
  pop3: { protocol: 'pop3', implicitTls: false },
  pop3s: { protocol: 'pop3', implicitTls: true },
  imap: { protocol: 'imap', implicitTls: false },
  imaps: { protocol: 'imap', implicitTls: true },
  managesieve: { protocol: 'managesieve', implicitTls: false },
  http: { protocol: 'http', implicitTls: false },
};

const listenAddress = z
  .string()
  .regex(/^(off|(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5})$/, 'expected HOST:PORT (e.g. 0.0.0.0:25, [::]:25) or "off"');

const duration = z.number().int().nonnegative();

export const configSchema = z
  .object({
    /** The name this server gives itself in greetings, Received headers and the TLS certificate. */
    hostname: z.string().min(1).default('localhost'),
    /** Mail domains this server accepts mail for (more can be added with `postbode domain add`). */
    domains: z.array(z.string().min(1)).default([]),
    /** Where the store, certificate and control socket live. */
    data_dir: z.string().default('./data'),
    /**
     * `lab` (default): accept the habits of hand-typed sessions (bare HELO, MAIL FROM without <>,
     * bare LF line endings) and say so in the reply. `strict`: refuse them as Postfix does.
     */
    strictness: z.enum(['lab', 'strict']).default('lab'),
    /** Show product name and version in greetings (SMTP 220, POP3 +OK, IMAP OK). */
    show_version: z.boolean().default(true),
    /**
     * Seconds a stop (SIGTERM/SIGINT) may take: sessions get their goodbye, transfers in progress and
     * outbound deliveries may finish; whatever is still open then is cut and the process exits.
     */
    shutdown_timeout: duration.default(10),
    /** Networks (CIDR) where plaintext AUTH/USER/PASS/LOGIN is allowed without TLS. */
    plaintext_networks: z.array(z.string()).default(['127.0.0.0/8', '::1/128']),
    listen: z
      .strictObject({
        smtp: listenAddress.default('[::]:25'),
        submission: listenAddress.default('[::]:587'),
        submissions: listenAddress.default('[::]:465'),
        pop3: listenAddress.default('[::]:110'),
        pop3s: listenAddress.default('[::]:995'),
        imap: listenAddress.default('[::]:143'),
        imaps: listenAddress.default('[::]:993'),
        /** ManageSieve (RFC 5804): users upload their Sieve filters (STARTTLS on the same port). */
        managesieve: listenAddress.default('[::]:4190'),
        http: listenAddress.default('127.0.0.1:8080'),
      })
      .prefault({}),
    tls: z
      .strictObject({
        /** PEM certificate and key; when both are empty a self-signed pair is generated in data_dir. */
        cert_file: z.string().default(''),
        key_file: z.string().default(''),
        /**
         * Obtain and renew the certificate from an ACME CA (RFC 8555; Let's Encrypt by default) for
         * `hostname` and `acme_names`, validated by http-01 on `acme_http` (docs/operations.md).
         */
        acme: z.boolean().default(false),
        /** Contact address given to the CA for expiry and policy notices (recommended). */
        acme_email: z.string().default(''),
        /** The CA's ACME directory URL. */
        acme_directory: z.url().default('https://acme-v02.api.letsencrypt.org/directory'),
        /** More names for the certificate besides `hostname` (e.g. autoconfig.example.org, mta-sts.example.org). */
        acme_names: z.array(z.string().min(1)).default([]),
        /**
         * Where the http-01 challenge is answered (plain HTTP; the CA connects to port 80 of each name);
         * "off": by the http listener, which must then be plain HTTP reached on port 80.
         */
        acme_http: listenAddress.default('[::]:80'),
        /** Renew this many days before the certificate expires. */
        renew_days: z.number().int().positive().default(30),
      })
      .refine((t) => !(t.acme && (t.cert_file || t.key_file)), {
        message: 'tls.acme and tls.cert_file/key_file exclude each other: choose ACME or your own certificate',
      })
      .prefault({}),
    limits: z
      .strictObject({
        /**
         * Concurrent connections from one IP address, counted per protocol so that one protocol's
         * connections cannot lock an address (a NAT'ed classroom) out of the others: a number for every
         * protocol, or a table `{ smtp = 50, pop3 = 50, imap = 100, managesieve = 20 }`.
         */
        connections_per_ip: z
          .union([
            z.number().int().positive(),
            z.strictObject({
              smtp: z.number().int().positive().default(50),
              pop3: z.number().int().positive().default(50),
              imap: z.number().int().positive().default(100),
              managesieve: z.number().int().positive().default(20),
            }),
          ])
          .default({ smtp: 50, pop3: 50, imap: 100, managesieve: 20 }),
        /**
         * Bytes per second that a message (DATA, BDAT, APPEND and other literals) must arrive at on
         * average, after a grace of the protocol's idle timeout; slower senders are cut off.
         */
        min_data_rate: z.number().int().positive().default(500),
        /**
         * Bytes that message bodies in flight (DATA, BDAT, APPEND) may hold in memory in all. Bodies over
         * 256 KiB, or arriving while this is used up, wait in files under data_dir/spool; a received body
         * is loaded for delivery only when it fits, so larger deliveries take turns.
         */
        body_memory: z
          .number()
          .int()
          .min(1048576)
          .default(32 * 1024 * 1024),
        /** Unsent reply bytes per connection above which the server stops reading that client's commands. */
        max_unsent_output: z.number().int().min(16384).default(262144),
        /** Total concurrent connections. */
        max_connections: z.number().int().positive().default(10000),
        /** Protocol errors (bad commands) before the server hangs up. */
        max_errors: z.number().int().positive().default(20),
        /** Failed logins in one session before the server hangs up. */
        max_auth_failures: z.number().int().positive().default(3),
      })
      .prefault({}),
    smtp: z
      .strictObject({
        /** Largest message accepted, in bytes (advertised as SIZE). */
        max_message_size: z.number().int().positive().default(26214400),
        /** Recipients per message. */
        max_recipients: z.number().int().positive().default(100),
        /** Longest command line, in bytes, including CRLF (RFC 5321 §4.5.3.1.4 says at least 512). */
        max_line_length: z.number().int().min(512).default(4096),
        /** Seconds a client may stay idle between commands (RFC 5321 §4.5.3.2.7: at least 5 minutes). */
        idle_timeout: duration.default(300),
        /** Offer AUTH on port 25 too (for users submitting there, e.g. in labs). */
        auth_on_mx: z.boolean().default(true),
        /**
         * An authenticated session (587, 465, or AUTH on port 25) may send only as its own address or an
         * alias of it: MAIL FROM (553 5.7.1) and the From: header (550 5.7.1). See docs/security.md#sender-rules.
         */
        sender_login_match: z.boolean().default(true),
      })
      .prefault({}),
    pop3: z
      .strictObject({
        /** Seconds of inactivity before the server closes the session (RFC 1939 §3: at least 10 minutes). */
        idle_timeout: duration.default(600),
        /** Allow APOP: this stores a recoverable copy of each password (encrypted with a key in data_dir). */
        apop: z.boolean().default(true),
      })
      .prefault({}),
    imap: z
      .strictObject({
        /** Seconds without a command before autologout (RFC 9051 §5.4: at least 30 minutes). */
        idle_timeout: duration.default(1800),
        /** Longest command line in bytes (literals are counted separately). */
        max_line_length: z.number().int().min(1024).default(65536),
      })
      .prefault({}),
    managesieve: z
      .strictObject({
        /** Seconds without a command before the server closes the session (Pigeonhole's default is alike). */
        idle_timeout: duration.default(600),
      })
      .prefault({}),
    sieve: z
      .strictObject({
        /** Sieve scripts one account may keep (ManageSieve QUOTA/MAXSCRIPTS, the web, the CLI). */
        max_scripts: z.number().int().min(1).max(10000).default(10),
        /** Largest script in bytes (QUOTA/MAXSIZE); ManageSieve reads no larger literal. Default 64 KiB. */
        max_script_bytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(64 * 1024),
        /**
         * `redirect` actions one script run may take (the MAXREDIRECTS capability; RFC 5228 §4.2 wants a
         * limit); more make the run fail, and the message is kept in INBOX.
         */
        max_redirects: z.number().int().min(0).max(100).default(4),
      })
      .prefault({}),
    auth: z
      .strictObject({
        /** scrypt cost parameter log2(N) for new password hashes. */
        scrypt_log_n: z.number().int().min(10).max(20).default(14),
        /**
         * Fewest characters of a password a person chooses (CLI, web admin, a user's own change); passwords
         * the server generates (lab accounts, --generate) are longer anyway. Existing passwords keep working.
         */
        min_password_length: z.number().int().min(1).max(1024).default(8),
        /**
         * Milliseconds to wait at the least before answering a failed or refused login (any protocol).
         * The limits below add to it: see docs/security.md#password-guessing.
         */
        failure_delay_ms: z.number().int().min(0).max(10000).default(300),
        /**
         * Failed logins from one client address (IPv6: its /64), across connections and protocols, before
         * each further attempt from it waits `penalty_start_ms`, doubling per failure up to `penalty_max_ms`.
         */
        penalty_free_failures: z.number().int().min(0).max(1000).default(2),
        /** The first wait, in milliseconds, once an address has used its free failures. */
        penalty_start_ms: z.number().int().min(0).max(600000).default(500),
        /** The longest wait, in milliseconds, before an attempt from a penalized address or at an attacked account. */
        penalty_max_ms: z.number().int().min(0).max(600000).default(15000),
        /** Seconds without a failure after which an address's (or an account's) failures are forgotten. */
        penalty_window: z.number().int().positive().max(86400).default(900),
        /**
         * Failed logins at one account, from all addresses, before attempts at it wait as well (doubling
         * like the address penalty); addresses that logged in to it successfully before are exempt.
         */
        account_failures: z.number().int().min(1).max(100000).default(10),
        /** Client addresses, and accounts, the login limiter remembers (each); the least recently used go first. */
        max_tracked: z.number().int().min(100).max(10000000).default(100000),
      })
      .prefault({}),
    delivery: z
      .strictObject({
        /** Run the outbound queue worker (send queued mail to other servers). */
        enabled: z.boolean().default(true),
        /** A relay host ("smarthost") for all remote mail, HOST:PORT; empty: MX lookup. */
        relay_host: z
          .string()
          .regex(
            /^((\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5})?$/,
            'expected HOST:PORT (e.g. smtp.provider.example:587) or ""',
          )
          .default(''),
        /** AUTH user and password for the relay host (empty: no AUTH). */
        relay_user: z.string().default(''),
        relay_password: z.string().default(''),
        /**
         * TLS to the relay host: "verify" requires TLS and a certificate valid for the relay's name (system
         * CAs plus NODE_EXTRA_CA_CERTS); "require" requires TLS without checking the certificate (a lab relay
         * with a self-signed one); "opportunistic" uses STARTTLS when offered and sends in clear otherwise.
         */
        relay_tls: z.enum(['verify', 'require', 'opportunistic']).default('verify'),
        /** Static routes: domain → "HOST:PORT" (key "*" matches every domain); wins over relay and MX. */
        transport: z.record(z.string(), z.string().min(1)).default({}),
        /** DNS servers for MX lookups ("IP" or "IP:PORT"); empty: the system's resolver. */
        dns_servers: z.array(z.string().min(1)).default([]),
        /** Seconds a message stays queued before it is bounced as undeliverable (RFC 5321 §4.5.4.1). */
        queue_lifetime: z.number().int().positive().default(432000),
        /** Concurrent SMTP sessions to one destination host:port. */
        concurrency_per_destination: z.number().int().positive().default(5),
        /** Seconds between scans of the queue for due messages. */
        retry_interval_scan: z.number().int().positive().default(30),
        /**
         * Seconds a worker's claim on a queue entry holds unless renewed (it is renewed every fifth of this
         * while the entry is attempted): the most the other nodes wait for the entries of a node that died.
         */
        lease_seconds: z.number().int().min(1).max(86400).default(300),
        /** Seconds a message may wait before its sender gets one "delayed" DSN (RFC 3464); 0: never. */
        delay_warning: duration.default(14400),
        /** Messages sent over one SMTP connection before it is closed (connection reuse). */
        max_messages_per_connection: z.number().int().positive().default(100),
        /** Seconds an idle outbound connection is kept open for the next message to the same host. */
        connection_idle: z.number().int().min(0).max(300).default(5),
        /**
         * MTA-STS (RFC 8461) for mail routed by MX: "enforce" obeys policies published in mode enforce
         * (only matching MX hosts, TLS with a valid certificate), "log" only logs violations, "off" never
         * looks. The transport map and relay host are never checked.
         */
        mta_sts: z.enum(['off', 'log', 'enforce']).default('enforce'),
        /**
         * Subaddressing (RFC 5233): the characters that separate a local part from its detail, so that
         * `user+tag@domain` is delivered to `user@domain` when `user+tag` is no account or alias (as
         * Postfix's recipient_delimiter: any one of the characters, the first one found). "" turns it off.
         */
        recipient_delimiter: z
          .string()
          .regex(/^[^\s@"\\]{0,8}$/, 'expected up to 8 characters other than space, "@", \'"\' and \'\\\', e.g. "+"')
          .default('+'),
      })
      .prefault({}),
    checks: z
      .strictObject({
        /** Check SPF, DKIM, DMARC and ARC of mail arriving on port 25 and add Authentication-Results. */
        enabled: z.boolean().default(true),
        /** Seconds all DNS queries for one message may take together (uses delivery.dns_servers). */
        dns_timeout: z.number().positive().max(60).default(5),
        /** Networks (CIDR) whose mail on port 25 is not checked, e.g. local scripts and relays. */
        trusted_networks: z.array(z.string()).default(['127.0.0.0/8', '::1/128']),
        /** DMARC fails and the From domain publishes p=reject: reject (550 5.7.1), junk or accept. */
        dmarc_reject: z.enum(['reject', 'junk', 'accept']).default('reject'),
        /** DMARC fails and the From domain publishes p=quarantine. */
        dmarc_quarantine: z.enum(['reject', 'junk', 'accept']).default('junk'),
        /** SPF fails (-all) and DMARC gives no verdict (no record, or p=none). */
        spf_fail: z.enum(['reject', 'junk', 'accept']).default('junk'),
        /** A DKIM signature fails, none passes, and DMARC gives no verdict. */
        dkim_fail: z.enum(['reject', 'junk', 'accept']).default('accept'),
        /** A DNS lookup fails temporarily: accept (recorded as temperror) or defer (451 4.7.x). */
        temp_error: z.enum(['accept', 'defer']).default('accept'),
      })
      .prefault({}),
    web: z
      .strictObject({
        /** Serve the web lab over HTTPS with the mail certificate (tls.cert_file or the generated one). */
        https: z.boolean().default(false),
        /** Protocol lab: how many finished sessions (with their transcripts) to keep in the store; 0 keeps none. */
        history_sessions: z.number().int().nonnegative().default(1000),
        /** Protocol lab: drop sessions older than this many days; 0 keeps them regardless of age. */
        history_days: z.number().int().nonnegative().default(30),
        /**
         * Largest request body in bytes (every API request is a small JSON object); larger ones get 413,
         * announced ones (Content-Length) before a byte of the body is read.
         */
        max_body_size: z.number().int().min(1024).default(1048576),
        /**
         * Concurrent HTTP connections from one IP address; more are closed at once. A classroom behind
         * one NAT address needs about 3-6 per browser.
         */
        connections_per_ip: z.number().int().positive().default(128),
        /** Concurrent HTTP connections in all; more are closed at once. */
        max_connections: z.number().int().positive().default(1024),
        /**
         * Seconds a client has to send a whole request (headers within the smaller of this and 10 s);
         * slower ones get 408 and are closed. Live streams (SSE) are not cut: this covers only the request.
         */
        request_timeout: z.number().positive().max(3600).default(30),
        /** Web logins one user may have at once; a new login ends that user's oldest session. */
        sessions_per_user: z.number().int().positive().max(10_000).default(20),
        /** Live streams (SSE) one web user may have open at once; more get 429. */
        streams_per_user: z.number().int().positive().default(8),
        /** Live streams (SSE) open at once in all; more get 429. */
        max_streams: z.number().int().positive().default(128),
        /** Seconds a live stream's client may leave sent events unread before the stream is dropped. */
        stream_stall_timeout: z.number().positive().max(3600).default(10),
      })
      .prefault({}),
    lab: z
      .strictObject({
        /**
         * Classroom mode (`postbode serve --classroom`), for a lab network only: the web lab listens on
         * all interfaces (an `http` listener on loopback moves to [::] on the same port), plaintext logins
         * are allowed from the private networks (RFC 1918, fc00::/7) as well as `plaintext_networks`, and a
         * student sees the port-25 sessions that came from the address they use the web lab from.
         */
        classroom: z.boolean().default(false),
        /**
         * Bytes of each session the lab keeps for its pcap (both directions, every literal and body);
         * beyond them the capture is cut, with a note in the transcript. 0 keeps none (the pcap is then
         * made from the transcript's lines).
         */
        capture_bytes: z
          .number()
          .int()
          .nonnegative()
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        /**
         * Keep the passwords of sessions without TLS, so an admin can download a session's pcap with
         * them (?passwords=1): the lesson that a password sent in clear can be read. Off: every pcap
         * has them masked. Sessions over TLS never keep them.
         */
        capture_passwords: z.boolean().default(false),
        /**
         * A JSON file of the teacher's own exercises, in the format of the built-in set
         * (src/web/exercises/builtin.json, docs/web.md "Exercises"): added to the built-ins, replacing
         * one with the same id (`"builtin": false` drops them). Read at start; empty: the built-ins only.
         */
        exercises_file: z.string().default(''),
      })
      .prefault({}),
    store: z
      .strictObject({
        /**
         * Which store backend and where: empty for the embedded SQLite database `<data_dir>/postbode.db`,
         * `sqlite:PATH` for another file, or `postgresql://USER@HOST:PORT/DB[?schema=NAME]` for a PostgreSQL
         * database that several nodes share (src/store/open.ts). Other schemes are refused at start.
         * `--store URL` on every command.
         */
        url: z.string().default(''),
        /**
         * PostgreSQL: this node's name among the nodes of one database (`postbode status`, lab session ids);
         * empty: the host name. `--node NAME`. Give every node its own.
         */
        node: z
          .string()
          .regex(/^([A-Za-z0-9][A-Za-z0-9._-]{0,62})?$/, 'up to 63 letters, digits, ".", "_" or "-"')
          .default(''),
        /** PostgreSQL: connections each node (or CLI command) keeps in its pool. */
        pool_size: z.number().int().min(1).max(1000).default(10),
        /**
         * Storage quota in bytes of every account without its own (`postbode user quota`); 0: none.
         * Default 1 GiB.
         */
        default_quota: z.number().int().nonnegative().default(1073741824),
        /**
         * Bytes set aside in `<data_dir>/reserve` and freed when the disk is full, so that users can
         * still delete mail (EXPUNGE, DELE, deleting mailboxes); 0: no reserve. Default 16 MiB.
         */
        reserve: z.number().int().nonnegative().default(16777216),
        /** Warn (log and `postbode status`) when less than this share of the data disk is free, in percent. */
        disk_warning_percent: z.number().min(0).max(100).default(5),
        /** Warn when less than this many bytes of the data disk are free. Default 500 MiB. */
        disk_warning_bytes: z.number().int().nonnegative().default(524288000),
        /** Seconds between checks of the free space (warnings, re-creating the reserve). */
        disk_check_interval: z.number().positive().max(3600).default(30),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
