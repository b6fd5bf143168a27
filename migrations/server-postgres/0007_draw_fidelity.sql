-- jiandu-server, migration 7: services of institutions, and draw freezes.

-- Services and registered subjects (服务项目/备案科目) of an institution: a JSON
-- array of catalogue service codes, e.g. ["cosmetic_medicine","midwifery"]. Plan
-- rows draw by them (内设医疗美容科室的医疗机构 = units offering 医疗美容).
ALTER TABLE institutions ADD COLUMN services TEXT NOT NULL DEFAULT '[]';

-- Draw freezes (抽取输入冻结): a plan's draw inputs fixed, hashed and audited before
-- any seed is entered; the hash is published (抽取公示) and the real draw uses
-- exactly this snapshot. Never changed or deleted.
CREATE TABLE draw_freezes (
    id            UUID PRIMARY KEY,
    plan_id       TEXT NOT NULL,
    plan_version  INTEGER NOT NULL,
    -- jiandu_core::draw::DrawInputs as JSON; its published form hashes to inputs_hash.
    inputs        JSONB NOT NULL,
    inputs_hash   TEXT NOT NULL,
    frozen_by     TEXT NOT NULL,
    frozen_at     TIMESTAMPTZ NOT NULL,
    seq           BIGINT NOT NULL
);
CREATE INDEX draw_freezes_plan ON draw_freezes(plan_id, frozen_at);
CREATE FUNCTION draw_freezes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'draw freezes are immutable';
END;
$$;
CREATE TRIGGER draw_freezes_immutable BEFORE UPDATE OR DELETE ON draw_freezes
    FOR EACH ROW EXECUTE FUNCTION draw_freezes_guard();

-- The freeze a draw used (NULL: drawn before freezes existed).
ALTER TABLE draws ADD COLUMN freeze_id UUID;
