-- jiandu-server, PostgreSQL, migration 5: plans as data (抽查计划). Applied in one
-- transaction with the version bump. Same tables and rules as server-sqlite/0005.
--
-- A plan version is a document the platform stores: imported by a bureau (its own
-- TOML, validated) or recorded from a built-in plan when a draw first uses it. Its
-- content never changes once stored (the trigger refuses it); a corrected plan is a
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
    -- The validated plan (what tablets receive).
    body          JSONB NOT NULL,
    -- The plan format number of the platform that validated it.
    format        INTEGER NOT NULL,
    imported_by   TEXT NOT NULL,
    imported_at   TIMESTAMPTZ NOT NULL,
    published_by  TEXT,
    published_at  TIMESTAMPTZ,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (plan_id, version)
);

-- Content is immutable; the only change a row sees is draft → published.
CREATE FUNCTION plan_versions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'plan versions are never deleted';
    END IF;
    IF OLD.toml IS DISTINCT FROM NEW.toml OR OLD.body IS DISTINCT FROM NEW.body
       OR OLD.sha256 IS DISTINCT FROM NEW.sha256 OR OLD.format IS DISTINCT FROM NEW.format
       OR OLD.source IS DISTINCT FROM NEW.source
       OR (OLD.state = 'published' AND NEW.state <> 'published') THEN
        RAISE EXCEPTION 'plan versions are immutable';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER plan_versions_immutable BEFORE UPDATE OR DELETE ON plan_versions
    FOR EACH ROW EXECUTE FUNCTION plan_versions_guard();

-- The plan version a draw and its tasks were made with (1: the built-in plan, as
-- every draw before this migration used).
ALTER TABLE draws ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tasks ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 1;
