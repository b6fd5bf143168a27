-- Device database, migration 5: what the 卫生监督意见书 and the 现场笔录 carry
-- beyond the findings. Applied all-or-nothing with the version bump.
--
-- Both are small structured values that always travel whole (the inspection
-- header of the outbox ops `set_opinion` and `set_record_details`), so each is
-- kept as the JSON of its jiandu-core type, NULL until entered.

-- The 监督意见 as the inspector confirmed it (jiandu_core::inspection::Opinion):
-- numbered problems with their legal basis, the 改正期限 and the 改正要求. The
-- 意见书 prints exactly this.
ALTER TABLE inspections ADD COLUMN opinion_doc TEXT CHECK (opinion_doc IS NULL OR json_valid(opinion_doc));

-- 记录人, the party's answer on 回避 and the 在场人 of the 现场笔录
-- (jiandu_core::inspection::RecordDetails).
ALTER TABLE inspections ADD COLUMN record_details TEXT CHECK (record_details IS NULL OR json_valid(record_details));
