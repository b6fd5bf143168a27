-- jiandu-server, SQLite, migration 2: sync (SYNC.md). Applied in one transaction
-- with the version bump. Same conventions as 0001 (UUID text, RFC 3339 UTC text,
-- `seq` = server change sequence value of the transaction that last wrote the row).

-- Idempotency of push: the answer given to each (device, mutation), written in the
-- same transaction as the change it made (or refused), so a replayed item gets the
-- same answer and changes nothing.
CREATE TABLE sync_results (
    device_id      TEXT NOT NULL REFERENCES devices(id),
    -- The device-made id of the outbox entry (UUIDv7).
    mutation_id    TEXT NOT NULL,
    -- The inspection it belongs to (dependency_rejected looks up earlier refusals).
    inspection_id  TEXT NOT NULL,
    -- Position in the device's log, for audits.
    device_seq     INTEGER NOT NULL,
    -- applied / rejected.
    status         TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
    -- The jiandu_core::protocol::ItemOutcome answered, as JSON.
    outcome        TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    PRIMARY KEY (device_id, mutation_id)
);
CREATE INDEX sync_results_rejected ON sync_results(device_id, inspection_id)
    WHERE status = 'rejected';

-- Photos and signature images (blobs): metadata from push, bytes from the
-- resumable upload. The bytes live on the file system: partial uploads in
-- <blobs>/partial/<id>, verified content in <blobs>/<sha256[0..2]>/<sha256>.
CREATE TABLE blobs (
    id             TEXT PRIMARY KEY,
    -- photo / signature.
    kind           TEXT NOT NULL CHECK (kind IN ('photo', 'signature')),
    inspection_id  TEXT NOT NULL REFERENCES inspections(id),
    -- Expected SHA-256 (lowercase hex) and size: the upload must match both.
    sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
    -- NULL until known (a signature's size comes with its registration).
    size           INTEGER CHECK (size > 0),
    mime           TEXT NOT NULL,
    -- 1 once the bytes were received and their hash verified.
    complete       INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),
    -- 1 when voided (作废): kept, but no longer needed for approval.
    voided         INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    -- The photo's metadata (jiandu_core::protocol::PhotoRecord JSON); NULL for a
    -- signature image.
    meta           TEXT,
    seq            INTEGER NOT NULL
);
CREATE INDEX blobs_inspection ON blobs(inspection_id);

-- Signatures and refusals to sign (jiandu_core::Signature JSON), append-only.
CREATE TABLE inspection_signatures (
    id             TEXT PRIMARY KEY,
    inspection_id  TEXT NOT NULL REFERENCES inspections(id),
    body           TEXT NOT NULL,
    seq            INTEGER NOT NULL
);
CREATE INDEX inspection_signatures_inspection ON inspection_signatures(inspection_id);

-- Document numbers (文号): the last number handed out per authority and year.
CREATE TABLE doc_number_counters (
    authority    TEXT NOT NULL,
    year         INTEGER NOT NULL,
    last_issued  INTEGER NOT NULL CHECK (last_issued >= 0),
    PRIMARY KEY (authority, year)
);

-- Blocks leased to devices; a retried request (same request_id) gets its block
-- again. Blocks of one authority and year never overlap: they are cut from the
-- counter above under the write lock.
CREATE TABLE doc_number_leases (
    device_id   TEXT NOT NULL REFERENCES devices(id),
    request_id  TEXT NOT NULL,
    authority   TEXT NOT NULL,
    year        INTEGER NOT NULL,
    first       INTEGER NOT NULL CHECK (first > 0),
    last        INTEGER NOT NULL CHECK (last >= first),
    issued_at   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (device_id, request_id),
    UNIQUE (authority, year, first)
);
