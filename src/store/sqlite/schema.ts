/**
 * The SQLite schema and its migrations. The schema version is `PRAGMA user_version`: migration N
 * (1-based) brings the database from version N-1 to N.
 *
 * Invariants:
 * - Migrations only ever get appended; a released migration is never edited.
 * - Migrating runs in one IMMEDIATE transaction that re-reads the version inside it, so two processes
 *   opening the same file at once (server and CLI) migrate exactly once.
 * - A database newer than this code is refused rather than guessed at.
 * - The schema enforces what it can: foreign keys cascade from accounts down to messages, and the
 *   `*_blob_gc` triggers delete a blob in the same transaction as its last reference (message or queue
 *   entry), including deletions by cascade.
 * - Times are unix milliseconds (INTEGER); JSON values are TEXT.
 */
import type Database from 'better-sqlite3';

const V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE accounts (
  id            INTEGER PRIMARY KEY,
  address       TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  apop_secret   TEXT,
  quota_bytes   INTEGER,
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE domains (
  name TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- targets: JSON array of lower-case addresses
CREATE TABLE aliases (
  address TEXT PRIMARY KEY,
  targets TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE mailboxes (
  id            INTEGER PRIMARY KEY,
  account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  uidvalidity   INTEGER NOT NULL,
  uidnext       INTEGER NOT NULL DEFAULT 1,
  highestmodseq INTEGER NOT NULL DEFAULT 1,
  special_use   TEXT,
  subscribed    INTEGER NOT NULL DEFAULT 1,
  UNIQUE (account_id, name)
) STRICT;

-- meta: JSON from src/mail/parse.ts (MessageMeta)
CREATE TABLE blobs (
  id   INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  data BLOB NOT NULL,
  meta TEXT NOT NULL
) STRICT;

-- flags: bitmask of normalize.ts SYSTEM_FLAGS; keywords: space-separated atoms
CREATE TABLE messages (
  mailbox_id   INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid          INTEGER NOT NULL,
  blob_id      INTEGER NOT NULL REFERENCES blobs(id),
  size         INTEGER NOT NULL,
  flags        INTEGER NOT NULL DEFAULT 0,
  keywords     TEXT NOT NULL DEFAULT '',
  internaldate INTEGER NOT NULL,
  modseq       INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) STRICT, WITHOUT ROWID;
CREATE INDEX messages_blob ON messages(blob_id);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);

-- RFC 7162 QRESYNC: what was expunged, and when (in modseq)
CREATE TABLE expunged (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid        INTEGER NOT NULL,
  modseq     INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) STRICT, WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

CREATE TABLE queue (
  id              INTEGER PRIMARY KEY,
  envelope_from   TEXT NOT NULL,
  blob_id         INTEGER NOT NULL REFERENCES blobs(id),
  dsn_ret         TEXT CHECK (dsn_ret IN ('FULL', 'HDRS')),
  dsn_envid       TEXT,
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT
) STRICT;
CREATE INDEX queue_due ON queue(next_attempt_at);
CREATE INDEX queue_blob ON queue(blob_id);

-- notify: JSON array or NULL
CREATE TABLE queue_recipients (
  queue_id   INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  address    TEXT NOT NULL,
  notify     TEXT,
  orcpt      TEXT,
  state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  last_error TEXT,
  PRIMARY KEY (queue_id, position)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER messages_blob_gc AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)
 AND NOT EXISTS (SELECT 1 FROM queue WHERE blob_id = OLD.blob_id)
BEGIN
  DELETE FROM blobs WHERE id = OLD.blob_id;
END;

CREATE TRIGGER queue_blob_gc AFTER DELETE ON queue
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)
 AND NOT EXISTS (SELECT 1 FROM queue WHERE blob_id = OLD.blob_id)
BEGIN
  DELETE FROM blobs WHERE id = OLD.blob_id;
END;
`;

/**
 * V2: a blob's meta moves to its own table. In `blobs` it sat after `data`, so reading it (IMAP FETCH
 * ENVELOPE/BODYSTRUCTURE, SEARCH) walked the overflow pages of the whole message. Old rows keep their
 * (now unread) copy in `blobs.meta`; new rows store '' there.
 */
const V2 = `
CREATE TABLE blob_meta (
  blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
  meta    TEXT NOT NULL
) STRICT;
INSERT INTO blob_meta (blob_id, meta) SELECT id, meta FROM blobs;
`;

/**
 * V3: subscriptions of names that have no mailbox (RFC 3501 §6.3.6: the server MUST NOT remove a name
 * from the subscription list just because its mailbox no longer exists). A subscribed mailbox keeps
 * its mark in `mailboxes.subscribed`; when it is deleted its name moves here, and back when a mailbox
 * of that name is created again (or another is renamed to it).
 */
const V3 = `
CREATE TABLE subscriptions (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
`;

/**
 * V4: the web lab's session history (src/web/recorder/): one row per protocol session and one per
 * trace event. `data` holds the event's structured fields as JSON (or NULL). Deleting a session deletes
 * its events.
 */
const V4 = `
CREATE TABLE log_sessions (
  id           TEXT PRIMARY KEY,
  proto        TEXT NOT NULL,
  listener     TEXT NOT NULL,
  local_addr   TEXT NOT NULL,
  local_port   INTEGER NOT NULL,
  remote_addr  TEXT NOT NULL,
  remote_port  INTEGER NOT NULL,
  user         TEXT,
  tls          TEXT,
  start        INTEGER NOT NULL,
  end          INTEGER,
  state        TEXT NOT NULL,
  close_reason TEXT,
  events       INTEGER NOT NULL DEFAULT 0,
  key_logged   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX log_sessions_start ON log_sessions(start);
CREATE INDEX log_sessions_user ON log_sessions(user, start);

CREATE TABLE log_events (
  session_id TEXT NOT NULL REFERENCES log_sessions(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  t          INTEGER NOT NULL,
  type       TEXT NOT NULL,
  text       TEXT NOT NULL,
  encrypted  INTEGER NOT NULL DEFAULT 0,
  data       TEXT,
  PRIMARY KEY (session_id, seq)
) STRICT, WITHOUT ROWID;
`;

/** V5: web lab administrators (`postbode admin add NAME`), separate from mail accounts. */
const V5 = `
CREATE TABLE admins (
  name          TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  created_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`;

/**
 * V6: the outbound queue remembers when it sent a delay warning (RFC 3464 Action: delayed) for an
 * entry, so that each message gets at most one; NULL: none sent.
 */
const V6 = `
ALTER TABLE queue ADD COLUMN delay_warned_at INTEGER;
`;

/**
 * V7: the session history stores events in chunks, one row per session per write batch, instead of
 * one row per event (src/store/sqlite/sessionlog.ts; one row per event cost a busy server a third of
 * its SMTP throughput). `events` is a JSON array of `[seq, t, type, text, encrypted, data?]`. The
 * events of V4's `log_events` move into one chunk per session.
 */
const V7 = `
CREATE TABLE log_chunks (
  id         INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES log_sessions(id) ON DELETE CASCADE,
  events     TEXT NOT NULL
) STRICT;
CREATE INDEX log_chunks_session ON log_chunks(session_id, id);
INSERT INTO log_chunks (session_id, events)
  SELECT session_id, json_group_array(json(event)) FROM (
    SELECT session_id, CASE WHEN data IS NULL THEN json_array(seq, t, type, text, encrypted)
                            ELSE json_array(seq, t, type, text, encrypted, json(data)) END AS event
    FROM log_events ORDER BY session_id, seq)
  GROUP BY session_id;
DROP TABLE log_events;
`;

/**
 * V8: each mailbox keeps the total size of its messages, maintained by triggers in the transaction
 * of every insert, delete and move, so an account's usage (quota, checked at every RCPT and delivery
 * since accounts have a default quota) is a sum over its few mailboxes, not over all its messages.
 */
const V8 = `
ALTER TABLE mailboxes ADD COLUMN total_size INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET total_size = (SELECT coalesce(sum(size), 0) FROM messages WHERE mailbox_id = mailboxes.id);
CREATE TRIGGER messages_size_insert AFTER INSERT ON messages BEGIN
  UPDATE mailboxes SET total_size = total_size + NEW.size WHERE id = NEW.mailbox_id;
END;
CREATE TRIGGER messages_size_delete AFTER DELETE ON messages BEGIN
  UPDATE mailboxes SET total_size = total_size - OLD.size WHERE id = OLD.mailbox_id;
END;
CREATE TRIGGER messages_size_update AFTER UPDATE OF mailbox_id, size ON messages BEGIN
  UPDATE mailboxes SET total_size = total_size - OLD.size WHERE id = OLD.mailbox_id;
  UPDATE mailboxes SET total_size = total_size + NEW.size WHERE id = NEW.mailbox_id;
END;
`;

/**
 * V9: SCRAM-SHA-256 keys per account (auth/scram.ts), set with the password. Accounts from before have
 * none until their next password login or password change (docs/security.md#sasl-mechanisms).
 */
const V9 = `
ALTER TABLE accounts ADD COLUMN scram_sha256 TEXT;
`;

/**
 * V10: the body search index's list of blobs it does not hold (search.ts). Every blob stored before is
 * pending until `postbode reindex` indexes it; until then SEARCH reads those messages as before. The
 * FTS5 table itself is created when the store opens, if this SQLite has the trigram tokenizer.
 */
const V10 = `
CREATE TABLE search_pending (
  blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE
) STRICT;
INSERT INTO search_pending (blob_id) SELECT id FROM blobs;
`;

/**
 * V11: what an SMTP session without a login said about itself (its last HELO/EHLO name and MAIL FROM
 * address, lower-case), so the web lab can show a student the port-25 sessions that name them
 * (src/web/recorder/access.ts).
 */
const V11 = `
ALTER TABLE log_sessions ADD COLUMN helo TEXT;
ALTER TABLE log_sessions ADD COLUMN mail_from TEXT;
`;

/**
 * V12: the bytes of each logged session, for the lab's pcap (src/store/sqlite/sessionlog.ts): one row
 * per session per write batch; `parts` is a JSON array `[t, dir (0 in, 1 out), length, ...]` cutting
 * `data` into chunks, `secrets` a JSON array `[chunk, offset, base64 of the original bytes, ...]` of
 * masked credentials, or NULL when they were not kept.
 */
const V12 = `
CREATE TABLE log_wire (
  id         INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES log_sessions(id) ON DELETE CASCADE,
  parts      TEXT NOT NULL,
  data       BLOB NOT NULL,
  secrets    TEXT
) STRICT;
CREATE INDEX log_wire_session ON log_wire(session_id, id);
`;

/**
 * V13: the highest queue id ever given (sqlite's rowid would give the id of a deleted last entry again,
 * so ids repeated once the queue had emptied, across restarts too). insertQueueEntry takes the next.
 */
const V13 = `
CREATE TABLE queue_seq (last INTEGER NOT NULL);
INSERT INTO queue_seq (last) SELECT COALESCE(MAX(id), 0) FROM queue;
`;

/**
 * V14: claims on queue entries (queue.ts `claim`): the worker that is attempting an entry (`node:pid`)
 * and when its lease runs out (unix ms); NULL: nobody. Another worker takes the entry only once the
 * lease has run out (docs/store.md, "The outbound queue: claims and leases").
 */
const V14 = `
ALTER TABLE queue ADD COLUMN leased_by TEXT;
ALTER TABLE queue ADD COLUMN lease_until INTEGER;
`;

/**
 * V15: the web lab's exercise progress (src/web/exercises/, exercises.ts): the first time a student
 * did an exercise, and the lab session that did it. Not tied to accounts (see ExerciseProgressStore).
 */
const V15 = `
CREATE TABLE exercise_progress (
  student    TEXT NOT NULL,
  exercise   TEXT NOT NULL,
  at         INTEGER NOT NULL,
  session_id TEXT,
  PRIMARY KEY (student, exercise)
) STRICT, WITHOUT ROWID;
`;

/**
 * V16: large blobs in pieces (blob-chunks.ts): a blob over INLINE_MAX bytes written from now on keeps
 * an empty `blobs.data` and its bytes here, CHUNK_BYTES a row, so a range read loads only the pieces
 * it needs (SQLite's substr() loads a whole BLOB value). Blobs already stored stay inline.
 */
const V16 = `
CREATE TABLE blob_chunks (
  blob_id INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  data    BLOB NOT NULL,
  PRIMARY KEY (blob_id, seq)
) STRICT;
`;

/**
 * V17: Sieve (issue 13; sieve.ts, `Store.sieve`). `sieve_scripts`: the scripts of each account
 * (ManageSieve, RFC 5804), at most one active per account (the partial unique index). `sieve_memory`:
 * what vacation answered and which `duplicate` ids were seen (RFC 5230 §4.6, RFC 7352), until
 * `expires_at` (unix ms). Both go with their account.
 */
const V17 = `
CREATE TABLE sieve_scripts (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  source     TEXT NOT NULL,
  active     INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX sieve_scripts_one_active ON sieve_scripts(account_id) WHERE active = 1;

CREATE TABLE sieve_memory (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL,
  key        TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, kind, key)
) STRICT, WITHOUT ROWID;
`;

/**
 * V18: a logged session's bytes leave the database (sessionlog.ts): `file_at` is where a row's bytes
 * start in the session's capture file (`capture/` beside the database), and `data` is then empty.
 * NULL: the bytes are in `data` (rows written before, and databases without a folder: in memory).
 */
const V18 = `
ALTER TABLE log_wire ADD COLUMN file_at INTEGER;
`;

/**
 * V19: a blob that loses its last reference is recorded in `blob_orphans` instead of deleted in the
 * same statement; orphans.ts deletes it, in the write that orphaned it when there are few and a batch at
 * a time after it when there are many. Deleting a blob (its meta, pieces and search index row) cost
 * about six times as much as deleting the message, all inside the one transaction of an `EXPUNGE` or a
 * `MOVE` of a whole mailbox, during which no other session is served.
 */
const V19 = `
CREATE TABLE blob_orphans (blob_id INTEGER PRIMARY KEY) STRICT;
DROP TRIGGER messages_blob_gc;
DROP TRIGGER queue_blob_gc;
CREATE TRIGGER messages_blob_gc AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)
 AND NOT EXISTS (SELECT 1 FROM queue WHERE blob_id = OLD.blob_id)
BEGIN
  INSERT OR IGNORE INTO blob_orphans (blob_id) VALUES (OLD.blob_id);
END;
CREATE TRIGGER queue_blob_gc AFTER DELETE ON queue
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)
 AND NOT EXISTS (SELECT 1 FROM queue WHERE blob_id = OLD.blob_id)
BEGIN
  INSERT OR IGNORE INTO blob_orphans (blob_id) VALUES (OLD.blob_id);
END;
`;

/** Migration i brings the schema from version i to i + 1. Append only. */
export const MIGRATIONS: readonly string[] = [
  V1,
  V2,
  V3,
  V4,
  V5,
  V6,
  V7,
  V8,
  V9,
  V10,
  V11,
  V12,
  V13,
  V14,
  V15,
  V16,
  V17,
  V18,
  V19,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION. Safe to call from several processes at once. */
export function migrate(db: Database.Database): void {
  const run = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `database schema version ${current} is newer than this postbode (${SCHEMA_VERSION}); upgrade postbode`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    if (current !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  run.immediate();
}
