-- 0001_initial: the device database of one signed-in user (jiandu-store).
--
-- Applied by jiandu-store inside one transaction together with
-- `PRAGMA user_version = 1`: either all of it exists or none of it does.
--
-- Conventions that every table follows:
-- - ids are UUIDs as lowercase hyphenated text; a record's id is a UUIDv7 made
--   where the record is born (tasks: the server; inspection content: this device);
-- - times are UTC, RFC 3339 with nine fraction digits and a `Z`
--   (e.g. 2025-05-06T08:30:00.000000000Z): fixed width, so text order is time order;
-- - money is INTEGER fen (分), never REAL;
-- - booleans are INTEGER 0/1 with a CHECK;
-- - enumerations are the snake_case names used by jiandu-core, with a CHECK;
-- - nothing that is evidence is ever deleted: photos and signatures are voided
--   (with who, when and why), findings are replaced but their history stays in
--   audit_log.

-- Tasks (抽查任务) as the server drew them. Owned by the server (single writer):
-- the device only stores what sync brings and never queues changes to them.
CREATE TABLE tasks (
    -- Task id, made by the server at the draw.
    id                   TEXT PRIMARY KEY NOT NULL,
    -- Plan (template) id, e.g. `shanxi-2025`; resolved against the built-in templates.
    plan_id              TEXT NOT NULL,
    -- Code of the checklist (工作计划表) within the plan the inspection follows.
    checklist            TEXT NOT NULL,
    -- How the task came about: 国家双随机, 市级双随机 or 回头看.
    draw_kind            TEXT NOT NULL CHECK (draw_kind IN ('national', 'city', 'follow_up')),
    -- Campaign code when draw_kind = 'follow_up' (回头看), else NULL.
    followup             TEXT,
    -- Date the inspection is due (YYYY-MM-DD), if the plan sets one.
    deadline             TEXT,
    -- Institution snapshot (检查对象), copied from the registry at the draw so the
    -- documents print what was drawn even if the registry changes later.
    -- Registry id of the institution.
    institution_id       TEXT NOT NULL,
    -- 单位名称.
    institution_name     TEXT NOT NULL,
    -- 统一社会信用代码.
    credit_code          TEXT NOT NULL,
    -- 执业许可证登记号.
    licence_no           TEXT NOT NULL,
    -- Category code from templates/categories.toml, e.g. `village_clinic`.
    category             TEXT NOT NULL,
    -- 所属区县.
    district             TEXT NOT NULL,
    -- 地址.
    address              TEXT NOT NULL,
    -- 法定代表人/负责人.
    legal_representative TEXT NOT NULL,
    -- 联系电话.
    phone                TEXT NOT NULL,
    -- When this device last stored the task from sync (caller's clock).
    received_at          TEXT NOT NULL
);

-- The inspectors the draw assigned to a task (at least two, 《行政处罚法》第42条).
CREATE TABLE task_inspectors (
    -- The task.
    task_id  TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    -- Order as the server sent them (the first is listed first on documents).
    position INTEGER NOT NULL CHECK (position >= 0),
    -- The inspector's user id; only these users may edit the inspection.
    user_id  TEXT NOT NULL,
    -- Name as printed on documents.
    name     TEXT NOT NULL,
    -- 执法证号 (law-enforcement badge number).
    badge_no TEXT NOT NULL,
    PRIMARY KEY (task_id, position)
);

-- The inspection (现场检查) of a task: at most one per task on this device.
CREATE TABLE inspections (
    -- Inspection id (UUIDv7), made on this device when the inspection starts.
    id                        TEXT PRIMARY KEY NOT NULL,
    -- The task inspected; UNIQUE: one inspection per task.
    task_id                   TEXT NOT NULL UNIQUE REFERENCES tasks (id),
    -- State machine of jiandu-core (InspectionStatus).
    status                    TEXT NOT NULL CHECK (status IN ('assigned', 'in_progress',
                                  'submitted', 'unreachable', 'returned', 'resubmitted',
                                  'approved')),
    -- Bumped by every accepted change; outbox entries carry the version they were
    -- made on (base_version) and an approval names the version it reviewed.
    version                   INTEGER NOT NULL CHECK (version >= 0),
    -- 亮证: when credentials were shown, i.e. the inspection started.
    started_at                TEXT,
    -- When the inspection was submitted or recorded as unreachable.
    ended_at                  TEXT,
    -- 检查地点.
    place                     TEXT NOT NULL DEFAULT '',
    -- Outcome (处理结果): one of the four public categories, NULL until chosen.
    outcome_category          TEXT CHECK (outcome_category IN ('no_problem', 'corrected',
                                  'penalised', 'unreachable')),
    -- Penalty figures, present exactly when outcome_category = 'penalised'.
    -- 查处案件数.
    penalty_cases             INTEGER CHECK (penalty_cases >= 0),
    -- 罚没款金额 in fen (分); shown in 万元 by the reports.
    penalty_fine_fen          INTEGER CHECK (penalty_fine_fen >= 0),
    -- 吊销《医疗机构执业许可证》 (0/1).
    penalty_revoked_licence   INTEGER CHECK (penalty_revoked_licence IN (0, 1)),
    -- 吊销诊疗科目 (0/1).
    penalty_revoked_subjects  INTEGER CHECK (penalty_revoked_subjects IN (0, 1)),
    -- 吊销人员（医师）资格证 (0/1).
    penalty_revoked_personnel INTEGER CHECK (penalty_revoked_personnel IN (0, 1)),
    -- 注销或者撤销备案证 (0/1).
    penalty_cancelled_filing  INTEGER CHECK (penalty_cancelled_filing IN (0, 1)),
    -- 监督意见 written into the 卫生监督意见书, if one is issued.
    opinion                   TEXT,
    -- Why the unit could not be contacted (outcome 'unreachable').
    unreachable_reason        TEXT,
    -- 退回意见: the team lead's comments of the last return (from sync).
    review_comment            TEXT,
    -- User id of the team lead who last reviewed (from sync).
    reviewed_by               TEXT,
    -- Number of findings (answered points) and of 不符合 findings: kept exact by
    -- the findings_count_* triggers below, in the same transaction as the finding,
    -- so the task list reads two integers instead of counting 120,000 rows.
    answered_count            INTEGER NOT NULL DEFAULT 0 CHECK (answered_count >= 0),
    non_compliant_count       INTEGER NOT NULL DEFAULT 0 CHECK (non_compliant_count >= 0),
    -- When the row was created / last changed on this device (caller's clock).
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL,
    CHECK ((outcome_category IS 'penalised') = (penalty_cases IS NOT NULL)),
    CHECK ((penalty_cases IS NULL) = (penalty_fine_fen IS NULL)),
    CHECK ((penalty_cases IS NULL) = (penalty_revoked_licence IS NULL)),
    CHECK ((penalty_cases IS NULL) = (penalty_revoked_subjects IS NULL)),
    CHECK ((penalty_cases IS NULL) = (penalty_revoked_personnel IS NULL)),
    CHECK ((penalty_cases IS NULL) = (penalty_cancelled_filing IS NULL))
);

-- Findings (检查结果): the answer to one check point of one inspection. A new answer
-- to the same point replaces the row (same id); the earlier answer stays in audit_log.
CREATE TABLE findings (
    -- Finding id (UUIDv7), kept when the answer is changed.
    id            TEXT PRIMARY KEY NOT NULL,
    -- The inspection.
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    -- Check point code from the plan template, e.g. `med.5.1`.
    point         TEXT NOT NULL,
    -- 符合 / 不符合 / 合理缺项.
    verdict       TEXT NOT NULL CHECK (verdict IN ('compliant', 'non_compliant',
                      'not_applicable')),
    -- 现场检查情况: facts observed; required for 不符合 at submission.
    observation   TEXT NOT NULL DEFAULT '',
    -- Who recorded the current answer, and when (caller's clock).
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    -- One answer per point: saving a point twice replaces, never duplicates.
    UNIQUE (inspection_id, point)
);
-- Counting 不符合 points of one inspection (submission checks, reports) reads this
-- index alone.
CREATE INDEX findings_by_inspection_verdict ON findings (inspection_id, verdict);

-- inspections.answered_count / non_compliant_count follow every change of findings,
-- whatever code path makes it: the database keeps them, not the application.
CREATE TRIGGER findings_count_insert AFTER INSERT ON findings
BEGIN
    UPDATE inspections
    SET answered_count = answered_count + 1,
        non_compliant_count = non_compliant_count + (NEW.verdict = 'non_compliant')
    WHERE id = NEW.inspection_id;
END;

CREATE TRIGGER findings_count_update AFTER UPDATE OF verdict, inspection_id ON findings
BEGIN
    UPDATE inspections
    SET answered_count = answered_count - 1,
        non_compliant_count = non_compliant_count - (OLD.verdict = 'non_compliant')
    WHERE id = OLD.inspection_id;
    UPDATE inspections
    SET answered_count = answered_count + 1,
        non_compliant_count = non_compliant_count + (NEW.verdict = 'non_compliant')
    WHERE id = NEW.inspection_id;
END;

CREATE TRIGGER findings_count_delete AFTER DELETE ON findings
BEGIN
    UPDATE inspections
    SET answered_count = answered_count - 1,
        non_compliant_count = non_compliant_count - (OLD.verdict = 'non_compliant')
    WHERE id = OLD.inspection_id;
END;

-- Photos (evidence). The file is <data_dir>/photos/<id>, written once and made
-- durable BEFORE this row is inserted, and never modified afterwards.
CREATE TABLE photos (
    -- Photo id (UUIDv7); also the file name.
    id            TEXT PRIMARY KEY NOT NULL,
    -- The inspection the photo is evidence for.
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    -- The finding it illustrates; NULL for a photo of the inspection as a whole
    -- (e.g. the entrance of a closed unit).
    finding_id    TEXT REFERENCES findings (id),
    -- SHA-256 of the file, lowercase hex; verify_photo re-hashes against it.
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    -- File size in bytes.
    size_bytes    INTEGER NOT NULL CHECK (size_bytes > 0),
    -- Media type, e.g. image/jpeg.
    mime          TEXT NOT NULL,
    -- When the camera took it (from the caller, e.g. EXIF or capture time).
    taken_at      TEXT NOT NULL,
    -- Where it was taken (WGS-84 degrees), when the device knew; both or neither.
    latitude      REAL CHECK (latitude BETWEEN -90 AND 90),
    longitude     REAL CHECK (longitude BETWEEN -180 AND 180),
    -- Who attached it, and when (caller's clock).
    captured_by   TEXT NOT NULL,
    captured_at   TEXT NOT NULL,
    -- Voiding (作废) instead of deleting: who, when and why. All NULL while valid.
    voided_by     TEXT,
    voided_at     TEXT,
    void_reason   TEXT,
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK ((voided_at IS NULL) = (void_reason IS NULL)),
    CHECK ((voided_at IS NULL) = (voided_by IS NULL))
);
CREATE INDEX photos_by_inspection ON photos (inspection_id);
CREATE INDEX photos_by_finding ON photos (finding_id) WHERE finding_id IS NOT NULL;

-- Signatures on the 现场笔录 / 监督意见书, or a party's refusal to sign.
-- A drawn signature is a PNG at <data_dir>/signatures/<id>, written like photos.
CREATE TABLE signatures (
    -- Signature id (UUIDv7); also the file name when there is an image.
    id             TEXT PRIMARY KEY NOT NULL,
    -- The inspection whose documents are signed.
    inspection_id  TEXT NOT NULL REFERENCES inspections (id),
    -- Who signs: inspector (执法人员), party (当事人), witness (见证人).
    role           TEXT NOT NULL CHECK (role IN ('inspector', 'party', 'witness')),
    -- The signer's name as printed next to the signature.
    signer_name    TEXT NOT NULL,
    -- SHA-256 (hex) and size of the PNG; NULL for a refusal.
    image_sha256   TEXT CHECK (length(image_sha256) = 64),
    image_size     INTEGER CHECK (image_size > 0),
    -- 当事人拒绝签字: the refusal's reason (《行政强制法》第18条); NULL when signed.
    refusal_reason TEXT,
    -- For a witness signature: the refusal it witnesses.
    witness_of     TEXT REFERENCES signatures (id),
    -- When it was signed / refused (caller's clock) and who recorded it.
    signed_at      TEXT NOT NULL,
    recorded_by    TEXT NOT NULL,
    -- Exactly one of: an image, or a refusal (only a party refuses).
    CHECK ((image_sha256 IS NULL) = (image_size IS NULL)),
    CHECK ((image_sha256 IS NULL) <> (refusal_reason IS NULL)),
    CHECK (refusal_reason IS NULL OR role = 'party'),
    CHECK (witness_of IS NULL OR role = 'witness')
);
CREATE INDEX signatures_by_inspection ON signatures (inspection_id);

-- Files waiting to be uploaded (resumable upload, SYNC.md "Photos"). A row is
-- inserted in the same transaction as the photo or signature it uploads.
CREATE TABLE upload_queue (
    -- Photo or signature id (also the file name).
    blob_id        TEXT PRIMARY KEY NOT NULL,
    -- Which folder and table: 'photo' or 'signature'.
    kind           TEXT NOT NULL CHECK (kind IN ('photo', 'signature')),
    -- pending: not registered yet; registered: the server knows id+hash;
    -- uploading: some bytes acknowledged; done: the server verified the hash.
    state          TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'registered',
                       'uploading', 'done')),
    -- Bytes the server has acknowledged as durable (HEAD …/content).
    uploaded_bytes INTEGER NOT NULL DEFAULT 0 CHECK (uploaded_bytes >= 0),
    -- When the file was queued / the row last changed (caller's clock).
    queued_at      TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX upload_queue_open ON upload_queue (queued_at) WHERE state <> 'done';

-- The device's change counter: one row, bumped inside the transaction of every
-- change, so device_seq is strictly increasing and gapless (a rolled-back
-- transaction rolls its increment back too).
CREATE TABLE device_counter (
    -- Always 1: the table has exactly one row.
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    -- The last device_seq handed out (0: none yet).
    last_device_seq INTEGER NOT NULL CHECK (last_device_seq >= 0)
);
INSERT INTO device_counter (id, last_device_seq) VALUES (1, 0);

-- The outbox (SYNC.md "Push"): one entry per local change, written in the same
-- transaction as the change, pushed in device_seq order.
CREATE TABLE outbox (
    -- Position in this device's log: 1, 2, 3, … without gaps (from device_counter).
    device_seq    INTEGER PRIMARY KEY NOT NULL,
    -- Client-made id of this change (UUIDv7); the server stores its result under
    -- (device_id, mutation_id), so a replayed push changes nothing.
    mutation_id   TEXT NOT NULL UNIQUE,
    -- What changed: inspection, finding, photo or signature.
    entity        TEXT NOT NULL CHECK (entity IN ('inspection', 'finding', 'photo',
                      'signature')),
    -- Id of the changed record.
    entity_id     TEXT NOT NULL,
    -- The inspection the change belongs to (all device-written entities have one).
    inspection_id TEXT NOT NULL,
    -- What was done, e.g. start, upsert, create, void, set_outcome, submit.
    op            TEXT NOT NULL,
    -- Inspection version the change was made on; the server answers `stale` when
    -- its own version moved on in a way that conflicts.
    base_version  INTEGER,
    -- The record after the change, as JSON (jiandu-core serde shapes).
    payload       TEXT NOT NULL CHECK (json_valid(payload)),
    -- When the change was made (caller's clock; informative only, never ordering).
    created_at    TEXT NOT NULL,
    -- pending until the server answered; applied or rejected afterwards.
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied',
                      'rejected')),
    -- The server's reason code for a rejection (locked, stale, forbidden, …).
    reject_code   TEXT,
    CHECK (device_seq > 0)
);
CREATE INDEX outbox_pending ON outbox (device_seq) WHERE state = 'pending';

-- Local audit log: who changed what, when, from what to what. Written in the same
-- transaction as the change. Kept on the device; never edited.
CREATE TABLE audit_log (
    -- Order of writing.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- When (caller's clock).
    at          TEXT NOT NULL,
    -- Who: the acting user's id; NULL when the change came from the server by sync.
    user_id     TEXT,
    -- Which record: entity kind (task, inspection, finding, photo, signature) and id.
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    -- What was done (same words as outbox.op, plus sync actions such as upsert_task).
    action      TEXT NOT NULL,
    -- The record before and after, as JSON; NULL before a creation.
    before_json TEXT CHECK (before_json IS NULL OR json_valid(before_json)),
    after_json  TEXT CHECK (after_json IS NULL OR json_valid(after_json))
);
CREATE INDEX audit_log_by_entity ON audit_log (entity_id);
