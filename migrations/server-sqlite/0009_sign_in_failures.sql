-- jiandu-server, SQLite, migration 9: failed sign-ins in the database, so every
-- server process on the database counts the same attempts (issue 16, stateless
-- servers). Applied in one transaction with the version bump. (8 is another
-- change's number.)
--
-- One row per counted key: `u:<username>|<client>` (a username from one client
-- address) or `ip:<client>` (any usernames from one client; an IPv6 client by its
-- /64). A row's window starts at its first failure; rows whose window has passed
-- are deleted when the next failure is recorded. Not synced data: writing them
-- moves neither the change sequence nor the audit log.
CREATE TABLE sign_in_failures (
    key       TEXT PRIMARY KEY,
    failures  INTEGER NOT NULL,
    first_at  TEXT NOT NULL
);
CREATE INDEX sign_in_failures_first_at ON sign_in_failures(first_at);

-- Photos pushed whose bytes are not all here yet, counted for /api/v1/metrics
-- (uploads pending) without reading every blob row.
CREATE INDEX blobs_pending ON blobs(id) WHERE complete = 0;
