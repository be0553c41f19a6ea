/**
 * The PostgreSQL schema and its migrations. The version is the row of `schema_version`: migration N
 * (1-based) brings the schema from version N-1 to N. The tables mirror the SQLite backend's (see
 * docs/store.md); where they differ it is for several nodes sharing one database.
 *
 * Invariants:
 * - Migrations only ever get appended; a released migration is never edited.
 * - Migrating runs in one transaction under an advisory lock (`pg_advisory_xact_lock`) and re-reads
 *   the version inside it, so several nodes starting at once migrate exactly once; the others wait
 *   and then find the schema current.
 * - A schema newer than this code is refused rather than guessed at.
 * - Blobs are reference-counted (`blobs.refs`) by triggers on `messages` and `queue` (insert +1,
 *   delete -1, the blob row deleted at 0 in the same transaction; cascades included). A writer
 *   that wants a blob takes its row with `INSERT … ON CONFLICT (hash) DO UPDATE`, which locks it, so a
 *   concurrent last-reference delete either finishes first (and the insert makes a new row) or waits.
 * - `mailboxes.total_size` is kept by the code of the writes that add, remove or move messages (in the
 *   same UPDATE that takes UIDNEXT/MODSEQ, which locks the mailbox row anyway): no per-row trigger
 *   updates the hot mailbox row a second time.
 * - Times are unix milliseconds (bigint); JSON values are text, as on SQLite, so both backends share
 *   their encoders.
 * - Names and addresses that lists are sorted by (accounts, domains, aliases, admins, logged session
 *   ids) are `COLLATE "C"`: byte order, as SQLite sorts them, whatever the database's locale.
 * - Node-scoped state: `nodes` (heartbeats, for `postbode status`), `queue.leased_by/lease_until` (the
 *   outbound queue's claims), `log_sessions.node` (which node recorded a lab session).
 * - State that SQLite keeps in the process or the data dir and several nodes must share: `web_sessions`
 *   (web logins, valid on every node), `node_keys` (digests of the key files each node's data dir must
 *   hold alike; the keys themselves stay in the data dirs), and since V2 the ACME certificate
 *   (`certificates`, its key sealed with secret.key), who orders it (`certificate_leases`) and the
 *   pending http-01 challenges (`acme_challenges`), since V6 the login limiter's failure counts
 *   (`login_gates`, `login_address_accounts`, `login_trusted`).
 */
import type { PoolClient } from 'pg';

