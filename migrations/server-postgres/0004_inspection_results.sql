-- jiandu-server, PostgreSQL, migration 4: what the 汇总表 need of each inspection,
-- kept beside it (see the SQLite migration of the same number). A trigger keeps the
-- row in step with every write of `inspections`, in the same transaction.

CREATE TABLE inspection_results (
    inspection_id  UUID PRIMARY KEY REFERENCES inspections(id),
    task_id        UUID NOT NULL,
    status         TEXT NOT NULL,
    -- Array of the check point codes answered 不符合.
    non_compliant  JSONB NOT NULL,
    -- The outcome (jiandu_core Outcome JSON), NULL while none is chosen.
    outcome        JSONB
);
CREATE INDEX inspection_results_task ON inspection_results(task_id);

CREATE FUNCTION inspection_results_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inspection_results (inspection_id, task_id, status, non_compliant, outcome)
    VALUES (
        NEW.id, NEW.task_id, NEW.status,
        jsonb_path_query_array(NEW.body, '$.findings[*] ? (@.verdict == "non_compliant").point'),
        NULLIF(NEW.body -> 'outcome', 'null'::jsonb))
    ON CONFLICT (inspection_id) DO UPDATE
        SET task_id = EXCLUDED.task_id, status = EXCLUDED.status,
            non_compliant = EXCLUDED.non_compliant, outcome = EXCLUDED.outcome;
    RETURN NEW;
END;
$$;

CREATE TRIGGER inspection_results_refresh AFTER INSERT OR UPDATE ON inspections
    FOR EACH ROW EXECUTE FUNCTION inspection_results_refresh();

INSERT INTO inspection_results (inspection_id, task_id, status, non_compliant, outcome)
SELECT id, task_id, status,
       jsonb_path_query_array(body, '$.findings[*] ? (@.verdict == "non_compliant").point'),
       NULLIF(body -> 'outcome', 'null'::jsonb)
FROM inspections;
