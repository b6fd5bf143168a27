-- jiandu-server, PostgreSQL, migration 3: the audit log (issue 4 item 8). Applied in
-- one transaction with the version bump. Same table as SQLite's 0003_audit.sql;
-- times and details are TEXT here too, because their exact text is hashed.
--
-- One entry per writing transaction, keyed by the change sequence value that
-- transaction took, appended in that same transaction (after the server_state
-- row lock that serialises writers, so the chain has no forks). Each entry carries
-- the SHA-256 of the previous one (crates/server/src/audit.rs, docs/AUDIT.md). No
-- code path updates or deletes an entry, and the triggers below refuse UPDATE,
-- DELETE and TRUNCATE.

CREATE TABLE audit_log (
    change_seq  BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash        TEXT NOT NULL CHECK (length(hash) = 64)
);

CREATE TABLE audit_start (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    after_seq  BIGINT NOT NULL
);
INSERT INTO audit_start (id, after_seq)
    VALUES (1, COALESCE((SELECT change_seq FROM server_state WHERE id = 1), 0));

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_start_no_change BEFORE UPDATE OR DELETE ON audit_start
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_start_no_truncate BEFORE TRUNCATE ON audit_start
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
