-- 0003: a local inspection that lost to another device's; the 意见书 文号 printed
-- on site, kept with its inspection; the 执法机关 the platform prints.
--
-- Applied like 0001: in one transaction with `PRAGMA user_version = 3`.
--
-- Two tablets of an inspection pair may both tap 亮证 on the same task without
-- signal. The platform keeps the first start it receives; the other tablet's start
-- and every edit made on it are refused (and listed as conflicts). Once none of its
-- edits is still waiting to be sent, that tablet's own inspection is moved here and
-- the platform's takes its place, so the inspector continues on the inspection the
-- platform holds. Nothing is thrown away: the snapshot keeps the inspection with its
-- findings, and the rows of its photos and signatures; the photo and signature files
-- stay in their folders; the refused edits stay in the outbox and the conflicts.
CREATE TABLE superseded_inspections (
    -- The local inspection's id.
    id              TEXT PRIMARY KEY NOT NULL,
    -- Its task.
    task_id         TEXT NOT NULL,
    -- The platform's inspection of the task that took its place.
    superseded_by   TEXT NOT NULL,
    -- When it was moved here (caller's clock).
    superseded_at   TEXT NOT NULL,
    -- {"inspection": jiandu_core::Inspection, "photos": [row…], "signatures": [row…]}.
    snapshot        TEXT NOT NULL CHECK (json_valid(snapshot))
);
CREATE INDEX superseded_by_task ON superseded_inspections (task_id);

-- The 卫生监督意见书's 文号 as printed on site (taken from the leased block when the
-- document was first made). It syncs with the inspection, so the platform's archive
-- copy carries the same number. NULL until the 意见书 is made.
ALTER TABLE inspections ADD COLUMN opinion_number TEXT;

-- 执法机关 the platform prints on its documents (told at enrolment), printed on this
-- device's documents too, so both copies agree. NULL: the built-in default.
ALTER TABLE sync_state ADD COLUMN authority TEXT;