const V1 = `
CREATE TABLE meta (
  key   text PRIMARY KEY,
  value bigint NOT NULL
);

CREATE TABLE accounts (
  id            bigserial PRIMARY KEY,
  address       text COLLATE "C" NOT NULL UNIQUE,
  password_hash text NOT NULL,
  apop_secret   text,
  quota_bytes   bigint,
  disabled      boolean NOT NULL DEFAULT false,
  created_at    bigint NOT NULL,
  scram_sha256  text
);

CREATE TABLE domains (
  name text COLLATE "C" PRIMARY KEY
);

-- targets: JSON array of lower-case addresses
CREATE TABLE aliases (
  address text COLLATE "C" PRIMARY KEY,
  targets text NOT NULL
);

CREATE TABLE mailboxes (
  id            bigserial PRIMARY KEY,
  account_id    bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name          text NOT NULL,
  uidvalidity   bigint NOT NULL,
  uidnext       bigint NOT NULL DEFAULT 1,
  highestmodseq bigint NOT NULL DEFAULT 1,
  special_use   text,
  subscribed    boolean NOT NULL DEFAULT true,
  total_size    bigint NOT NULL DEFAULT 0,
  UNIQUE (account_id, name)
) WITH (fillfactor = 50);

CREATE TABLE subscriptions (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name       text NOT NULL,
  PRIMARY KEY (account_id, name)
);

-- meta: JSON from src/mail/parse.ts (MessageMeta); data is stored uncompressed out of line, so a byte
-- range (substring) reads only the pages it needs.
CREATE TABLE blobs (
  id   bigserial PRIMARY KEY,
  hash text NOT NULL UNIQUE,
  size bigint NOT NULL,
  refs bigint NOT NULL DEFAULT 0,
  meta text NOT NULL,
  data bytea NOT NULL
);
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- flags: bitmask of normalize.ts SYSTEM_FLAGS; keywords: space-separated atoms
CREATE TABLE messages (
  mailbox_id   bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid          bigint NOT NULL,
  blob_id      bigint NOT NULL REFERENCES blobs(id),
  size         bigint NOT NULL,
  flags        integer NOT NULL DEFAULT 0,
  keywords     text NOT NULL DEFAULT '',
  internaldate bigint NOT NULL,
  modseq       bigint NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX messages_blob ON messages(blob_id);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);

CREATE TABLE expunged (
  mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid        bigint NOT NULL,
  modseq     bigint NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

-- Ids come from the sequence: never given twice. leased_by/lease_until: the node working on the entry
-- now (queue.ts); another node may take it once the lease has run out.
CREATE TABLE queue (
  id              bigserial PRIMARY KEY,
  envelope_from   text NOT NULL,
  blob_id         bigint NOT NULL REFERENCES blobs(id),
  dsn_ret         text CHECK (dsn_ret IN ('FULL', 'HDRS')),
  dsn_envid       text,
  created_at      bigint NOT NULL,
  next_attempt_at bigint NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  delay_warned_at bigint,
  leased_by       text,
  lease_until     bigint
);
CREATE INDEX queue_due ON queue(next_attempt_at);
CREATE INDEX queue_blob ON queue(blob_id);

-- notify: JSON array or NULL
CREATE TABLE queue_recipients (
  queue_id   bigint NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
  position   integer NOT NULL,
  address    text NOT NULL,
  notify     text,
  orcpt      text,
  state      text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  last_error text,
  PRIMARY KEY (queue_id, position)
);

CREATE FUNCTION postbode_blob_ref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE blobs SET refs = refs + 1 WHERE id = NEW.blob_id;
    RETURN NEW;
  END IF;
  DELETE FROM blobs WHERE id = OLD.blob_id AND refs <= 1;
  IF NOT FOUND THEN
    UPDATE blobs SET refs = refs - 1 WHERE id = OLD.blob_id;
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER messages_blob_ref AFTER INSERT OR DELETE ON messages
  FOR EACH ROW EXECUTE FUNCTION postbode_blob_ref();
CREATE TRIGGER queue_blob_ref AFTER INSERT OR DELETE ON queue
  FOR EACH ROW EXECUTE FUNCTION postbode_blob_ref();

-- The body search index (search.ts): the case-folded texts of each indexed blob as the IMAP engine
-- compares them (body: the text parts; text: the message and MIME headers, which TEXT adds); pg_trgm
-- narrows, the message bytes decide. The GIN trigram indexes on both columns are created when the
-- store opens (they need the pg_trgm extension), not here. A blob without a row is pending.
CREATE TABLE search_text (
  blob_id bigint PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
  body    text NOT NULL,
  text    text NOT NULL
);
CREATE TABLE search_pending (
  blob_id bigint PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE
);

CREATE TABLE log_sessions (
  id           text COLLATE "C" PRIMARY KEY,
  node         text NOT NULL DEFAULT '',
  proto        text NOT NULL,
  listener     text NOT NULL,
  local_addr   text NOT NULL,
  local_port   integer NOT NULL,
  remote_addr  text NOT NULL,
  remote_port  integer NOT NULL,
  "user"       text,
  tls          text,
  start        bigint NOT NULL,
  "end"        bigint,
  state        text NOT NULL,
  close_reason text,
  events       integer NOT NULL DEFAULT 0,
  key_logged   boolean NOT NULL DEFAULT false,
  helo         text,
  mail_from    text
);
CREATE INDEX log_sessions_start ON log_sessions(start);
CREATE INDEX log_sessions_user ON log_sessions("user", start);
CREATE INDEX log_sessions_open ON log_sessions(node) WHERE "end" IS NULL;

-- events: JSON array of [seq, t, type, text, encrypted, data?] (as SQLite's V7)
CREATE TABLE log_chunks (
  id         bigserial PRIMARY KEY,
  session_id text COLLATE "C" NOT NULL REFERENCES log_sessions(id) ON DELETE CASCADE,
  events     text NOT NULL
);
CREATE INDEX log_chunks_session ON log_chunks(session_id, id);

-- parts/secrets as SQLite's V12
CREATE TABLE log_wire (
  id         bigserial PRIMARY KEY,
  session_id text COLLATE "C" NOT NULL REFERENCES log_sessions(id) ON DELETE CASCADE,
  parts      text NOT NULL,
  data       bytea NOT NULL,
  secrets    text
);
CREATE INDEX log_wire_session ON log_wire(session_id, id);

CREATE TABLE admins (
  name          text COLLATE "C" PRIMARY KEY,
  password_hash text NOT NULL,
  created_at    bigint NOT NULL
);

-- The nodes sharing this database: each refreshes its row (postbode status lists them).
CREATE TABLE nodes (
  name         text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  version      text NOT NULL,
  started_at   bigint NOT NULL,
  heartbeat_at bigint NOT NULL
);

-- Digests (SHA-256, hex) of the key files every node's data dir must hold alike (nodekeys.ts,
-- server/node-keys.ts): secret.key and dkim/*. Never a key.
CREATE TABLE node_keys (
  file        text PRIMARY KEY,
  sha256      text NOT NULL,
  recorded_by text NOT NULL,
  recorded_at bigint NOT NULL
);

-- Web logins, valid on every node (websessions.ts): keyed by the SHA-256 of the cookie's session id.
CREATE TABLE web_sessions (
  id_hash    text PRIMARY KEY,
  role       text NOT NULL CHECK (role IN ('admin', 'user')),
  name       text NOT NULL,
  created_at bigint NOT NULL,
  last_seen  bigint NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(role, name, created_at);
CREATE INDEX web_sessions_seen ON web_sessions(last_seen);
`;

