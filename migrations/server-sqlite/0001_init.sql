-- jiandu-server, SQLite, migration 1: people, devices, registry, draws, tasks,
-- inspections and reviews. Applied in one transaction with the version bump.
-- Conventions: ids are UUID text (lower-case, hyphenated); times are RFC 3339 UTC
-- text; `seq` is the server change sequence value of the transaction that last
-- wrote the row (sync pulls ask for rows with seq > cursor).

-- The database's identity and change sequence: exactly one row.
CREATE TABLE server_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    -- UUID made when the database is created; a restored copy gets a new one, and
    -- devices that see a new epoch resync from zero.
    epoch       TEXT NOT NULL,
    -- Last change sequence value handed out; every writing transaction bumps it once.
    change_seq  INTEGER NOT NULL
);

-- People who use the platform, and the staff directory (执法检查人员名录库).
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    -- Sign-in name, unique (for imported staff: the badge number unless given).
    username       TEXT NOT NULL UNIQUE,
    -- Name as printed on documents.
    display_name   TEXT NOT NULL,
    -- inspector (监督员) / team_lead (组长) / admin (管理员).
    role           TEXT NOT NULL CHECK (role IN ('inspector', 'team_lead', 'admin')),
    -- 执法证号 (law-enforcement badge number); required for inspectors.
    badge_no       TEXT UNIQUE,
    -- Team (科室/检查组) and district (区县): who a team lead reviews, who is drawn.
    team           TEXT NOT NULL DEFAULT '',
    district       TEXT NOT NULL DEFAULT '',
    -- argon2id PHC string; NULL: imported staff who cannot sign in yet.
    password_hash  TEXT,
    -- 1: may not sign in, tokens refused, not drawn.
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    CHECK (role <> 'inspector' OR badge_no IS NOT NULL)
);

-- Enrolled devices; the bearer token itself is never stored.
CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    -- Name given at enrolment, e.g. "平板 03".
    name        TEXT NOT NULL,
    -- SHA-256 (hex) of the bearer token.
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    -- Set once: a revoked device's token is refused for good.
    revoked_at  TEXT,
    seq         INTEGER NOT NULL
);
CREATE INDEX devices_user ON devices(user_id);

-- Registry of inspected institutions (检查对象名录库).
CREATE TABLE institutions (
    id                    TEXT PRIMARY KEY,
    -- 统一社会信用代码, validated (GB 32100 check character) before insert.
    credit_code           TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    -- 执业许可证登记号.
    licence_no            TEXT NOT NULL,
    -- Category code from templates/categories.toml.
    category              TEXT NOT NULL,
    district              TEXT NOT NULL,
    address               TEXT NOT NULL,
    -- 法定代表人/负责人.
    legal_representative  TEXT NOT NULL,
    phone                 TEXT NOT NULL,
    seq                   INTEGER NOT NULL
);

-- Declared conflicts of interest (回避): an inspector must never be drawn for these.
-- By credit code, so staff and institutions can be imported in any order.
CREATE TABLE conflicts (
    user_id      TEXT NOT NULL REFERENCES users(id),
    credit_code  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (user_id, credit_code)
);

-- Units penalised in earlier campaigns: each gets a 回头看 task in a plan that
-- follows up that campaign.
CREATE TABLE penalised_units (
    -- Campaign code as in the plan template's [[campaigns]].
    campaign     TEXT NOT NULL,
    credit_code  TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    seq          INTEGER NOT NULL,
    PRIMARY KEY (campaign, credit_code)
);

-- Draw records: everything needed to recompute a draw (`draw verify`).
CREATE TABLE draws (
    id           TEXT PRIMARY KEY,
    -- One draw per plan: drawn tasks are not to be changed at will.
    plan_id      TEXT NOT NULL UNIQUE,
    -- The plan's year, to find "the previous campaign".
    plan_year    INTEGER NOT NULL,
    -- The seed text as given by the person who ran it.
    seed         TEXT NOT NULL,
    -- Algorithm version, e.g. jiandu-draw/1.
    algorithm    TEXT NOT NULL,
    -- SHA-256 of the normalized inputs; SHA-256 of the drawn task list.
    inputs_hash  TEXT NOT NULL,
    tasks_hash   TEXT NOT NULL,
    -- Snapshot of the inputs (plan, units, inspectors, penalised list) as JSON.
    inputs       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    seq          INTEGER NOT NULL
);

-- Drawn tasks (抽查任务).
CREATE TABLE tasks (
    id                 TEXT PRIMARY KEY,
    draw_id            TEXT NOT NULL REFERENCES draws(id),
    plan_id            TEXT NOT NULL,
    -- Order within the draw, as the algorithm produced it.
    position           INTEGER NOT NULL,
    -- Checklist (工作计划表) code within the plan.
    checklist          TEXT NOT NULL,
    -- national / city / followup.
    kind               TEXT NOT NULL CHECK (kind IN ('national', 'city', 'followup')),
    -- Campaign code of a 回头看 task.
    followup           TEXT,
    institution_id     TEXT NOT NULL REFERENCES institutions(id),
    -- The unit's category when drawn.
    category           TEXT NOT NULL,
    -- JSON array of inspector ids as drawn; never updated.
    drawn_inspectors   TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    UNIQUE (draw_id, position)
);
CREATE INDEX tasks_plan ON tasks(plan_id);

-- Current inspectors of each task (drawn, then re-assigned).
CREATE TABLE task_inspectors (
    task_id   TEXT NOT NULL REFERENCES tasks(id),
    user_id   TEXT NOT NULL REFERENCES users(id),
    -- Order shown (主办 first).
    position  INTEGER NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_inspectors_user ON task_inspectors(user_id);

-- Re-assignments after the draw (capped per plan, reason required).
CREATE TABLE reassignments (
    id         TEXT PRIMARY KEY,
    draw_id    TEXT NOT NULL REFERENCES draws(id),
    task_id    TEXT NOT NULL REFERENCES tasks(id),
    from_user  TEXT NOT NULL REFERENCES users(id),
    to_user    TEXT NOT NULL REFERENCES users(id),
    reason     TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    -- Who did it.
    by_name    TEXT NOT NULL,
    at         TEXT NOT NULL,
    seq        INTEGER NOT NULL
);
CREATE INDEX reassignments_draw ON reassignments(draw_id);

-- Inspections (现场检查), one per task.
CREATE TABLE inspections (
    id          TEXT PRIMARY KEY,
    task_id     TEXT NOT NULL UNIQUE REFERENCES tasks(id),
    -- Status code (jiandu_core InspectionStatus::as_str), for queries.
    status      TEXT NOT NULL,
    -- Version of the content; an approval names the version it reviewed.
    version     INTEGER NOT NULL,
    -- The whole jiandu_core::Inspection as JSON.
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE INDEX inspections_status ON inspections(status);

-- Review decisions (审核), append-only history.
CREATE TABLE reviews (
    id                TEXT PRIMARY KEY,
    inspection_id     TEXT NOT NULL REFERENCES inspections(id),
    -- approve / return.
    decision          TEXT NOT NULL CHECK (decision IN ('approve', 'return')),
    reviewed_version  INTEGER NOT NULL,
    -- 退回意见 for a return.
    comment           TEXT,
    reviewer          TEXT NOT NULL REFERENCES users(id),
    at                TEXT NOT NULL,
    seq               INTEGER NOT NULL
);
CREATE INDEX reviews_inspection ON reviews(inspection_id);
