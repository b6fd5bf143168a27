-- jiandu-server, SQLite, migration 5: plans as data (抽查计划). Applied in one
-- transaction with the version bump.
--
-- A plan version is a document the platform stores: imported by a bureau (its own
-- TOML, validated) or recorded from a built-in plan when a draw first uses it. Its
-- content never changes once stored (the triggers refuse it); a corrected plan is a
-- new version. Only published versions are drawn and sent to tablets.

CREATE TABLE plan_versions (
    -- Stable ASCII plan id, e.g. `shanxi-2026`.
    plan_id       TEXT NOT NULL,
    -- 1, 2, …: a built-in plan is version 1, a bureau's later copies count on.
    version       INTEGER NOT NULL CHECK (version >= 1),
    -- draft (imported, under review) or published (drawable, sent to tablets).
    state         TEXT NOT NULL CHECK (state IN ('draft', 'published')),
    -- builtin (a template this binary carries) or imported (a bureau's file).
    source        TEXT NOT NULL CHECK (source IN ('builtin', 'imported')),
    title         TEXT NOT NULL,
    year          INTEGER NOT NULL,
    -- The TOML as imported, byte for byte (what `plan export` gives back).
    toml          TEXT NOT NULL,
    -- SHA-256 (hex) of `toml`: what was reviewed and published.
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    -- The validated plan as JSON (what tablets receive).
    body          TEXT NOT NULL,
    -- The plan format number of the platform that validated it.
    format        INTEGER NOT NULL,
    imported_by   TEXT NOT NULL,
    imported_at   TEXT NOT NULL,
    published_by  TEXT,
    published_at  TEXT,
    seq           INTEGER NOT NULL,
    PRIMARY KEY (plan_id, version)
);

-- Content is immutable; the only change a row sees is draft → published.
CREATE TRIGGER plan_versions_immutable BEFORE UPDATE ON plan_versions
WHEN OLD.toml IS NOT NEW.toml OR OLD.body IS NOT NEW.body OR OLD.sha256 IS NOT NEW.sha256
  OR OLD.format IS NOT NEW.format OR OLD.source IS NOT NEW.source
  OR (OLD.state = 'published' AND NEW.state <> 'published')
BEGIN
    SELECT RAISE(ABORT, 'plan versions are immutable');
END;
CREATE TRIGGER plan_versions_no_delete BEFORE DELETE ON plan_versions
BEGIN
    SELECT RAISE(ABORT, 'plan versions are never deleted');
END;

-- The plan version a draw and its tasks were made with (1: the built-in plan, as
-- every draw before this migration used).
ALTER TABLE draws ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tasks ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 1;
