-- jiandu-server, migration 7: services of institutions.

-- Services and registered subjects (服务项目/备案科目) of an institution: a JSON
-- array of catalogue service codes, e.g. ["cosmetic_medicine","midwifery"]. Plan
-- rows draw by them (内设医疗美容科室的医疗机构 = units offering 医疗美容).
ALTER TABLE institutions ADD COLUMN services TEXT NOT NULL DEFAULT '[]';
