-- 0002_sync: what the device needs to sync (jiandu-sync, SYNC.md).
--
-- Applied like 0001: in one transaction with `PRAGMA user_version = 2`.
-- The bearer token is NOT here: it lives outside the database (platform secure
-- storage, or a 0600 file), so a copied database file grants nothing.

-- Where and as whom this device syncs, and how far: exactly one row.
CREATE TABLE sync_state (
    -- Always 1.
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    -- Base URL of the platform, e.g. https://jiandu.example/ (NULL: not enrolled).
    server_url      TEXT,
    -- This device's id at the server, and the user it was enrolled for.
    device_id       TEXT,
    user_id         TEXT,
    -- The server database's epoch seen last; a different one means the server was
    -- restored: pull again from 0, keeping unsent work.
    epoch           TEXT,
    -- Pull cursor: the server change sequence value up to which everything
    -- visible to this user has been applied. Written in the same transaction as
    -- the page it ends.
    cursor          INTEGER NOT NULL DEFAULT 0 CHECK (cursor >= 0),
    -- When a sync last finished without error (caller's clock).
    last_sync_at    TEXT,
    -- Set when the server said this device is revoked: sync stops for good, local
    -- data stays for export.
    revoked_at      TEXT,
    revoked_message TEXT
);
INSERT INTO sync_state (id) VALUES (1);

-- The server's answer to each pushed outbox entry.
-- Server change sequence value of the transaction that applied it (state 'applied').
ALTER TABLE outbox ADD COLUMN server_seq INTEGER;
-- The server's explanation of a rejection (Chinese), shown in the conflicts list.
ALTER TABLE outbox ADD COLUMN reject_message TEXT;

-- Rejected local edits the inspector must see (冲突), with the server's version
-- beside them. Never deleted; resolved_at is set once the inspector has seen it.
CREATE TABLE conflicts (
    -- Order of arrival.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The rejected outbox entry.
    device_seq      INTEGER NOT NULL UNIQUE REFERENCES outbox (device_seq),
    entity          TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    inspection_id   TEXT NOT NULL,
    op              TEXT NOT NULL,
    -- Reason code: locked, stale, forbidden, invalid, dependency_rejected.
    reason          TEXT NOT NULL,
    -- The server's message (Chinese).
    message         TEXT NOT NULL,
    -- The local change (the outbox payload) and the server's inspection at the time
    -- of the rejection (jiandu_core::protocol::ServerInspection JSON, NULL if the
    -- server had none).
    local_json      TEXT NOT NULL CHECK (json_valid(local_json)),
    server_json     TEXT CHECK (server_json IS NULL OR json_valid(server_json)),
    -- When the rejection arrived; when the inspector acknowledged it.
    at              TEXT NOT NULL,
    resolved_at     TEXT
);
CREATE INDEX conflicts_open ON conflicts (id) WHERE resolved_at IS NULL;

-- Server versions of inspections that could not be applied yet because local
-- edits of them were still unsent. Applied (or dropped as outdated) once the
-- outbox has no pending entry for the inspection.
CREATE TABLE pull_deferred (
    inspection_id   TEXT PRIMARY KEY NOT NULL,
    -- Server change sequence value of the snapshot.
    server_seq      INTEGER NOT NULL,
    -- jiandu_core::protocol::ServerInspection JSON.
    snapshot        TEXT NOT NULL CHECK (json_valid(snapshot))
);

-- Why the server refuses a file (e.g. its photo's edit was rejected): the upload is
-- not retried while set. NULL: upload normally.
ALTER TABLE upload_queue ADD COLUMN blocked TEXT;

-- Blocks of document numbers (文号) leased from the server for use offline.
CREATE TABLE doc_number_blocks (
    -- The issuing authority's 文号 prefix, e.g. 并卫监, and the year.
    authority  TEXT NOT NULL,
    year       INTEGER NOT NULL,
    -- The block first..=last, as leased.
    first      INTEGER NOT NULL CHECK (first > 0),
    last       INTEGER NOT NULL CHECK (last >= first),
    -- The next number to hand out (last + 1: used up).
    next       INTEGER NOT NULL,
    leased_at  TEXT NOT NULL,
    PRIMARY KEY (authority, year, first),
    CHECK (next BETWEEN first AND last + 1)
);

-- A lease asked for but not answered yet: a retry reuses request_id, so the server
-- answers with the same block instead of cutting a second one.
CREATE TABLE doc_number_requests (
    authority    TEXT NOT NULL,
    year         INTEGER NOT NULL,
    request_id   TEXT NOT NULL UNIQUE,
    requested_at TEXT NOT NULL,
    PRIMARY KEY (authority, year)
);
