-- jiandu-server, SQLite, migration 6: the web console's sessions, and each device's
-- last sync. Applied in one transaction with the version bump.
--
-- A console session (控制台会话) is a signed-in browser: the cookie carries a random
-- token whose SHA-256 is kept here (never the token), with its CSRF token, its start
-- (absolute expiry) and its last use (idle expiry). Sessions are not synced data:
-- writing them does not move the change sequence nor the audit log.
CREATE TABLE console_sessions (
    id            TEXT PRIMARY KEY,
    -- SHA-256 (hex) of the cookie's token.
    token_hash    TEXT NOT NULL UNIQUE,
    -- Sent back in X-CSRF-Token by every state-changing request.
    csrf_token    TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    -- Set once: signed out, or the user was disabled. An ended session never revives.
    ended_at      TEXT
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);

-- When the device last pushed or pulled (人员与设备 shows it).
ALTER TABLE devices ADD COLUMN last_sync_at TEXT;