/**
 * ACME certificates shared by the nodes (certificates.ts): one row per name set (the names joined by
 * spaces, the subject first), the key sealed by the server with secret.key; the lease of the node that
 * orders now (or keeps the others waiting after a failed attempt); pending http-01 challenges, which any
 * node answers.
 */
const V2 = `
CREATE TABLE certificates (
  names     text PRIMARY KEY,
  cert      text NOT NULL,
  key       text NOT NULL,
  stored_by text NOT NULL,
  stored_at bigint NOT NULL
);

CREATE TABLE certificate_leases (
  names       text PRIMARY KEY,
  node        text NOT NULL,
  lease_until bigint NOT NULL
);

CREATE TABLE acme_challenges (
  token             text PRIMARY KEY,
  key_authorization text NOT NULL,
  stored_by         text NOT NULL,
  expires_at        bigint NOT NULL
);
`;

/**
 * V3: the web lab's exercise progress (exercises.ts; SQLite's V15): the first time a student did an
 * exercise, and the lab session that did it. Not tied to accounts (see ExerciseProgressStore).
 */
const V3 = `
CREATE TABLE exercise_progress (
  student    text COLLATE "C" NOT NULL,
  exercise   text COLLATE "C" NOT NULL,
  at         bigint NOT NULL,
  session_id text,
  PRIMARY KEY (student, exercise)
);
`;

/**
 * V4: nothing. The number went with SQLite's V16 (large blobs in pieces, sqlite/blob-chunks.ts), which
 * PostgreSQL does not need: `blobs.data` is STORAGE EXTERNAL, so `substring` reads only the slices of a
 * range. Kept so the two schemas' numbers of one release stay paired.
 */
const V4 = '';

/**
 * V5: Sieve (issue 13; sieve.ts, `Store.sieve`; SQLite's V17). `sieve_scripts`: the scripts of each
 * account (ManageSieve, RFC 5804), at most one active per account (the partial unique index).
 * `sieve_memory`: what vacation answered and which `duplicate` ids were seen (RFC 5230 §4.6,
 * RFC 7352), until `expires_at` (unix ms). Both go with their account.
 */
const V5 = `
CREATE TABLE sieve_scripts (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name       text COLLATE "C" NOT NULL,
  source     text NOT NULL,
  active     boolean NOT NULL DEFAULT false,
  updated_at bigint NOT NULL,
  PRIMARY KEY (account_id, name)
);
CREATE UNIQUE INDEX sieve_scripts_one_active ON sieve_scripts(account_id) WHERE active;

CREATE TABLE sieve_memory (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind       text COLLATE "C" NOT NULL,
  key        text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (account_id, kind, key)
);
`;

/**
 * V6: the login limiter's failure counts shared by the nodes (logincounts.ts; no SQLite counterpart: one
 * process keeps them in memory). `login_gates` holds one row per client address key (scope 'a') and
 * per account (scope 'u'); `login_address_accounts` splits an address's failures by account (a few
 * accounts apart, the rest under the bucket '': limiter.ts's '\0other', which text cannot hold);
 * `login_trusted` the addresses that logged in to an account. Rows are pruned by time and count
 * (LoginCountStore in types.ts).
 */
const V6 = `
CREATE TABLE login_gates (
  scope        "char" NOT NULL,
  key          text COLLATE "C" NOT NULL,
  failures     integer NOT NULL,
  last_failure bigint NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX login_gates_age ON login_gates (scope, last_failure);

CREATE TABLE login_address_accounts (
  address  text COLLATE "C" NOT NULL,
  account  text COLLATE "C" NOT NULL,
  failures integer NOT NULL,
  PRIMARY KEY (address, account)
);

CREATE TABLE login_trusted (
  account text COLLATE "C" NOT NULL,
  address text COLLATE "C" NOT NULL,
  at      bigint NOT NULL,
  PRIMARY KEY (account, address)
);
CREATE INDEX login_trusted_age ON login_trusted (at);
`;

/** Migration i brings the schema from version i to i + 1. Append only. */
export const PG_MIGRATIONS: readonly string[] = [V1, V2, V3, V4, V5, V6];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The advisory lock key of migrations (any fixed number; per database). */
const MIGRATE_LOCK = 0x706f7374; // 'post'

/**
 * Creates the schema (when missing) and brings it to PG_SCHEMA_VERSION. Safe from several nodes at once.
 * `schema` is created when it does not exist (the connection's search_path names it).
 */
export async function migratePg(client: PoolClient, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replaceAll('"', '""')}"`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const found = await client.query<{ version: number }>('SELECT version FROM schema_version');
    let current = found.rows[0]?.version ?? 0;
    if (found.rows.length === 0) await client.query('INSERT INTO schema_version (version) VALUES (0)');
    if (current > PG_SCHEMA_VERSION) {
      throw new Error(
        `database schema version ${current} is newer than this postbode (${PG_SCHEMA_VERSION}); upgrade postbode`,
      );
    }
    for (; current < PG_SCHEMA_VERSION; current++) await client.query(PG_MIGRATIONS[current]);
    await client.query('UPDATE schema_version SET version = $1', [PG_SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
