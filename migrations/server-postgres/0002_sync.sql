-- jiandu-server, PostgreSQL, migration 2: sync (SYNC.md). Same tables as the
-- SQLite migration 0002, in PostgreSQL types (UUID, BIGINT, JSONB, TIMESTAMPTZ).

-- Idempotency of push: the answer given to each (device, mutation), written in the
-- same transaction as the change it made (or refused).
CREATE TABLE sync_results (
    device_id      UUID NOT NULL REFERENCES devices(id),
    -- The device-made id of the outbox entry (UUIDv7).
    mutation_id    UUID NOT NULL,
    -- The inspection it belongs to (dependency_rejected looks up earlier refusals).
    inspection_id  UUID NOT NULL,
    -- Position in the device's log, for audits.
    device_seq     BIGINT NOT NULL,
    -- applied / rejected.
    status         TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
    -- The jiandu_core::protocol::ItemOutcome answered.
    outcome        JSONB NOT NULL,
    seq            BIGINT NOT NULL,
    PRIMARY KEY (device_id, mutation_id)
);
CREATE INDEX sync_results_rejected ON sync_results(device_id, inspection_id)
    WHERE status = 'rejected';

-- Photos and signature images (blobs): metadata from push, bytes from the
-- resumable upload (partial files in <blobs>/partial/<id>, verified content in
-- <blobs>/<sha256[0..2]>/<sha256>).
CREATE TABLE blobs (
    id             UUID PRIMARY KEY,
    -- photo / signature.
    kind           TEXT NOT NULL CHECK (kind IN ('photo', 'signature')),
    inspection_id  UUID NOT NULL REFERENCES inspections(id),
    -- Expected SHA-256 (lowercase hex) and size: the upload must match both.
    sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
    -- NULL until known (a signature's size comes with its registration).
    size           BIGINT CHECK (size > 0),
    mime           TEXT NOT NULL,
    -- TRUE once the bytes were received and their hash verified.
    complete       BOOLEAN NOT NULL DEFAULT FALSE,
    -- TRUE when voided (作废): kept, but no longer needed for approval.
    voided         BOOLEAN NOT NULL DEFAULT FALSE,
    -- The photo's metadata (jiandu_core::protocol::PhotoRecord); NULL for a
    -- signature image.
    meta           JSONB,
    seq            BIGINT NOT NULL
);
CREATE INDEX blobs_inspection ON blobs(inspection_id);

-- Signatures and refusals to sign (jiandu_core::Signature), append-only.
CREATE TABLE inspection_signatures (
    id             UUID PRIMARY KEY,
    inspection_id  UUID NOT NULL REFERENCES inspections(id),
    body           JSONB NOT NULL,
    seq            BIGINT NOT NULL
);
CREATE INDEX inspection_signatures_inspection ON inspection_signatures(inspection_id);

-- Document numbers (文号): the last number handed out per authority and year.
CREATE TABLE doc_number_counters (
    authority    TEXT NOT NULL,
    year         INTEGER NOT NULL,
    last_issued  BIGINT NOT NULL CHECK (last_issued >= 0),
    PRIMARY KEY (authority, year)
);

-- Blocks leased to devices; a retried request (same request_id) gets its block
-- again. Blocks never overlap: they are cut from the counter under its row lock.
CREATE TABLE doc_number_leases (
    device_id   UUID NOT NULL REFERENCES devices(id),
    request_id  UUID NOT NULL,
    authority   TEXT NOT NULL,
    year        INTEGER NOT NULL,
    first       BIGINT NOT NULL CHECK (first > 0),
    last        BIGINT NOT NULL CHECK (last >= first),
    issued_at   TIMESTAMPTZ NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (device_id, request_id),
    UNIQUE (authority, year, first)
);
