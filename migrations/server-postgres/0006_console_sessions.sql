-- jiandu-server, PostgreSQL, migration 6: the web console's sessions, and each
-- device's last sync. Same tables and rules as server-sqlite/0006.
CREATE TABLE console_sessions (
    id            UUID PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    csrf_token    TEXT NOT NULL,
    user_id       UUID NOT NULL REFERENCES users(id),
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);

ALTER TABLE devices ADD COLUMN last_sync_at TIMESTAMPTZ;
