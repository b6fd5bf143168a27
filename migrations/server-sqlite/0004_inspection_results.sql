-- jiandu-server, SQLite, migration 4: what the 汇总表 need of each inspection, kept
-- beside it. Applied in one transaction with the version bump.
--
-- An approved inspection answers every applicable check point (tens of findings,
-- ~10 KB of JSON); a 汇总表 needs only its 不符合 points and its outcome. Triggers
-- keep this row in step with every write of `inspections` (review, sync push, any
-- future writer), in the same transaction, so reports read a few bytes per
-- inspection instead of parsing whole bodies. (DELETE then INSERT, not INSERT OR
-- REPLACE: an outer UPSERT's conflict clause would override the trigger's.)

CREATE TABLE inspection_results (
    inspection_id  TEXT PRIMARY KEY REFERENCES inspections(id),
    task_id        TEXT NOT NULL,
    status         TEXT NOT NULL,
    -- JSON array of the check point codes answered 不符合.
    non_compliant  TEXT NOT NULL,
    -- The outcome (jiandu_core Outcome JSON), NULL while none is chosen.
    outcome        TEXT
);
CREATE INDEX inspection_results_task ON inspection_results(task_id);

CREATE TRIGGER inspection_results_insert AFTER INSERT ON inspections
BEGIN
    DELETE FROM inspection_results WHERE inspection_id = NEW.id;
    INSERT INTO inspection_results (inspection_id, task_id, status, non_compliant, outcome)
    VALUES (
        NEW.id, NEW.task_id, NEW.status,
        (SELECT json_group_array(json_extract(f.value, '$.point'))
           FROM json_each(NEW.body, '$.findings') AS f
          WHERE json_extract(f.value, '$.verdict') = 'non_compliant'),
        json_extract(NEW.body, '$.outcome'));
END;

CREATE TRIGGER inspection_results_update AFTER UPDATE ON inspections
BEGIN
    DELETE FROM inspection_results WHERE inspection_id = NEW.id;
    INSERT INTO inspection_results (inspection_id, task_id, status, non_compliant, outcome)
    VALUES (
        NEW.id, NEW.task_id, NEW.status,
        (SELECT json_group_array(json_extract(f.value, '$.point'))
           FROM json_each(NEW.body, '$.findings') AS f
          WHERE json_extract(f.value, '$.verdict') = 'non_compliant'),
        json_extract(NEW.body, '$.outcome'));
END;

INSERT INTO inspection_results (inspection_id, task_id, status, non_compliant, outcome)
SELECT i.id, i.task_id, i.status,
       (SELECT json_group_array(json_extract(f.value, '$.point'))
          FROM json_each(i.body, '$.findings') AS f
         WHERE json_extract(f.value, '$.verdict') = 'non_compliant'),
       json_extract(i.body, '$.outcome')
FROM inspections i;
