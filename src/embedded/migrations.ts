import type Database from 'better-sqlite3';
import { canonicaliseStoredDates } from './date-migration.js';

/**
 * The embedded store's schema, as the list of changes that built it: db.ts runs, in one
 * transaction, those a file has not had yet. Append only: a released migration never changes.
 */
/** SQL, or a function for what SQL cannot say; each runs once, in order, in one transaction. */
export const MIGRATIONS: readonly (string | ((db: Database.Database) => void))[] = [
  // 1: users (CRUD-like documents), ums-config, identity users
  `
  CREATE TABLE users (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    doc TEXT NOT NULL,
    user_group TEXT GENERATED ALWAYS AS (json_extract(doc, '$.userGroup')) VIRTUAL,
    username TEXT GENERATED ALWAYS AS (json_extract(doc, '$.username')) VIRTUAL,
    email TEXT GENERATED ALWAYS AS (json_extract(doc, '$.email')) VIRTUAL,
    auth_user_id TEXT GENERATED ALWAYS AS (json_extract(doc, '$.authUserId')) VIRTUAL,
    created_at TEXT GENERATED ALWAYS AS (json_extract(doc, '$.createdAt')) VIRTUAL,
    updated_at TEXT GENERATED ALWAYS AS (json_extract(doc, '$.updatedAt')) VIRTUAL
  );
  CREATE INDEX users_state_seq ON users (state, seq);
  CREATE INDEX users_group_state ON users (user_group, state, seq);
  CREATE UNIQUE INDEX users_username ON users (username) WHERE username IS NOT NULL;
  CREATE UNIQUE INDEX users_email ON users (email) WHERE email IS NOT NULL;
  CREATE UNIQUE INDEX users_auth_user_id ON users (auth_user_id) WHERE auth_user_id IS NOT NULL;
  CREATE INDEX users_created_at ON users (created_at);
  CREATE INDEX users_updated_at ON users (updated_at);

  CREATE TABLE ums_config (
    user_group TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
  );

  CREATE TABLE identity_users (
    id TEXT PRIMARY KEY,
    username TEXT UNIQUE,
    email TEXT UNIQUE COLLATE NOCASE,
    blocked INTEGER NOT NULL DEFAULT 0,
    email_verified INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_login TEXT,
    logins_count INTEGER NOT NULL DEFAULT 0
  );
  `,
  // 2: authentication: signing keys, sessions and their refresh tokens, reset tickets, lockout, outbox
  `
  ALTER TABLE identity_users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE identity_users ADD COLUMN locked_until INTEGER;

  CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
  );

  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    auth_user_id TEXT NOT NULL,
    cookie_hash TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX sessions_user ON sessions (auth_user_id);

  CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );
  CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

  CREATE TABLE reset_tickets (
    ticket_hash TEXT PRIMARY KEY,
    auth_user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );

  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT,
    created_at TEXT NOT NULL
  );
  `,
  // 3: persisted jobs with leases
  `
  CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    result TEXT,
    owner TEXT,
    lease_until INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX jobs_claimable ON jobs (type, status, created_at);
  `,
  // 4: expiration schedules, roles and bindings (Rönd's model), settings
  `
  CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expiration_date TEXT NOT NULL,
    fire_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until INTEGER
  );
  CREATE INDEX schedules_due ON schedules (status, fire_at);

  CREATE TABLE roles (
    role_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL
  );

  CREATE TABLE bindings (
    binding_id TEXT PRIMARY KEY,
    subjects TEXT NOT NULL,
    roles TEXT NOT NULL,
    groups_ TEXT NOT NULL,
    permissions TEXT NOT NULL
  );

  CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 5: a change counter for identity users, kept by triggers: every process sharing the file sees
  // when its cached identity rows are stale. Lockout bookkeeping and password hashes do not count.
  `
  CREATE TABLE change_counters (
    name TEXT PRIMARY KEY,
    n INTEGER NOT NULL
  );
  INSERT INTO change_counters (name, n) VALUES ('identity_users', 0);
  CREATE TRIGGER identity_users_inserted AFTER INSERT ON identity_users
  BEGIN UPDATE change_counters SET n = n + 1 WHERE name = 'identity_users'; END;
  CREATE TRIGGER identity_users_updated
  AFTER UPDATE OF id, username, email, blocked, email_verified, created_at, updated_at, last_login, logins_count ON identity_users
  BEGIN UPDATE change_counters SET n = n + 1 WHERE name = 'identity_users'; END;
  CREATE TRIGGER identity_users_deleted AFTER DELETE ON identity_users
  BEGIN UPDATE change_counters SET n = n + 1 WHERE name = 'identity_users'; END;
  `,
  // 6: the embedded identity provider's import jobs (bulk activation), kept with their outcome
  `
  CREATE TABLE identity_imports (
    id TEXT PRIMARY KEY,
    summary TEXT NOT NULL,
    errors TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // 7: credentials and lockout. password_version grows with every new password, so a login that
  // verified the old one cannot open a session after the change; failed_at ends a failure streak
  // LOGIN_LOCK_SECONDS after its last failure; login_failures counts names that match no account
  // as failed_logins counts accounts (embedded/login-lockout.ts).
  `
  ALTER TABLE identity_users ADD COLUMN password_version INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE identity_users ADD COLUMN failed_at INTEGER;
  CREATE TABLE login_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    failed_at INTEGER NOT NULL,
    locked_until INTEGER
  );
  CREATE INDEX login_failures_failed_at ON login_failures (failed_at);
  CREATE INDEX reset_tickets_user ON reset_tickets (auth_user_id, used_at);
  `,
  // 8: a job's payload (100,000 ids: megabytes) in a row of its own, written once: the progress
  // saves and lease renewals then rewrite a small row, and a status read never loads the payload.
  `
  CREATE TABLE job_payloads (
    job_id TEXT PRIMARY KEY REFERENCES jobs (job_id) ON DELETE CASCADE,
    payload TEXT NOT NULL
  );
  INSERT INTO job_payloads (job_id, payload) SELECT job_id, payload FROM jobs;
  ALTER TABLE jobs DROP COLUMN payload;
  `,
  // 9: a job's counters, saved with each step, so a job that runs shows how far it got
  `
  ALTER TABLE jobs ADD COLUMN total INTEGER;
  ALTER TABLE jobs ADD COLUMN processed INTEGER;
  ALTER TABLE jobs ADD COLUMN failed INTEGER;
  `,
  // 10: a full-text index of the users for `$text` (embedded/text-search.ts), kept by triggers in
  // the writes' own transactions. Its fields are rows of users_text_fields (username, email and
  // TEXT_SEARCH_FIELDS, set at start); MongoDB's text index reads strings and arrays of strings.
  // porter + unicode61 remove_diacritics: stemmed, case- and diacritic-insensitive, as MongoDB's default.
  `
  CREATE TABLE users_text_fields (path TEXT PRIMARY KEY);
  INSERT INTO users_text_fields (path) VALUES ('$."username"'), ('$."email"');
  CREATE VIRTUAL TABLE users_text USING fts5 (body, tokenize = 'porter unicode61 remove_diacritics 2');
  CREATE VIEW users_text_source AS
    SELECT u.seq AS seq, coalesce(group_concat(
      CASE json_type(u.doc, f.path)
        WHEN 'text' THEN json_extract(u.doc, f.path)
        WHEN 'array' THEN (SELECT group_concat(value, ' ') FROM json_each(u.doc, f.path) WHERE type = 'text')
      END, ' '), '') AS body
    FROM users u, users_text_fields f GROUP BY u.seq;
  CREATE TRIGGER users_text_inserted AFTER INSERT ON users
  BEGIN INSERT INTO users_text (rowid, body) SELECT seq, body FROM users_text_source WHERE seq = new.seq; END;
  CREATE TRIGGER users_text_updated AFTER UPDATE OF doc ON users
  BEGIN
    DELETE FROM users_text WHERE rowid = old.seq;
    INSERT INTO users_text (rowid, body) SELECT seq, body FROM users_text_source WHERE seq = new.seq;
  END;
  CREATE TRIGGER users_text_deleted AFTER DELETE ON users
  BEGIN DELETE FROM users_text WHERE rowid = old.seq; END;
  INSERT INTO users_text (rowid, body) SELECT seq, body FROM users_text_source;
  `,
  // 11: dates stored before they had one canonical form, rewritten to it (embedded/date-migration.ts)
  canonicaliseStoredDates,
  // 12: bearer tokens signed by a provider that keeps no session of ours (Auth0), ended by a logout
  // before they expire: a deny-list by the token's digest, each entry removed once past its time.
  `
  CREATE TABLE denied_tokens (
    digest TEXT PRIMARY KEY,
    auth_user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX denied_tokens_expiry ON denied_tokens (expires_at);
  `,
  // 13: the access token each refresh token of such a provider was issued with (digests): a
  // bearer logout denies the access token, and with it the refresh token no other token may carry.
  `
  CREATE TABLE refresh_pairs (
    refresh_digest TEXT PRIMARY KEY,
    access_digest TEXT NOT NULL,
    auth_user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX refresh_pairs_expiry ON refresh_pairs (expires_at);
  `,
  // 14: each pair's refresh chain (the access digests, newest first, as JSON; NULL: a pair from
  // before, its own token only), and for each access token of a live chain the pair holding it
  // last: a bearer logout ends every token of its chain. Additive: existing pairs stay as they are.
  `
  ALTER TABLE refresh_pairs ADD COLUMN chain TEXT;
  CREATE TABLE refresh_chain_links (
    access_digest TEXT PRIMARY KEY,
    refresh_digest TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX refresh_chain_links_expiry ON refresh_chain_links (expires_at);
  CREATE INDEX refresh_chain_links_pair ON refresh_chain_links (refresh_digest);
  `,
  // 15: a revision of the group schemas, one more at each write of ums_config (kept by triggers, so
  // every process on the file counts): the key reads compare instead of the schemas' whole text.
  `
  CREATE TABLE IF NOT EXISTS ums_config_revision (one INTEGER PRIMARY KEY CHECK (one = 1), revision INTEGER NOT NULL);
  INSERT OR IGNORE INTO ums_config_revision (one, revision) VALUES (1, 1);
  CREATE TRIGGER IF NOT EXISTS ums_config_inserted AFTER INSERT ON ums_config
  BEGIN UPDATE ums_config_revision SET revision = revision + 1; END;
  CREATE TRIGGER IF NOT EXISTS ums_config_updated AFTER UPDATE ON ums_config
  BEGIN UPDATE ums_config_revision SET revision = revision + 1; END;
  CREATE TRIGGER IF NOT EXISTS ums_config_deleted AFTER DELETE ON ums_config
  BEGIN UPDATE ums_config_revision SET revision = revision + 1; END;
  `,
  // 16: the retention sweep finds the jobs that ended longest ago (docs/decisions.md, "Jobs").
  `
  CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (status, updated_at);
  `,
  // 17: how many times in a row a schedule found its user held by another write (USER_BUSY): its
  // next try backs off, doubling (reliability.md, "sched-cap"). Additive: existing rows start at 0.
  addColumn('schedules', 'busy_tries', 'INTEGER NOT NULL DEFAULT 0'),
  // 18: the runs of a job not handed back, counted at each claim, so a job whose process dies in
  // every run is failed after a bound (reliability.md, "Review ten"). Additive: existing rows start at 0.
  addColumn('jobs', 'attempts', 'INTEGER NOT NULL DEFAULT 0'),
];

/**
 * A migration adding a column when the table lacks it: SQLite has no ADD COLUMN IF NOT EXISTS, and
 * the migrations before it may run again. The names are this file's constants.
 */
function addColumn(table: string, column: string, definition: string): (db: Database.Database) => void {
  return (db) => {
    const columns = db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)').all(table);
    if (!columns.some(({ name }) => name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  };
}
