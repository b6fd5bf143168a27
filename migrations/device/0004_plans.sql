-- Device database, migration 4: plans as data. Applied all-or-nothing with the
-- version bump.
--
-- The platform sends the plan version of every task it sends (a pull change of
-- kind "plan"), so the tablet works any task it holds with no signal and prints and
-- checks it with the version the task was drawn with. A version never changes once
-- published, so a stored row is never rewritten.

CREATE TABLE plans (
    -- Plan id, e.g. `shanxi-2026`.
    plan_id      TEXT NOT NULL,
    -- Plan version (1, 2, …); tasks name the version they were drawn with.
    version      INTEGER NOT NULL CHECK (version >= 1),
    -- Plan format number the platform validated it with; a later format than this
    -- build reads makes the plan unreadable here (请更新应用), never mis-rendered.
    format       INTEGER NOT NULL,
    -- SHA-256 of the plan's TOML source on the platform.
    sha256       TEXT NOT NULL,
    -- The validated plan as the platform sent it (JSON, read when the app opens).
    body         TEXT NOT NULL CHECK (json_valid(body)),
    -- When this device received it (caller's clock).
    received_at  TEXT NOT NULL,
    PRIMARY KEY (plan_id, version)
);

-- The plan version each task was drawn with (1: a built-in plan, as every task
-- before this migration).
ALTER TABLE tasks ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 1;
