-- jiandu-server, SQLite, migration 3: the audit log (issue 4 item 8). Applied in one
-- transaction with the version bump.
--
-- One entry per writing transaction, keyed by the change sequence value that
-- transaction took (so the rows it wrote carry `seq` = the entry's `change_seq`),
-- appended in that same transaction. Each entry carries the SHA-256 of the previous
-- one; the canonical serialization is in crates/server/src/audit.rs and
-- docs/AUDIT.md. No code path updates or deletes an entry, and the triggers below
-- refuse it; `jiandu-server audit verify` checks the chain.

CREATE TABLE audit_log (
    -- Change sequence value of the transaction (server_state.change_seq).
    change_seq  INTEGER PRIMARY KEY,
    -- When, RFC 3339 UTC with microseconds (the exact text is hashed).
    at          TEXT NOT NULL,
    -- Who: "username (设备 id)" over HTTP, "cli:NAME" from the command line,
    -- "system" otherwise.
    actor       TEXT NOT NULL,
    -- What, e.g. user.create, draw.save, inspection.review, sync.push.
    action      TEXT NOT NULL,
    -- The main object's id (or name) the change is about.
    subject     TEXT NOT NULL,
    -- Details as compact JSON text (hashed as stored, never re-serialized).
    detail      TEXT NOT NULL,
    -- Hash of the previous entry (64 zeros for the first), and of this one.
    prev_hash   TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash        TEXT NOT NULL CHECK (length(hash) = 64)
);

-- Where the log starts: changes up to `after_seq` predate the audit log (a database
-- created before migration 3). Exactly one row, written here.
CREATE TABLE audit_start (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    after_seq  INTEGER NOT NULL
);
INSERT INTO audit_start (id, after_seq)
    VALUES (1, COALESCE((SELECT change_seq FROM server_state WHERE id = 1), 0));

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_start_no_update BEFORE UPDATE ON audit_start
BEGIN
    SELECT RAISE(ABORT, 'audit_start is fixed');
END;
CREATE TRIGGER audit_start_no_delete BEFORE DELETE ON audit_start
BEGIN
    SELECT RAISE(ABORT, 'audit_start is fixed');
END;
